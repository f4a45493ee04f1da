"""MLflow's client against nbtrack: a real ``nbtrack server`` process on a loopback port, or
the ``nbtrack:`` plugin in this process, each on the test's own store."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from tests.serving.conftest import free_port, wait_ready

NBTRACK = [sys.executable, "-m", "nbtrack.cli"]


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[str]


def start_server(
    store: Path, *args: str, host: str = "127.0.0.1", env: dict[str, str] | None = None
) -> RunningServer:
    """``nbtrack server`` on a free port of ``host``, ready to answer."""
    port = free_port()
    process = subprocess.Popen(
        [*NBTRACK, "server", "--store", str(store), "--host", host, "--port", str(port), *args],
        env=env if env is not None else dict(os.environ),
        cwd=store.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://{host}:{port}"
    try:
        wait_ready(url, process)
    except BaseException:
        stop_server(process)
        raise
    return RunningServer(url, process)


def stop_server(process: subprocess.Popen[str]) -> tuple[str, str]:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
    return process.communicate(timeout=30)


@pytest.fixture
def nbtrack_server(store_path: Path) -> Iterator[RunningServer]:
    server = start_server(store_path)
    yield server
    _, err = stop_server(server.process)
    assert "Traceback" not in err, err


@pytest.fixture
def clean_mlflow() -> Iterator[None]:
    """MLflow's process-wide state (tracking URI, active runs) left as it was found."""
    yield
    reset_mlflow()


def reset_mlflow() -> None:
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    # The experiment mlflow.set_experiment chose is remembered by id, which the next test's
    # fresh store does not have.
    mlflow.tracking.fluent._active_experiment_id = None
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


@pytest.fixture(params=["server", "plugin"])
def mlflow_client(
    request: pytest.FixtureRequest, store_path: Path, clean_mlflow: None
) -> Iterator[MlflowClient]:
    """MLflow's own client, talking to ``nbtrack server`` or through the ``nbtrack:`` plugin."""
    with client_of(request.param, store_path) as client:
        yield client


@contextlib.contextmanager
def client_of(kind: str, store_path: Path) -> Iterator[MlflowClient]:
    """MLflow's client on the test's store: through a new ``nbtrack server`` (``"server"``) or
    the ``nbtrack:`` plugin (``"plugin"``)."""
    if kind == "server":
        server = start_server(store_path)
        try:
            yield MlflowClient(server.url)
        finally:
            stop_server(server.process)
    else:
        yield MlflowClient(f"nbtrack:{store_path}")


def is_server(client: MlflowClient) -> bool:
    return str(client.tracking_uri).startswith("http")
