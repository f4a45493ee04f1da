"""Metrics computed on a fitted model after the fit, in a real IPython shell and a script."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from sklearn.linear_model import LogisticRegression

import nbtrack
from tests.magic.conftest import cell, ip, last, shell  # noqa: F401

DATA = """
import numpy as np
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(0)
X_train, X_test = rng.normal(size=(80, 3)), rng.normal(size=(40, 3))
y_train, y_test = (X_train.sum(axis=1) > 0).astype(int), (X_test.sum(axis=1) > 0).astype(int)
"""


@pytest.fixture
def session(ip: InteractiveShell) -> InteractiveShell:  # noqa: F811
    assert cell(ip, DATA).success
    yield ip
    nbtrack.autolog(disable=True)


def _ok(shell: InteractiveShell, source: str) -> None:  # noqa: F811
    result = cell(shell, source)
    assert result.success, result.error_in_exec or result.error_before_exec


def test_a_metric_imported_before_autolog_is_logged_on_the_models_run(
    session: InteractiveShell,
) -> None:
    _ok(session, "from sklearn.metrics import f1_score")
    _ok(session, "nbtrack.autolog(silent=True)")
    _ok(
        session,
        "%%track\n"
        "model = LogisticRegression().fit(X_train, y_train)\n"
        "f1 = f1_score(y_test, model.predict(X_test))\n"
        "model.score(X_test, y_test)\n",
    )
    run = nbtrack.get_run(last().id)
    assert run.metrics["f1_score_X_test"] == pytest.approx(session.user_ns["f1"])
    model = session.user_ns["model"]
    expected = model.score(session.user_ns["X_test"], session.user_ns["y_test"])
    assert run.metrics["LogisticRegression_score_X_test"] == pytest.approx(expected)
    assert "training_f1_score" in run.metrics


def test_a_metric_imported_after_autolog_is_logged_too(session: InteractiveShell) -> None:
    _ok(session, "nbtrack.autolog(silent=True)")
    _ok(session, "from sklearn.metrics import recall_score as recall")
    _ok(
        session,
        "%%track\n"
        "model = LogisticRegression().fit(X_train, y_train)\n"
        "predicted = model.predict(X_test)\n"
        "recall(y_test, predicted)\n",
    )
    run = nbtrack.get_run(last().id)
    assert set(run.metrics) >= {"recall_score_X_test", "training_recall_score"}


def test_track_autolog_logs_the_cells_fit_and_turns_autolog_off_after_it(
    session: InteractiveShell,
) -> None:
    original = LogisticRegression.fit
    _ok(session, "from sklearn.metrics import accuracy_score")
    _ok(
        session,
        "%%track --autolog --name grid\n"
        "model = LogisticRegression(C=0.2).fit(X_train, y_train)\n"
        "accuracy_score(y_test, model.predict(X_test))\n",
    )
    run = nbtrack.get_run(last().id)
    assert run.name == "grid" and run.params["C"] == 0.2
    assert "accuracy_score_X_test" in run.metrics
    assert LogisticRegression.fit is original
    assert session.user_ns["accuracy_score"].__module__ == "sklearn.metrics._classification"
    assert not getattr(session.user_ns["accuracy_score"], "__nbtrack_autolog__", False)
    _ok(session, "LogisticRegression().fit(X_train, y_train)")
    assert nbtrack.last_run().id == run.id  # autolog is off again: no run


def test_a_fit_in_a_plain_cell_after_a_tracked_one_is_a_run_of_its_own(
    session: InteractiveShell,
) -> None:
    _ok(session, "nbtrack.autolog(silent=True)")
    _ok(session, "%%track\nfirst = LogisticRegression().fit(X_train, y_train)\n")
    tracked = last()
    _ok(session, "second = LogisticRegression(C=5.0).fit(X_train, y_train)")
    own = nbtrack.get_run(last().id)
    assert own.id != tracked.id and own.parent_run_id is None
    assert own.status == "FINISHED" and own.params["C"] == 5.0
    assert nbtrack.get_run(tracked.id).status == "FINISHED"


def test_no_metric_lands_in_an_ended_run_until_it_is_reopened(
    session: InteractiveShell, caplog: pytest.LogCaptureFixture
) -> None:
    _ok(session, "nbtrack.autolog()")
    _ok(session, "model = LogisticRegression().fit(X_train, y_train)")
    run_id = last().id
    with caplog.at_level(logging.WARNING, logger="nbtrack.autolog"):
        _ok(session, "model.score(X_test, y_test)")
    assert "LogisticRegression_score_X_test" not in nbtrack.get_run(run_id).metrics
    assert f"nbtrack.start_run(run_id={run_id!r})" in caplog.text
    _ok(session, f"with nbtrack.start_run(run_id={run_id!r}):\n    model.score(X_test, y_test)\n")
    assert "LogisticRegression_score_X_test" in nbtrack.get_run(run_id).metrics


SCRIPT = f"""
from sklearn.metrics import accuracy_score  # bound before autolog is turned on
import nbtrack
{DATA}
nbtrack.autolog(silent=True)
from sklearn.metrics import mean_squared_error  # and one after
with nbtrack.start_run() as run:
    model = LogisticRegression().fit(X_train, y_train)
    accuracy_score(y_test, model.predict(X_test))
    mean_squared_error(y_test, model.predict(X_test))
print(run.id)
"""


def test_a_script_logs_metrics_imported_before_and_after_autolog(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], env=child_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    run = nbtrack.get_run(done.stdout.split()[-1])
    assert {"accuracy_score_X_test", "mean_squared_error_X_test"} <= set(run.metrics)
