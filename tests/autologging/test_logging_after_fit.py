"""A fit's logging done by autolog's worker after ``fit`` returned: what must wait for it does.

``SlowLogisticRegression`` predicts slowly, so its fit's logging is surely still pending when
the test acts right after ``fit`` returns; each test checks that it is, then that the read, the
end of the run, the flush or the exit in question waited for it.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from sklearn import metrics
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import nbtrack
from nbtrack.store import owed
from nbtrack.tracking import lifecycle
from tests.autologging.conftest import SlowLogisticRegression, UnloadableLogisticRegression
from tests.magic.conftest import cell, ip, last, shell  # noqa: F401

TRAINING_METRICS = {"training_accuracy_score", "training_log_loss", "training_score"}


def _latest_metric_time(run_id: str) -> datetime:
    times = [
        nbtrack.get_metric_history(run_id, key)["timestamp"].max()
        for key in nbtrack.get_run(run_id).metrics
    ]
    return max(pd.Timestamp(t).to_pydatetime() for t in times)


def _logged_before_its_end(run_id: str) -> nbtrack.Run:
    run = nbtrack.get_run(run_id)
    assert run.status == "FINISHED"
    assert set(run.metrics) >= TRAINING_METRICS
    assert run.end_time is not None
    assert _latest_metric_time(run_id) <= run.end_time
    return run


def test_fit_returns_before_its_logging_and_a_read_waits_for_it(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = classification_data
    SlowLogisticRegression().fit(X, y)
    returned = datetime.now(UTC)
    started = lifecycle.last_started()  # not last_run(): a read, it would wait
    assert started is not None and owed.is_owed(started.id)
    run = _logged_before_its_end(started.id)  # the read waited for the worker
    # A run autolog opened ends as of fit's return, not when its logging was done.
    assert run.end_time is not None and run.end_time <= returned
    assert {"model", "training_confusion_matrix.svg"} <= {
        info.path for info in nbtrack.list_artifacts(run.id)
    }


@pytest.mark.parametrize("ending", ["with", "end_run", "flush"])
def test_the_enclosing_run_ends_only_after_the_fits_logging(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray], ending: str
) -> None:
    X, y = classification_data
    run = nbtrack.start_run()
    if ending == "with":
        with run:
            SlowLogisticRegression().fit(X, y)
            assert owed.is_owed(run.id)
    else:
        SlowLogisticRegression().fit(X, y)
        assert owed.is_owed(run.id)
        if ending == "flush":
            nbtrack.flush()
            assert not owed.is_owed(run.id)
            assert set(nbtrack.get_run(run.id).metrics) >= TRAINING_METRICS
        nbtrack.end_run()
    _logged_before_its_end(run.id)


def test_a_tracked_cell_ends_its_run_after_the_fits_logging(ip: InteractiveShell) -> None:  # noqa: F811
    result = cell(
        ip,
        "%%track --autolog --name slow\n"
        "from tests.autologging.conftest import SlowLogisticRegression\n"
        "from sklearn.datasets import make_classification\n"
        "X, y = make_classification(200, 5, random_state=0)\n"
        "SlowLogisticRegression().fit(X, y)\n",
    )
    assert result.success, result.error_in_exec
    run = _logged_before_its_end(last().id)
    assert run.name == "slow"


EXITING = """
import nbtrack
from sklearn.datasets import make_classification
from tests.autologging.conftest import SlowLogisticRegression

