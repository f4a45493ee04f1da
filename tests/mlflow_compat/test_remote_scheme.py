"""MLflow's own client logging to a real ``nbtrack server`` through ``nbtrack+http://``: this
process's journal takes each call, the sender delivers it — read back through MLflow's client
and nbtrack's, across a server killed and restarted, and with a token."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbtrack.errors import InvalidValueError
from nbtrack.mlflow_compat.remote_scheme import server_address
from nbtrack.store.schema import ARTIFACTS_FOLDER
from tests.mlflow_compat.conftest import RunningServer, start_server, stop_server
from tests.team.clients import REPO, points_per_key, statuses, wait_for
from tests.team.conftest import restart_on_the_same_port, server_in_its_own_folder

# MLflow's client, as a user's script would use it; argv: points, seconds between two points.
CLIENT = """
import json, sys, time
import mlflow
from mlflow.entities import Metric, Param, RunTag
points, pause = int(sys.argv[1]), float(sys.argv[2])
client = mlflow.MlflowClient()
experiment_id = mlflow.set_experiment("remote").experiment_id
run = client.create_run(experiment_id, run_name="over-journal", tags={"team": "a"})
run_id = run.info.run_id
print(json.dumps({"run_id": run_id, "artifact_uri": run.info.artifact_uri}), flush=True)
client.log_param(run_id, "lr", "0.1")
client.set_tag(run_id, "stage", "train")
for step in range(points):
    client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    time.sleep(pause)
now = int(time.time() * 1000)
client.log_batch(
    run_id, metrics=[Metric("acc", 0.5 + i / 100, now, i) for i in range(10)],
    params=[Param("depth", "3")], tags=[RunTag("batch", "yes")],
)
client.set_terminated(run_id)
print(json.dumps({"done": run_id}), flush=True)
"""

# Read back through MLflow's client and through nbtrack's, against the server.
READER = """
import json, sys
import mlflow, nbtrack
client = mlflow.MlflowClient()
run = client.get_run(sys.argv[1])
found = client.search_runs([run.info.experiment_id], "params.lr = '0.1'")
history = client.get_metric_history(run.info.run_id, "loss")
frame = nbtrack.search_runs(experiment="remote")
print(json.dumps({
    "status": run.info.status, "params": run.data.params, "tags": run.data.tags,
    "metrics": run.data.metrics, "found": [r.info.run_id for r in found],
    "steps": sorted(m.step for m in history),
    "nbtrack": frame[["run_id", "status", "params.lr", "metrics.acc"]].to_dict("records"),
}))
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with server_in_its_own_folder(tmp_path) as running:
        yield running


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_TOKEN", "TRACKING_URI"))}
    env.pop("NBTRACK_URI", None)
    env["MLFLOW_TRACKING_URI"] = "nbtrack+" + url
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return {**env, **extra}


def _run(script: str, cwd: Path, env: dict[str, str], *args: object) -> Any:
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _read_back(url: str, cwd: Path, run_id: str) -> dict[str, Any]:
    env = _env(url, NBTRACK_URI=url)
    found: dict[str, Any] = _run(READER, cwd, env, run_id)
    return found


def test_mlflow_client_logs_through_the_journal_and_reads_back(
    server: RunningServer, tmp_path: Path
) -> None:
    done = _run(CLIENT, tmp_path / "client", _env(server.url), 1000, 0)
    run_id = done["done"]
    found = _read_back(server.url, tmp_path / "reader", run_id)
    assert found["status"] == "FINISHED"
    assert found["params"] == {"lr": "0.1", "depth": "3"}
    assert found["tags"]["team"] == "a" and found["tags"]["stage"] == "train"
    assert found["tags"]["batch"] == "yes"
    assert found["metrics"] == {"loss": pytest.approx(1 / 1000), "acc": pytest.approx(0.59)}
    assert found["steps"] == list(range(1000))
    assert found["found"] == [run_id]
    assert found["nbtrack"] == [
        {"run_id": run_id, "status": "FINISHED", "params.lr": "0.1", "metrics.acc": 0.59}
    ]
    store = tmp_path / "server" / "nbtrack.duckdb"
    assert points_per_key(store) == {"loss": (1000, 1000), "acc": (10, 10)}


