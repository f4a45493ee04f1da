"""``nbtrack.import_mlflow`` on each kind of MLflow store: every value comes in equal, the
models predict the same, and a second import writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

import nbtrack
from tests.mlflow_compat.conftest import reset_mlflow
from tests.mlflow_import.compare import (
    EXPERIMENT,
    assert_close,
    assert_run_imported,
    assert_same_files,
    mlflow_runs,
)
from tests.mlflow_import.conftest import History, forget_registry_uri

pytestmark = [
    # MLflow's own deprecation notices (the file store, pydantic, skops) are not ours to fix.
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:mlflow"),
]


@pytest.fixture
def mlflow_reads(history: History) -> Iterator[MlflowClient]:
    """MLflow's client (and its fluent API, for models:/ URIs) on the source store."""
    mlflow.set_tracking_uri(history.uri)
    mlflow.set_registry_uri(history.uri)
    yield MlflowClient(history.uri, registry_uri=history.uri)
    forget_registry_uri()
    reset_mlflow()


def test_import_brings_every_value_and_a_second_import_adds_nothing(
    history: History, mlflow_reads: MlflowClient, store_path: Path, tmp_path: Path
) -> None:
    summary = nbtrack.import_mlflow(history.source)

    client = mlflow_reads
    runs = mlflow_runs(client)
    assert len(runs) == 8  # the parent, 3 children, 3 grandchildren, the failed run
    for source in runs:
        assert_run_imported(client, source)
    parent = nbtrack.get_run(history.parent)
    assert len(parent.params["long"]) == 6000
    assert parent.params["ключ"] == "значение" and parent.tags["multi"] == "line\r\ntwo"
    assert parent.metrics["nan"] != parent.metrics["nan"]
    # MLflow's SQL stores hold ±inf as ±max float64 (the file store keeps inf): what MLflow
    # holds is what comes in, as compared above.
    assert parent.metrics["inf"] >= 1.7976931348623157e308
    assert parent.metrics["ninf"] <= -1.7976931348623157e308
    assert len(nbtrack.get_metric_history(parent.id, "loss/train")) == 10_000
    assert summary.imported["runs"] == 8 and summary.imported["metric points"] >= 10_000
    assert any(history.deleted in line for line in summary.skipped)
    with pytest.raises(nbtrack.NotFoundError):
        nbtrack.get_run(history.deleted)

    # The artifact tree, file by file.
    client.download_artifacts(history.parent, "tree", str(tmp_path / "from-mlflow"))
    (tmp_path / "from-nbtrack").mkdir()
    nbtrack.download_artifacts(history.parent, "tree", tmp_path / "from-nbtrack")
    assert_same_files(tmp_path / "from-mlflow" / "tree", tmp_path / "from-nbtrack" / "tree")

    _assert_registry_imported(client, history)

    before = nbtrack.sql("SELECT (SELECT count(*) FROM runs) AS runs, "
                         "(SELECT count(*) FROM metrics) AS points, "
                         "(SELECT count(*) FROM model_versions) AS versions")  # fmt: skip
    again = nbtrack.import_mlflow(history.source)
    assert +again.imported == {}, again
    assert again.already["runs"] == 8 and again.already["model versions"] == 3
    after = nbtrack.sql("SELECT (SELECT count(*) FROM runs) AS runs, "
                        "(SELECT count(*) FROM metrics) AS points, "
                        "(SELECT count(*) FROM model_versions) AS versions")  # fmt: skip
    pd.testing.assert_frame_equal(before, after)


def _assert_registry_imported(client: MlflowClient, history: History) -> None:
    source_versions = {int(v.version): v for v in client.search_model_versions("name = 'churn'")}
    here = {v.version: v for v in nbtrack.search_model_versions("churn")}
    assert sorted(here) == sorted(source_versions) == [1, 2, 3]
    for number, version in here.items():
        assert version.run_id == source_versions[number].run_id
    aliases = {alias: v.version for v in here.values() for alias in v.aliases}
    source_aliases = client.get_registered_model("churn").aliases
    assert aliases == {alias: int(number) for alias, number in source_aliases.items()}
    assert here[3].aliases == ("champion",) and here[2].aliases == ("challenger",)
    rows = pd.DataFrame(history.features, columns=["x0", "x1"]).to_numpy()
    for uri in ("models:/churn/1", "models:/churn@challenger", "models:/churn@champion"):
        expected = mlflow.pyfunc.load_model(uri).predict(rows)
        assert_close(nbtrack.load_model(uri).predict(rows), expected)
    # MLflow 3's logged models came with their runs, under their own ids.
    logged = client.search_logged_models([client.get_experiment_by_name(EXPERIMENT).experiment_id])
    assert len(logged) == 3
    for model in logged:
        run = nbtrack.get_run(model.source_run_id)
        assert f"nbtrack.mlflow.model.{model.model_id}" in run.tags
        assert_close(
            nbtrack.load_model(f"runs:/{run.id}/model").predict(rows),
            mlflow.pyfunc.load_model(f"models:/{model.model_id}").predict(rows),
        )
