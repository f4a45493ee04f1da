"""MLflow's client over ``nbtrack+http://`` while the server is away: an artifact logged then
waits in the spool like a metric and arrives byte-identical once the server is back; a process
that has never reached the server opens its client, logs into experiments the project knows,
and gets one error naming the server for anything else."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nbtrack.config import ServerAddress
from nbtrack.errors import ServerError
from nbtrack.mlflow_compat.spooled_artifacts import deliver_spool
from nbtrack.store.remote.artifacts import pending
from nbtrack.store.remote.store import close_all, get_remote_store
from nbtrack.store.schema import ARTIFACTS_FOLDER
from tests.mlflow_compat.conftest import NBTRACK
from tests.mlflow_compat.test_remote_scheme import _env, _run
from tests.serving.conftest import free_port
from tests.team.clients import points_per_key, read_line, statuses, wait_for
from tests.team.conftest import restart_on_the_same_port, server_in_its_own_folder

# One process across the outage; it waits for a line on stdin before each step.
ACROSS_AN_OUTAGE = """
import hashlib, json, os, sys, time
import mlflow
mlflow.set_experiment("outage")
run = mlflow.start_run(run_name="across")
print(json.dumps({"run_id": run.info.run_id}), flush=True)
sys.stdin.readline()  # the server is killed
os.makedirs("out", exist_ok=True)
blob = os.urandom(300_000)
with open("out/blob.bin", "wb") as f:
    f.write(blob)
started = time.perf_counter()
mlflow.log_artifact("out/blob.bin", "data")
mlflow.log_metric("loss", 0.25, step=1)
print(json.dumps({"logged_s": time.perf_counter() - started,
                  "sha256": hashlib.sha256(blob).hexdigest()}), flush=True)
sys.stdin.readline()  # the server is back
client = mlflow.MlflowClient()
listed = [(f.path, f.file_size) for f in client.list_artifacts(run.info.run_id, "data")]
local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="data/blob.bin",
                                            dst_path="downloaded")
downloaded = hashlib.sha256(open(local, "rb").read()).hexdigest()
mlflow.end_run()
print(json.dumps({"listed": listed, "downloaded": downloaded}), flush=True)
"""


def _start(script: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", script], cwd=cwd, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _say(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.write("go\n")
    process.stdin.flush()


def test_an_artifact_logged_while_the_server_is_killed_arrives_byte_identical(
    tmp_path: Path,
) -> None:
    with server_in_its_own_folder(tmp_path) as server:
        client = _start(ACROSS_AN_OUTAGE, tmp_path / "client", _env(server.url))
        try:
            run_id = read_line(client)["run_id"]
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.communicate(timeout=30)
            _say(client)
            logged = read_line(client)  # log_artifact and log_metric returned
            # Nothing reached the server: its folder has no file of the run yet.
            assert not list((tmp_path / "server").rglob("blob.bin"))
            restarted = restart_on_the_same_port(server)
            server.process = restarted.process  # stopped by the context manager
            _say(client)
            read = read_line(client)
            _, err = client.communicate(timeout=120)
        finally:
            if client.poll() is None:
                client.kill()
        assert client.returncode == 0, err
    assert read["listed"] == [["data/blob.bin", 300_000]]
    assert read["downloaded"] == logged["sha256"]
    kept = list((tmp_path / "server" / ARTIFACTS_FOLDER).glob(f"*/{run_id}/artifacts/data/*"))
    assert [p.name for p in kept] == ["blob.bin"], kept
    assert hashlib.sha256(kept[0].read_bytes()).hexdigest() == logged["sha256"]
    store = tmp_path / "server" / "nbtrack.duckdb"
    assert points_per_key(store) == {"loss": (1, 1)}
    assert statuses(store) == {"across": "FINISHED"}


# A process that never reaches the server: its client opens, the experiments this project
# used before take runs, anything else is one error; argv: the experiment to log into.
NEVER_REACHED = """
import json, sys
import mlflow
client = mlflow.MlflowClient()
found = {}
for name in sys.argv[1:]:
    try:
        if name != "Default":
            mlflow.set_experiment(name)
        with mlflow.start_run(run_name="offline-" + name) as run:
            mlflow.log_param("where", name)
            mlflow.log_metric("m", 1.0)
        found[name] = run.info.experiment_id
    except mlflow.exceptions.MlflowException as exc:
        found[name] = "error: " + exc.message
    mlflow.tracking.fluent._active_experiment_id = None
print(json.dumps(found), flush=True)
"""

KNOWN = """
import mlflow
print(mlflow.set_experiment("known").experiment_id)
"""


def test_a_client_that_never_reached_a_never_started_server_names_it(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    found: dict[str, Any] = _run(NEVER_REACHED, tmp_path, _env(url), "Default", "new")
    for name in ("Default", "new"):
        message = found[name]
        assert message.startswith("error: "), found
        assert url in message and repr(name) in message
        assert "can be used once the server answers" in message


def test_a_client_that_never_reached_the_server_logs_into_experiments_the_project_knows(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    with server_in_its_own_folder(tmp_path) as server:
        _run(KNOWN, project, _env(server.url))  # another process of the project, online
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.communicate(timeout=30)
        found = _run(NEVER_REACHED, project, _env(server.url), "Default", "known", "unknown")
        assert found["Default"] == "0"
        assert found["known"] not in ("0", "") and not found["known"].startswith("error")
        assert found["unknown"].startswith("error: ") and server.url in found["unknown"]
        restarted = restart_on_the_same_port(server)
        server.process = restarted.process
        env = {k: v for k, v in _env(server.url).items() if k != "MLFLOW_TRACKING_URI"}
        # What the offline process logged was left in the spool: `nbtrack sync` delivers it.
        synced = subprocess.run(
            [*NBTRACK, "sync"], cwd=project, env=env | {"NBTRACK_URI": server.url},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert synced.returncode == 0, synced.stderr
        store = tmp_path / "server" / "nbtrack.duckdb"
        expected = {"offline-Default": "FINISHED", "offline-known": "FINISHED"}
        assert wait_for(lambda: statuses(store) == expected) or statuses(store) == expected


def test_registering_a_model_while_the_server_is_away_is_one_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    store = get_remote_store(ServerAddress(url))
    try:
        (tmp_path / "model.pkl").write_bytes(b"payload")
        store.spool(tmp_path / "model.pkl", "1/" + "a" * 32 + "/artifacts/model/model.pkl")
        started = time.monotonic()
        with pytest.raises(ServerError, match=re.escape(url)) as raised:
            deliver_spool(store)
        assert time.monotonic() - started < 10  # said at once, not after the deadline
        assert str(store.artifact_spool) in str(raised.value)
    finally:
        close_all()
    # The file is kept for the server's return.
    assert len(pending(store.artifact_spool)) == 1
