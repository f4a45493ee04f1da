"""``GridSearchCV`` / ``RandomizedSearchCV``: the search's run and its best candidates.

The search's run gets the best params (``best_<param>``), ``best_cv_score`` and the whole
``cv_results_`` as ``cv_results.csv`` (the UI and ``download_artifacts`` show it as a table);
its model is the refitted best estimator. The best ``max_tuning_runs`` candidates become child
runs with their params and cross-validation scores, so ``nbtrack.compare`` shows them as a
sweep. Nothing is refitted: it is all in ``cv_results_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nbtrack.autologging import runs
from nbtrack.autologging.sklearn_logging import (
    ESTIMATOR_CLASS_TAG,
    ESTIMATOR_NAME_TAG,
    log_params_kept,
    param_value,
)
from nbtrack.tracking import artifacts
from nbtrack.tracking.run import ActiveRun

CV_RESULTS_FILE = "cv_results.csv"


def is_search(estimator: object) -> bool:
    """A fitted hyperparameter search (grid, randomized, halving): it has ``cv_results_``."""
    return hasattr(estimator, "cv_results_") and hasattr(estimator, "estimator")


def log_search(run: ActiveRun, search: Any, max_tuning_runs: int | None) -> None:
    """The best candidate on the search's run, and the best candidates as its children."""
    import pandas as pd

    if hasattr(search, "best_params_"):
        best = {f"best_{key}": param_value(value) for key, value in search.best_params_.items()}
        log_params_kept(run, best)
    if hasattr(search, "best_score_"):
        run.log_metric("best_cv_score", float(search.best_score_))
    results = search.cv_results_
    artifacts.write_text(run, pd.DataFrame(results).to_csv(index=False), CV_RESULTS_FILE)
    order = _best_first(search)
    chosen = order if max_tuning_runs is None else order[:max_tuning_runs]
    inner = search.estimator
    tags = {
        ESTIMATOR_NAME_TAG: type(inner).__name__,
        ESTIMATOR_CLASS_TAG: f"{type(inner).__module__}.{type(inner).__qualname__}",
    }
    for place, index in enumerate(chosen, start=1):
        with runs.child_run(f"{run.name}-{place}") as child:
            child.set_tags(tags)
            child.log_params({k: param_value(v) for k, v in results["params"][index].items()})
            child.log_metrics(_scores(results, index))


def _best_first(search: Any) -> list[int]:
    """Candidate indices, best rank first (ties in the order the search tried them)."""
    results = search.cv_results_
    refit = search.refit if isinstance(search.refit, str) else "score"
    ranks = results.get(f"rank_test_{refit}")
    if ranks is None:
        ranks = next((v for k, v in results.items() if k.startswith("rank_test_")), None)
    count = len(results["params"])
    if ranks is None:
        return list(range(count))
    return [int(i) for i in np.argsort(np.asarray(ranks), kind="stable")]


def _scores(results: dict[str, Any], index: int) -> dict[str, float]:
    """Every number ``cv_results_`` holds for a candidate (scores, their spread, times)."""
    scores = {}
    for key, column in results.items():
        if key == "params" or key.startswith("param_"):
            continue
        value = column[index]
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            scores[key] = float(value)
    return scores
