"""Autolog with an ``nbtrack server`` as the store: a fit's run, its metrics and its model land on
the server, and the model loads back from there."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import nbtrack
from tests.mlflow_compat.conftest import RunningServer


def test_an_autologged_fit_lands_on_the_server_and_its_model_loads_back(
    on_server: RunningServer,
) -> None:
    X, y = make_classification(200, 5, random_state=0)
    nbtrack.autolog(silent=True)
    try:
        model = LogisticRegression().fit(X, y)
    finally:
        nbtrack.autolog(disable=True)
    found = nbtrack.search_runs()
    assert len(found) == 1
    run = nbtrack.get_run(found["run_id"][0])
    assert run.status == "FINISHED"
    assert run.params["C"] == 1.0
    assert abs(run.metrics["training_accuracy_score"] - model.score(X, y)) < 1e-12
    loaded = nbtrack.load_model(f"runs:/{run.id}/model")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
