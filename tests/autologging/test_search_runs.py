"""A grid search under autolog: the search's run, and its best candidates as child runs."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

import nbtrack
from tests.autologging.conftest import runs_under

# 6 x 2 = 12 candidates, as a person would sweep a regularisation strength.
GRID_12 = {"C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0], "class_weight": [None, "balanced"]}


def test_a_grid_of_12_candidates_logs_the_best_and_three_child_runs(
    store_path: object, iris_like: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = iris_like
    nbtrack.autolog(max_tuning_runs=3, silent=True)
    try:
        search = GridSearchCV(LogisticRegression(max_iter=500), GRID_12, cv=3)
        search.fit(X, y)
    finally:
        nbtrack.autolog(disable=True)
    results = search.cv_results_
    assert len(results["params"]) == 12
    runs = nbtrack.search_runs()
    assert len(runs) == 1 + 3  # the 12 candidates x 3 folds and the refit are not runs
    parent = nbtrack.get_run(runs[runs["parent_run_id"].isna()]["run_id"].iloc[0])
    assert parent.status == "FINISHED"
    assert parent.params["best_C"] == search.best_params_["C"]
    assert parent.params["estimator"] == "LogisticRegression"
    assert parent.params["estimator__max_iter"] == 500
    assert parent.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert parent.tags["estimator_name"] == "GridSearchCV"
    table = pd.read_csv(io.StringIO(nbtrack.load_text(parent.id, "cv_results.csv")))
    assert len(table) == 12 and "mean_test_score" in table
    children = runs_under(parent.id)
    assert len(children) == 3
    best_three = sorted(results["mean_test_score"], reverse=True)[:3]
    assert sorted(children["metrics.mean_test_score"], reverse=True) == pytest.approx(best_three)
    assert set(children["tags.estimator_name"]) == {"LogisticRegression"}
    assert set(children["params.C"]) <= set(GRID_12["C"])
    # The model of the search's run is the refitted best estimator.
    loaded = nbtrack.load_model(f"runs:/{parent.id}/model")
    np.testing.assert_array_equal(loaded.predict(X), search.best_estimator_.predict(X))


def test_a_randomized_search_with_no_limit_makes_a_child_per_candidate(
    store_path: object, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = classification_data
    nbtrack.autolog(max_tuning_runs=None, log_models=False, silent=True)
    try:
        with nbtrack.start_run() as run:
            RandomizedSearchCV(
                LogisticRegression(), {"C": [0.1, 1.0, 10.0, 100.0]}, n_iter=4, cv=2, random_state=0
            ).fit(X, y)
    finally:
        nbtrack.autolog(disable=True)
    assert len(runs_under(run.id)) == 4
    assert "model" not in {info.path for info in nbtrack.list_artifacts(run.id)}
