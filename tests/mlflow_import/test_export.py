"""``nbtrack mlflow export``: an imported history written back into a fresh MLflow store through
MLflow's client holds the same values again, and a second export writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

import nbtrack
from nbtrack.mlflow_compat.exporting import export_mlflow
from tests.mlflow_compat.conftest import reset_mlflow
from tests.mlflow_import.compare import (
    assert_close,
    assert_same_files,
    millis,
    mlflow_history,
    mlflow_runs,
    nbtrack_history,
    own_tags,
)
from tests.mlflow_import.conftest import History, forget_registry_uri

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:mlflow"),
]
PARENT = "mlflow.parentRunId"


@pytest.fixture
def target(tmp_path: Path) -> Iterator[str]:
    uri = f"sqlite:///{tmp_path / 'back' / 'mlflow.db'}"
    (tmp_path / "back").mkdir()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield uri
    forget_registry_uri()
    reset_mlflow()


def test_export_round_trip_keeps_every_value(
    sqlite_history: History, store_path: Path, target: str, tmp_path: Path
) -> None:
    nbtrack.import_mlflow(sqlite_history.source)

    summary = export_mlflow(target)

    client = MlflowClient(target, registry_uri=target)
    exported = {run.data.tags["nbtrack.run_id"]: run for run in mlflow_runs(client)}
    assert len(exported) == 8 and summary.imported["runs"] == 8
    new_ids = {old: run.info.run_id for old, run in exported.items()}
    for old_id, back in exported.items():
        run = nbtrack.get_run(old_id)
        info, data = back.info, back.data
        assert (info.run_name, info.status) == (run.name, run.status)
        assert (info.start_time, info.end_time) == (millis(run.start_time), millis(run.end_time))
        assert data.params == run.params
        without_parent = {k: v for k, v in own_tags(run.tags).items() if k != PARENT}
        assert {k: v for k, v in own_tags(data.tags).items() if k != PARENT} == without_parent
        assert data.tags.get(PARENT) == new_ids.get(run.parent_run_id or "")
        assert sorted(data.metrics) == sorted(run.metrics)
        for key in data.metrics:
            assert mlflow_history(client, info.run_id, key) == nbtrack_history(old_id, key), key

    back_parent = exported[sqlite_history.parent].info.run_id
    client.download_artifacts(back_parent, "tree", str(tmp_path / "exported"))
    (tmp_path / "here").mkdir()
    nbtrack.download_artifacts(sqlite_history.parent, "tree", tmp_path / "here")
    assert_same_files(tmp_path / "exported" / "tree", tmp_path / "here" / "tree")

    versions = {int(v.version): v for v in client.search_model_versions("name = 'churn'")}
    assert sorted(versions) == [1, 2, 3]
    for number, version in versions.items():
        assert version.run_id == new_ids[nbtrack.get_model_version("churn", number).run_id]
    aliases = client.get_registered_model("churn").aliases
    assert {alias: int(number) for alias, number in aliases.items()} == {
        "champion": 3,
        "challenger": 2,
    }
    rows = pd.DataFrame(sqlite_history.features, columns=["x0", "x1"]).to_numpy()
    for uri in ("models:/churn@champion", "models:/churn@challenger", "models:/churn/1"):
        assert_close(mlflow.pyfunc.load_model(uri).predict(rows),
                     nbtrack.load_model(uri).predict(rows))  # fmt: skip

    again = export_mlflow(target)
    assert +again.imported == {}, again
    assert again.already["runs"] == 8 and again.already["model versions"] == 3
