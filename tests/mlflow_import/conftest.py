"""MLflow histories to import: logged by MLflow 3's own client, in a process of their own, into
a file store (``mlruns``), a SQLite store, and a real ``mlflow server`` on a loopback port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
import requests

from tests.serving.conftest import free_port

HERE = Path(__file__).parent


@dataclass
class History:
    """An MLflow store with ``make_history.py``'s runs in it."""

    source: str  # what `nbtrack mlflow import` is given
    uri: str  # how MLflow's client reads it
    parent: str
    deleted: str
    features: list[list[float]]


def forget_registry_uri() -> None:
    """Undo ``mlflow.set_registry_uri``, which also sets ``MLFLOW_REGISTRY_URI`` for every
    process started later (a later test's history would register its models elsewhere)."""
    mlflow.set_registry_uri("")
    os.environ.pop("MLFLOW_REGISTRY_URI", None)


def make_history(uri: str, cwd: Path) -> dict[str, object]:
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}
    for name in ("NBTRACK_URI", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, str(HERE / "make_history.py"), uri],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def _history(source: str, uri: str, cwd: Path) -> History:
    facts = make_history(uri, cwd)
    return History(source, uri, str(facts["parent"]), str(facts["deleted"]),
                   facts["features"])  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
def mlruns_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> History:
    """An mlruns folder; MLflow's client reads it back only with MLFLOW_ALLOW_FILE_STORE."""
    folder = tmp_path / "mlflow"
    folder.mkdir()
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlruns = folder / "mlruns"
    return _history(str(mlruns), mlruns.as_uri(), folder)


@pytest.fixture
def sqlite_history(tmp_path: Path) -> History:
    folder = tmp_path / "mlflow"
    folder.mkdir()
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    return _history(uri, uri, folder)


@dataclass
class MlflowServer:
    url: str
    process: subprocess.Popen[str]


def start_mlflow_server(folder: Path) -> MlflowServer:
    """``mlflow server`` with a SQLite store, serving its artifacts, on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{folder / 'server.db'}", "--serve-artifacts",
         "--artifacts-destination", str(folder / "artifacts"), "--workers", "1"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return MlflowServer(url, process)
        except requests.ConnectionError:
            time.sleep(0.2)
    stop_mlflow_server(process)
    raise AssertionError(f"mlflow server at {url} never became healthy")


def stop_mlflow_server(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    process.communicate(timeout=60)


@pytest.fixture
def server_history(tmp_path: Path) -> Iterator[History]:
    folder = tmp_path / "mlflow"
    folder.mkdir()
    server = start_mlflow_server(folder)
    try:
        yield _history(server.url, server.url, folder)
    finally:
        stop_mlflow_server(server.process)


@pytest.fixture(params=["mlruns", "sqlite", "server"])
def history(request: pytest.FixtureRequest) -> History:
    """Each kind of MLflow store the import reads, filled by MLflow's client."""
    found: History = request.getfixturevalue(f"{request.param}_history")
    return found
