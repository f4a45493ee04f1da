"""MLflow's example project layout (examples/sklearn_elasticnet_wine: an MLproject with typed
parameters and a python_env.yaml), its two files exactly as MLflow ships them.

`MLproject` and `python_env.yaml` under mlflow_examples/ are copied from MLflow's repository
(github.com/mlflow/mlflow, examples/sklearn_elasticnet_wine), Copyright the MLflow authors,
Apache License 2.0; `train.py` beside them is nbtrack's own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import nbtrack
from tests.projects.conftest import nbtrack_command, stored_runs

EXAMPLE = Path(__file__).parent / "mlflow_examples" / "sklearn_elasticnet_wine"


@pytest.fixture
def wine(store_path: Path) -> Path:
    folder = store_path.parent / "sklearn_elasticnet_wine"
    shutil.copytree(EXAMPLE, folder)
    return folder


def test_mlflows_example_runs_unchanged_and_logs_what_mlflow_logs(wine: Path) -> None:
    run = nbtrack.run_project(wine, parameters={"alpha": 0.3})

    assert run.status == "FINISHED"
    # The declared params as typed values, the default filled in; the script logs the same.
    assert run.params == {"alpha": 0.3, "l1_ratio": 0.1}
    assert set(run.metrics) == {"rmse", "mae", "r2"}
    assert run.tags["nbtrack.project.name"] == "tutorial"
    assert run.tags["nbtrack.project.command"].endswith("train.py 0.3 0.1")
    loaded = nbtrack.load_model(f"runs:/{run.id}/model")
    assert loaded.predict(_two_wines()).shape == (2,)


def _two_wines() -> object:
    from sklearn.datasets import load_wine

    return load_wine(as_frame=True).data.head(2)


def test_its_float_parameters_are_checked_on_the_command_line(wine: Path, store_path: Path) -> None:
    done = nbtrack_command(
        "run", "sklearn_elasticnet_wine", "-P", "alpha=abc", "--no-conda", cwd=store_path.parent
    )

    assert done.returncode == 2
    assert done.stderr.startswith("nbtrack: entry point 'main' cannot run with these parameters")
    assert "'alpha' is a float, and 'abc' is not a finite number" in done.stderr
    assert stored_runs(store_path) == 0


def test_its_python_3_8_environment_is_refused_for_uv_before_anything_runs(
    wine: Path, store_path: Path
) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match=r"python_env\.yaml asks for Python 3\.8"):
        nbtrack.run_project(wine, env_manager="uv")
    assert stored_runs(store_path) == 0
