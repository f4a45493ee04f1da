"""``nbtrack mlflow import | export`` as a person types them: progress per phase on stderr, the
summary on stdout, one clear line for a source or experiment that is not there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.mlflow_import.conftest import History

NBTRACK = [sys.executable, "-m", "nbtrack.cli"]


def nbtrack(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NBTRACK, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_import_prints_progress_and_a_summary_and_twice_imports_nothing_new(
    mlruns_history: History, child_env: dict[str, str]
) -> None:
    first = nbtrack(child_env, "mlflow", "import", mlruns_history.source)
    assert first.returncode == 0, first.stderr
    for phase in ("experiments", "runs", "registered models"):
        assert f"{phase} [" in first.stderr
    assert "8 runs" in first.stdout and "3 model versions" in first.stdout
    assert "deleted in MLflow" in first.stdout

    again = nbtrack(child_env, "mlflow", "import", mlruns_history.source)
    assert again.returncode == 0, again.stderr
    assert "already here:" in again.stdout and "8 runs" in again.stdout
    assert "written: 2 experiments" not in again.stdout

    wrong = nbtrack(child_env, "mlflow", "import", mlruns_history.source, "--experiment", "nope")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("nbtrack: no experiment 'nope' in the MLflow store")
    assert "'expérience ✓'" in wrong.stderr and "Traceback" not in wrong.stderr


def test_import_from_a_folder_that_is_not_an_mlflow_store_says_so(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    done = nbtrack(child_env, "mlflow", "import", str(tmp_path / "nothing"))
    assert done.returncode == 1
    assert "is not an MLflow file store" in done.stderr and "Traceback" not in done.stderr


def test_export_needs_a_tracking_uri(child_env: dict[str, str]) -> None:
    done = nbtrack(child_env, "mlflow", "export", "back")
    assert done.returncode == 2
    assert "export target 'back' is not accepted" in done.stderr
