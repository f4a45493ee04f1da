"""MLflow's rules, kept by the plugin and the server alike: params are write-once, tags
overwrite, metrics append, log-batch has MLflow's limits, error codes are the ones MLflow's
client acts on; and nbtrack's own runs read through MLflow's client with MLflow's tags."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException

import nbtrack
from tests.mlflow_compat.conftest import RunningServer, is_server


def test_params_are_write_once_tags_overwrite_metrics_append(mlflow_client: MlflowClient) -> None:
    run_id = mlflow_client.create_run("0").info.run_id
    mlflow_client.log_param(run_id, "lr", "0.1")
    mlflow_client.log_param(run_id, "lr", "0.1")  # the same value again is fine
    with pytest.raises(MlflowException, match="Changing param values is not allowed") as refused:
        mlflow_client.log_param(run_id, "lr", "0.2")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    mlflow_client.set_tag(run_id, "stage", "a")
    mlflow_client.set_tag(run_id, "stage", "b")
    mlflow_client.log_metric(run_id, "loss", 1.0, step=0)
    mlflow_client.log_metric(run_id, "loss", 0.5, step=1)

    run = mlflow_client.get_run(run_id)
    assert run.data.params == {"lr": "0.1"}
    assert run.data.tags["stage"] == "b"
    assert [m.value for m in mlflow_client.get_metric_history(run_id, "loss")] == [1.0, 0.5]
    assert nbtrack.get_run(run_id).params == {"lr": "0.1"}


def test_log_batch_keeps_mlflows_limits_and_writes_nothing_of_a_refused_batch(
    mlflow_client: MlflowClient,
) -> None:
    # MLflow's client splits a large batch itself: a request past the limits comes from
    # other clients, sent here as they would send it.
    run_id = mlflow_client.create_run("0").info.run_id
    metrics = [{"key": "m", "value": 1.0, "timestamp": 1, "step": s} for s in range(1001)]
    params = [{"key": f"p{i}", "value": "v"} for i in range(101)]
    for batch, what in ((metrics, "1000 metrics"), (params, "100 params")):
        if is_server(mlflow_client):
            field = "metrics" if batch is metrics else "params"
            answer = requests.post(
                f"{mlflow_client.tracking_uri}/api/2.0/mlflow/runs/log-batch",
                json={"run_id": run_id, field: batch},
                timeout=30,
            )
            assert answer.status_code == 400
            assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
            assert f"at most {what}" in answer.json()["message"]
        else:
            store = mlflow_client._tracking_client.store
            entities = (
                [Metric(m["key"], m["value"], m["timestamp"], m["step"]) for m in metrics]
                if batch is metrics
                else [Param(p["key"], p["value"]) for p in params]
            )
            with pytest.raises(MlflowException, match=f"at most {what}") as refused:
                store.log_batch(
                    run_id,
                    metrics=entities if batch is metrics else [],
                    params=[] if batch is metrics else entities,
                    tags=[],
                )
            assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert mlflow_client.get_metric_history(run_id, "m") == []
    assert mlflow_client.get_run(run_id).data.params == {}


def test_a_run_created_with_a_refused_tag_is_not_created(mlflow_client: MlflowClient) -> None:
    experiment_id = mlflow_client.create_experiment("refused-tags")
    with pytest.raises(MlflowException) as refused:
        mlflow_client.create_run(experiment_id, tags={"k" * 251: "v"})
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    made = mlflow_client.create_run(experiment_id, tags={"team": "a"})
    assert mlflow_client.get_run(made.info.run_id).data.tags["team"] == "a"
    found = mlflow_client.search_runs([experiment_id])
    assert [run.info.run_id for run in found] == [made.info.run_id]


def test_unknown_things_are_resource_does_not_exist(mlflow_client: MlflowClient) -> None:
    for call in (
        lambda: mlflow_client.get_run("f" * 32),
        lambda: mlflow_client.get_experiment("9999"),
        lambda: mlflow_client.get_registered_model("nope"),
    ):
        with pytest.raises(MlflowException) as missing:
            call()
        assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_set_experiment_creates_an_experiment_once(
    mlflow_client: MlflowClient, store_path: Path
) -> None:
    mlflow.set_tracking_uri(mlflow_client.tracking_uri)
    first = mlflow.set_experiment("fresh")
    again = mlflow.set_experiment("fresh")
    assert first.experiment_id == again.experiment_id
    assert [e.name for e in nbtrack.list_experiments()].count("fresh") == 1
    with pytest.raises(MlflowException) as taken:
        mlflow_client.create_experiment("fresh")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_a_nbtrack_run_reads_through_mlflows_client_with_mlflows_tags(
    mlflow_client: MlflowClient,
) -> None:
    nbtrack.set_experiment("native")
    with nbtrack.start_run(name="made-by-nbtrack") as run:
        nbtrack.log_param("depth", 3)
        nbtrack.log_metric("acc", 0.75, step=4)
    nbtrack.flush()

    seen = mlflow_client.get_run(run.id)
    assert seen.info.run_name == "made-by-nbtrack"
    assert seen.info.status == "FINISHED"
    assert seen.data.params == {"depth": "3"}
    assert seen.data.metrics == {"acc": 0.75}
    assert seen.data.tags["mlflow.runName"] == "made-by-nbtrack"
    assert seen.data.tags["mlflow.user"] == run.user
    experiment = mlflow_client.get_experiment_by_name("native")
    assert [r.info.run_id for r in mlflow_client.search_runs([experiment.experiment_id])] == [
        run.id
    ]


def test_runs_started_ended_and_searched_by_mlflows_fluent_api(
    mlflow_client: MlflowClient,
) -> None:
    mlflow.set_tracking_uri(mlflow_client.tracking_uri)
    mlflow.set_experiment("fluent")
    for lr in (0.1, 0.01):
        with mlflow.start_run():
            mlflow.log_params({"lr": lr, "epochs": 3})
            mlflow.log_metrics({"acc": 1 - lr}, step=1)
    found = mlflow.search_runs(filter_string="metrics.acc > 0.95", output_format="list")
    assert [r.data.params["lr"] for r in found] == ["0.01"]
    frame = nbtrack.search_runs("fluent", filter="params.lr = '0.1'")
    assert list(frame["metrics.acc"]) == [0.9]


@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred:UserWarning")
def test_registered_models_versions_and_aliases(mlflow_client: MlflowClient) -> None:
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(mlflow_client.tracking_uri)
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(LogisticRegression().fit([[0], [1]], [0, 1]), name="model")
    mlflow_client.create_registered_model("clf", description="two points")
    with pytest.raises(MlflowException) as taken:
        mlflow_client.create_registered_model("clf")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    version = mlflow_client.create_model_version(
        "clf", f"runs:/{run.info.run_id}/model", run.info.run_id
    )
    assert version.version == "1"
    mlflow_client.set_registered_model_alias("clf", "champion", "1")
    assert mlflow_client.get_model_version_by_alias("clf", "champion").run_id == run.info.run_id
    assert nbtrack.get_model_version("clf", 1).aliases == ("champion",)
    mlflow_client.delete_registered_model_alias("clf", "champion")
    assert nbtrack.get_model_version("clf", 1).aliases == ()
    assert [v.version for v in mlflow_client.search_model_versions("name='clf'")] == ["1"]


def test_server_info_says_which_features_are_on(nbtrack_server: RunningServer) -> None:
    answer = requests.get(f"{nbtrack_server.url}/api/3.0/mlflow/server-info", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["workspaces_enabled"] is False


def test_a_run_ended_by_another_process_ends(mlflow_client: MlflowClient, store_path: Path) -> None:
    # The run is created by this process's nbtrack (its journal owns it); MLflow's client
    # through a server (another process) or a fresh plugin service ends it.
    with nbtrack.start_run(name="long") as run:
        pass
    nbtrack.flush()
    run_id = run.id
    mlflow_client.update_run(run_id, status="KILLED")
    ended = mlflow_client.get_run(run_id).info
    assert ended.status == "KILLED"
    assert ended.end_time <= int(time.time() * 1000)
    assert is_server(mlflow_client) or nbtrack.get_run(run_id).status == "KILLED"


KILLED_SCRIPT = """
import sys, time, warnings
warnings.simplefilter("ignore")
from mlflow import MlflowClient
client = MlflowClient(sys.argv[1])
run_id = client.create_run("0").info.run_id
for step in range(500):
    client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