nbtrack.autolog(silent=True)
X, y = make_classification(200, 5, random_state=0)
SlowLogisticRegression().fit(X, y)  # a run of its own, ended by the worker
own = nbtrack.last_run().id
run = nbtrack.start_run()  # left open: the exit ends it
SlowLogisticRegression().fit(X, y)
print(own, run.id, flush=True)
"""


def test_the_process_exit_waits_for_the_fits_logging(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(EXITING, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], env=child_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    own, left_open = done.stdout.split()
    _logged_before_its_end(own)
    assert nbtrack.get_run(left_open).tags["nbtrack.closed_by"].startswith("the process exited")
    _logged_before_its_end(left_open)


def test_changing_the_data_or_refitting_right_after_fit_changes_nothing_logged(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    X, y = features.to_numpy().copy(), labels.copy()
    expected = LogisticRegression(C=0.5).fit(X, y)  # the same fit, made before autolog's
    model = SlowLogisticRegression(C=0.5).fit(X, y)
    first = lifecycle.last_started()
    assert first is not None and owed.is_owed(first.id)
    X[:] = 0.0  # in place, while the worker still has to predict
    y[:] = 1 - y
    model.fit(np.ones((20, X.shape[1])) * np.arange(20)[:, None], np.arange(20) % 2)
    run = nbtrack.get_run(first.id)
    truth, rows = labels, features.to_numpy()
    assert run.metrics["training_accuracy_score"] == pytest.approx(
        metrics.accuracy_score(truth, expected.predict(rows))
    )
    assert run.params["C"] == 0.5
    logged = nbtrack.load_model(f"runs:/{first.id}/model")
    frame = pd.DataFrame(rows)
    assert np.array_equal(np.asarray(logged.predict(frame)), expected.predict(rows))


def test_post_training_metrics_land_in_the_run_while_its_logging_is_pending(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = classification_data
    X_train, X_test, y_train, y_test = X[:40], X[40:], y[:40], y[40:]
    with nbtrack.start_run() as run:
        model = SlowLogisticRegression().fit(X_train, y_train)
        assert owed.is_owed(run.id)
        accuracy = metrics.accuracy_score(y_test, model.predict(X_test))
    stored = _logged_before_its_end(run.id)
    assert stored.metrics["accuracy_score_X_test"] == pytest.approx(accuracy)


def test_a_post_training_metric_never_lands_in_a_run_autolog_already_ended(
    autolog: None,
    classification_data: tuple[pd.DataFrame, np.ndarray],
    caplog: pytest.LogCaptureFixture,
) -> None:
    X, y = classification_data
    X_test = X[40:]
    nbtrack.autolog()  # not silent: the note says why the metric is not logged
    model = SlowLogisticRegression().fit(X[:40], y[:40])
    started = lifecycle.last_started()  # not last_run(): a read, it would wait
    assert started is not None and owed.is_owed(started.id)
    with caplog.at_level(logging.WARNING, logger="nbtrack.autolog"):
        metrics.accuracy_score(y[40:], model.predict(X_test))
    assert "accuracy_score_X_test not logged: the model's run" in caplog.text
    assert "accuracy_score_X_test" not in nbtrack.get_run(started.id).metrics


def test_a_failure_in_the_worker_is_a_note_and_the_run_still_ends(
    store_path: Path,
    classification_data: tuple[pd.DataFrame, np.ndarray],
    caplog: pytest.LogCaptureFixture,
) -> None:
    X, y = classification_data
    nbtrack.autolog()
    try:
        with caplog.at_level(logging.WARNING, logger="nbtrack.autolog"):
            UnloadableLogisticRegression(C=0.3).fit(X, y)  # raises nothing here
            nbtrack.flush()
    finally:
        nbtrack.autolog(disable=True)
    assert "refuses to be rebuilt" in caplog.text
    started = nbtrack.last_run()
    assert started is not None
    run = nbtrack.get_run(started.id)
    assert run.status == "FINISHED"
    assert run.params["C"] == 0.3  # taken before the fit: kept though the model is lost
    assert run.metrics == {}


def test_an_estimator_that_cannot_be_pickled_is_logged_before_fit_returns(
    autolog: None, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = classification_data
    pipeline = Pipeline(
        [("double", FunctionTransformer(lambda rows: rows * 2)), ("model", LogisticRegression())]
    )
    pipeline.fit(X, y)
    started = nbtrack.last_run()
    assert started is not None and not owed.is_owed(started.id)
    run = nbtrack.get_run(started.id)
    assert run.status == "FINISHED"
    assert run.metrics["training_score"] == pytest.approx(pipeline.score(X, y))


def test_a_model_logged_after_the_store_changed_is_recorded_in_its_runs_store(
    autolog: None,
    store_path: Path,
    tmp_path: Path,
    classification_data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = classification_data
    model = SlowLogisticRegression().fit(X, y)
    started = lifecycle.last_started()
    assert started is not None and owed.is_owed(started.id)
    (tmp_path / "elsewhere").mkdir()
    nbtrack.set_tracking_uri(tmp_path / "elsewhere" / "nbtrack.duckdb")
    nbtrack.flush()  # the worker logs the model meanwhile
    nbtrack.set_tracking_uri(store_path)
    loaded = nbtrack.load_model(f"runs:/{started.id}/model")  # its hashes are in this store
    assert np.array_equal(np.asarray(loaded.predict(X)), model.predict(X))
