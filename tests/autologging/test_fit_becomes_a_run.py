"""A fit under autolog: which run it logs to, and what it logs there."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.cluster import DBSCAN, KMeans
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import nbtrack
from tests.autologging.conftest import runs_under


def test_a_classifier_fit_outside_any_run_is_a_finished_run_of_its_own(
    autolog: None, iris_like: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = iris_like
    model = LogisticRegression(C=0.5, max_iter=500).fit(X, y)
    assert nbtrack.active_run() is None
    run = nbtrack.get_run(nbtrack.last_run().id)
    assert run.status == "FINISHED"
    assert run.params["C"] == 0.5 and run.params["max_iter"] == 500
    assert run.tags["estimator_name"] == "LogisticRegression"
    assert run.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    predicted, proba = model.predict(X), model.predict_proba(X)
    expected = {
        "training_accuracy_score": metrics.accuracy_score(y, predicted),
        "training_precision_score": metrics.precision_score(y, predicted, average="weighted"),
        "training_recall_score": metrics.recall_score(y, predicted, average="weighted"),
        "training_f1_score": metrics.f1_score(y, predicted, average="weighted"),
        "training_log_loss": metrics.log_loss(y, proba),
        "training_roc_auc": metrics.roc_auc_score(y, proba, multi_class="ovo", average="weighted"),
        "training_score": model.score(X, y),
    }
    assert run.metrics == pytest.approx(expected, rel=1e-9)
    files = {info.path for info in nbtrack.list_artifacts(run.id)}
    assert {"model", "training_confusion_matrix.svg"} <= files


def test_binary_metrics_with_sample_weights_match_scikit_learn(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = classification_data
    weight = np.linspace(0.5, 2.0, len(y))
    model = LogisticRegression(C=0.1).fit(X, y, sample_weight=weight)
    run = nbtrack.get_run(nbtrack.last_run().id)
    predicted, proba = model.predict(X), model.predict_proba(X)[:, 1]
    kw = {"sample_weight": weight}
    assert run.metrics["training_f1_score"] == pytest.approx(
        metrics.f1_score(y, predicted, average="weighted", **kw)
    )
    assert run.metrics["training_roc_auc"] == pytest.approx(metrics.roc_auc_score(y, proba, **kw))
    assert run.metrics["training_log_loss"] == pytest.approx(metrics.log_loss(y, proba, **kw))


def test_a_regressor_logs_mse_rmse_mae_and_r2(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, _ = classification_data
    target = 3 * X["x"] - X["z"] + np.sin(np.arange(len(X)))
    model = LinearRegression().fit(X, target)
    run = nbtrack.get_run(nbtrack.last_run().id)
    predicted = model.predict(X)
    assert run.metrics == pytest.approx(
        {
            "training_mean_squared_error": metrics.mean_squared_error(target, predicted),
            "training_root_mean_squared_error": metrics.root_mean_squared_error(target, predicted),
            "training_mean_absolute_error": metrics.mean_absolute_error(target, predicted),
            "training_r2_score": metrics.r2_score(target, predicted),
            "training_score": model.score(X, target),
        }
    )
    assert "training_confusion_matrix.svg" not in {
        info.path for info in nbtrack.list_artifacts(run.id)
    }


def test_a_pipeline_is_one_run_with_its_steps_params(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = classification_data
    pipeline = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(C=2.0))])
    pipeline.fit(X, y)
    runs = nbtrack.search_runs()
    assert len(runs) == 1  # the steps' own fits are part of the pipeline's
    run = nbtrack.get_run(runs["run_id"][0])
    assert run.params["model__C"] == 2.0
    assert run.params["scale"] == "StandardScaler"
    assert run.params["steps"] == [["scale", "StandardScaler"], ["model", "LogisticRegression"]]
    assert run.tags["estimator_name"] == "Pipeline"
    assert run.metrics["training_score"] == pytest.approx(pipeline.score(X, y))


def test_a_clusterer_without_score_logs_params_and_no_training_metrics(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, _ = classification_data
    labels = DBSCAN(eps=0.7).fit_predict(X)
    run = nbtrack.get_run(nbtrack.last_run().id)
    assert run.status == "FINISHED"
    assert run.params["eps"] == 0.7
    assert run.metrics == {}
    assert len(labels) == len(X)
    assert len(nbtrack.search_runs()) == 1  # fit_predict's inner fit is not a second run


def test_kmeans_training_score_is_its_own_score(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, _ = classification_data
    model = KMeans(n_clusters=3, n_init=2, random_state=0).fit(X)
    run = nbtrack.get_run(nbtrack.last_run().id)
    assert "training_accuracy_score" not in run.metrics
    assert "training_score" not in run.metrics  # no y: scikit-learn's score needs none, MLflow
    assert run.params["n_clusters"] == 3
    assert model.score(X) < 0


def test_a_fit_that_raises_fails_its_run_and_the_error_reaches_the_user_unchanged(
    autolog: None,
) -> None:
    X = pd.DataFrame({"x": [1.0, np.nan, 2.0]})
    with pytest.raises(ValueError, match="NaN") as caught:
        LogisticRegression().fit(X, [0, 1, 0])
    run = nbtrack.get_run(nbtrack.last_run().id)
    assert run.status == "FAILED"
    assert "ValueError" in run.error and str(caught.value) in run.error
    assert run.params["C"] == 1.0  # what was tried is kept
    assert nbtrack.active_run() is None


def test_inside_a_run_the_fit_logs_into_it_and_a_second_fit_is_a_child(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = classification_data
    with nbtrack.start_run(name="outer") as outer:
        nbtrack.log_param("C", 0.3)
        LogisticRegression(C=0.3).fit(X, y)
        LogisticRegression(C=3.0).fit(X, y)
        assert nbtrack.active_run() is outer
    runs = nbtrack.search_runs()
    assert len(runs) == 2
    run = nbtrack.get_run(outer.id)
    assert run.params["C"] == 0.3 and "training_score" in run.metrics
    (child_id,) = runs_under(outer.id)["run_id"]
    child = nbtrack.get_run(child_id)
    assert child.params["C"] == 3.0 and child.status == "FINISHED"


def test_turned_off_a_fit_logs_nothing_and_fit_is_scikit_learns_own_again(
    store_path: object, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    original, accuracy = LogisticRegression.fit, metrics.accuracy_score
    nbtrack.autolog(silent=True)
    assert LogisticRegression.fit is not original
    assert metrics.accuracy_score is not accuracy
    nbtrack.autolog(disable=True)
    assert LogisticRegression.fit is original
    assert metrics.accuracy_score is accuracy
    LogisticRegression().fit(*classification_data)
    assert nbtrack.last_run() is None


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"max_tuning_runs": -1}, "max_tuning_runs=-1"),
        ({"max_tuning_runs": "3"}, "max_tuning_runs='3'"),
        ({"log_models": "yes"}, "log_models='yes'"),
        ({"disable": 1}, "disable=1"),
    ],
)
def test_a_bad_argument_is_one_clear_error(
    store_path: object, arguments: dict[str, object], named: str
) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match=named):
        nbtrack.autolog(**arguments)  # type: ignore[arg-type]


def test_the_folds_of_cross_val_score_are_not_runs(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    from sklearn.model_selection import cross_val_score

    scores = cross_val_score(LogisticRegression(), *classification_data, cv=4)
    assert len(scores) == 4
    assert nbtrack.last_run() is None
    with nbtrack.start_run() as run:
        cross_val_score(LogisticRegression(), *classification_data, cv=3)
    assert runs_under(run.id).empty


def test_fit_transform_of_a_transformer_is_a_run_with_params_and_no_metrics(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    scaled = StandardScaler(with_mean=False).fit_transform(classification_data[0])
    assert scaled.shape == (60, 2)
    runs = nbtrack.search_runs()
    assert len(runs) == 1  # fit_transform's own fit is part of it
    run = nbtrack.get_run(runs["run_id"][0])
    assert run.params["with_mean"] is False and run.metrics == {}
    assert run.tags["estimator_name"] == "StandardScaler"


def test_string_labels_get_their_metrics_and_a_confusion_matrix_naming_them(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = classification_data
    labels = np.where(y == 1, "churn", "stay")
    model = LogisticRegression().fit(X, labels)
    run = nbtrack.get_run(nbtrack.last_run().id)
    assert run.metrics["training_f1_score"] == pytest.approx(
        metrics.f1_score(labels, model.predict(X), average="weighted")
    )
    svg = nbtrack.load_text(run.id, "training_confusion_matrix.svg")
    assert ">churn</text>" in svg and ">stay</text>" in svg


def test_without_scikit_learn_autolog_turns_on_quietly(child_env: dict[str, str]) -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['sklearn'] = None\n"  # as if it were not installed
        "import nbtrack; nbtrack.autolog(); nbtrack.autolog(disable=True); print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=child_env, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "ok", "")
