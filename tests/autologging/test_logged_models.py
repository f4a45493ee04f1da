"""The model a fit logs loads with nbtrack and with MLflow, and predicts as the estimator."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nbtrack


def test_nbtrack_and_mlflow_load_the_logged_model_and_predict_the_same(
    store_path: Path, iris_like: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = iris_like
    nbtrack.autolog(log_input_examples=True, silent=True)
    try:
        pipeline = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=10))
        pipeline.fit(X, y)
    finally:
        nbtrack.autolog(disable=True)
    run = nbtrack.get_run(nbtrack.last_run().id)
    ours = nbtrack.load_model(f"runs:/{run.id}/model").predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own import-time warnings
        import mlflow.pyfunc

        theirs = mlflow.pyfunc.load_model(f"{run.artifact_uri}/model").predict(X)
    np.testing.assert_array_equal(ours, pipeline.predict(X))
    np.testing.assert_array_equal(theirs, ours)
    mlmodel = yaml.safe_load(Path(run.artifact_uri, "model", "MLmodel").read_text("utf-8"))
    inputs = [spec["name"] for spec in yaml.safe_load(mlmodel["signature"]["inputs"])]
    assert inputs == ["a", "b", "c", "d"]
    assert "saved_input_example_info" in mlmodel


def test_log_models_false_logs_no_model(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    nbtrack.autolog(log_models=False, silent=True)
    try:
        RandomForestClassifier(n_estimators=5).fit(*classification_data)
    finally:
        nbtrack.autolog(disable=True)
    files = {info.path for info in nbtrack.list_artifacts(nbtrack.last_run().id)}
    assert files == {"training_confusion_matrix.svg"}