def test_a_run_s_artifact_uri_is_the_server_s_proxy(server: RunningServer, tmp_path: Path) -> None:
    script = CLIENT.replace(
        'print(json.dumps({"done": run_id}), flush=True)',
        "open('note.txt', 'w').write('hello')\n"
        "client.log_artifact(run_id, 'note.txt', 'notes')\n"
        "listed = [f.path for f in client.list_artifacts(run_id, 'notes')]\n"
        "print(json.dumps({'listed': listed, 'artifact_uri': client.get_run(run_id).info"
        ".artifact_uri}))",
    )
    cwd = tmp_path / "client"
    done = _run(script, cwd, _env(server.url), 3, 0)
    assert done["listed"] == ["notes/note.txt"]
    proxy = f"nbtrack+{server.url}/api/2.0/mlflow-artifacts/artifacts/"
    assert done["artifact_uri"].startswith(proxy)
    server_folder = tmp_path / "server"
    run_id = done["artifact_uri"].split("/")[-2]
    kept = server_folder / ARTIFACTS_FOLDER / done["artifact_uri"].split("/")[-3] / run_id
    assert (kept / "artifacts" / "notes" / "note.txt").read_text() == "hello"
    assert not list(cwd.rglob("notes"))


def test_nothing_is_lost_when_the_server_is_killed_mid_logging(
    server: RunningServer, tmp_path: Path
) -> None:
    store = tmp_path / "server" / "nbtrack.duckdb"
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, "3000", "0.002"],
        cwd=tmp_path, env=_env(server.url), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert client.stdout is not None
    json.loads(client.stdout.readline())  # the run is created
    time.sleep(1.0)
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.communicate(timeout=30)
    time.sleep(2.0)
    restarted = restart_on_the_same_port(server)
    server.process = restarted.process  # stopped by the fixture
    _, err = client.communicate(timeout=180)
    assert client.returncode == 0, err
    expected = {"loss": (3000, 3000), "acc": (10, 10)}
    assert wait_for(lambda: points_per_key(store) == expected) or points_per_key(store) == expected
    assert statuses(store) == {"over-journal": "FINISHED"}


@pytest.mark.parametrize("variable", ["NBTRACK_TOKEN", "MLFLOW_TRACKING_TOKEN"])
def test_a_server_with_a_token_refuses_a_client_without_it(tmp_path: Path, variable: str) -> None:
    folder = tmp_path / "secured"
    folder.mkdir()
    server = start_server(folder / "nbtrack.duckdb", "--token", "s3cret")
    try:
        refused = subprocess.run(
            [sys.executable, "-c", CLIENT, "5", "0"], cwd=folder,
            env=_env(server.url), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert refused.returncode != 0
        assert "token" in refused.stderr.lower()
        done = _run(CLIENT, tmp_path / "ok", _env(server.url, **{variable: "s3cret"}), 5, 0)
        assert statuses(folder / "nbtrack.duckdb") == {"over-journal": "FINISHED"}
        assert done["done"]
    finally:
        stop_server(server.process)


@pytest.mark.parametrize(
    ("uri", "named"),
    [
        ("nbtrack+http://user:pw@127.0.0.1:5000", "user name or password"),
        ("nbtrack+http://", "names no host"),
        ("nbtrack+http://127.0.0.1:5000/?x=1", "query"),
    ],
)
def test_a_bad_nbtrack_http_uri_is_one_clear_error(uri: str, named: str) -> None:
    with pytest.raises(InvalidValueError, match=named) as raised:
        server_address(uri)
    assert uri.removeprefix("nbtrack+") in str(raised.value)


REGISTERING = """
import json, warnings
warnings.simplefilter("ignore")
import mlflow
from sklearn.linear_model import LogisticRegression
mlflow.set_experiment("registry")
with mlflow.start_run() as run:
    mlflow.sklearn.log_model(LogisticRegression().fit([[0], [1]], [0, 1]), name="model")
version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "clf")
loaded = mlflow.pyfunc.load_model(f"models:/clf/{version.version}")
print(json.dumps({"run_id": run.info.run_id, "version": version.version,
                  "predicted": [int(p) for p in loaded.predict([[0], [1]])]}))
"""

LOADING = """
import json, sys, nbtrack
model = nbtrack.load_model("models:/clf/1")
print(json.dumps({"predicted": [int(p) for p in model.predict([[0], [1]])],
                  "run_id": nbtrack.get_model_version("clf", 1).run_id}))
"""


def test_a_model_logged_and_registered_through_the_scheme_loads_with_its_hashes_checked(
    server: RunningServer, tmp_path: Path
) -> None:
    registered = _run(REGISTERING, tmp_path / "client", _env(server.url))
    assert registered["version"] == "1"
    assert registered["predicted"] == [0, 1]
    # nbtrack's own loader, which refuses files whose recorded hashes do not match, on the
    # server's store: the hashes were recorded from the files the server holds.
    env = {k: v for k, v in _env(server.url).items() if k != "MLFLOW_TRACKING_URI"}
    loaded = _run(LOADING, tmp_path / "server", env)
    assert loaded == {"predicted": [0, 1], "run_id": registered["run_id"]}