client.log_param(run_id, "lr", "0.1")
print(run_id, flush=True)
time.sleep(60)
"""


def test_what_the_plugin_acknowledged_survives_kill_9(store_path: Path, tmp_path: Path) -> None:
    # The plugin's calls return once the record is in the process's journal (as
    # nbtrack.log_metric's do): a process killed right after loses none of them.
    env = {k: v for k, v in os.environ.items() if k != "NBTRACK_URI"}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_SCRIPT, f"nbtrack:{store_path}"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    run_id = process.stdout.readline().strip()
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)

    history = nbtrack.get_metric_history(run_id, "loss")
    assert list(history["step"]) == list(range(500))
    run = nbtrack.get_run(run_id)
    assert run.params == {"lr": "0.1"}
    assert run.status == "KILLED"  # its owner is gone


def test_a_filter_on_artifact_uri_compares_the_uri_the_client_sees(
    mlflow_client: MlflowClient,
) -> None:
    experiment_id = mlflow_client.create_experiment("by artifact uri")
    wanted, other = (mlflow_client.create_run(experiment_id).info for _ in range(2))
    for info in (wanted, other):
        assert mlflow_client.get_run(info.run_id).info.artifact_uri == info.artifact_uri

    found = mlflow_client.search_runs(
        [experiment_id], f"attributes.artifact_uri = '{wanted.artifact_uri}'"
    )
    assert [run.info.run_id for run in found] == [wanted.run_id]
    prefix = wanted.artifact_uri.rsplit("/", 2)[0]
    found = mlflow_client.search_runs([experiment_id], f"attributes.artifact_uri LIKE '{prefix}/%'")
    assert {run.info.run_id for run in found} == {wanted.run_id, other.run_id}
