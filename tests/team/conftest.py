"""A real ``nbtrack server`` process on a loopback port, a connection to it, and this test's
process logging to it."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import nbtrack
from nbtrack import config
from nbtrack.config import ServerAddress
from nbtrack.store.remote import store as remote_store
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.tracking import _current
from tests.mlflow_compat.conftest import NBTRACK, RunningServer, start_server, stop_server
from tests.serving.conftest import wait_ready
from tests.team.artifact_servers import BUCKET, S3_DESTINATION, S3Server, start_s3


@contextlib.contextmanager
def server_in_its_own_folder(
    tmp_path: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[RunningServer]:
    """A server over its own store in ``tmp_path / "server"`` (not the test's ``store_path``,
    which the client side of a test may use as its local store); it must end without a
    traceback."""
    folder = tmp_path / "server"
    folder.mkdir()
    server = start_server(folder / "nbtrack.duckdb", *options, env=env)
    try:
        yield server
    except BaseException:
        stop_server(server.process)  # a failed test must not leave its server running
        raise
    _, err = stop_server(server.process)
    assert "Traceback" not in err, err


@pytest.fixture
def team_server(tmp_path: Path) -> Iterator[RunningServer]:
    with server_in_its_own_folder(tmp_path) as server:
        yield server


@contextlib.contextmanager
def connected(server: RunningServer) -> Iterator[ServerConnection]:
    opened = ServerConnection(ServerAddress(server.url))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def connection(team_server: RunningServer) -> Iterator[ServerConnection]:
    with connected(team_server) as opened:
        yield opened


def restart_on_the_same_port(server: RunningServer) -> RunningServer:
    """A new server process over the same store, at the URL clients already know; the old
    one must have stopped (SIGTERM or ``kill -9``)."""
    server.process.wait(timeout=30)
    store = server.process.args[server.process.args.index("--store") + 1]
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    process = subprocess.Popen(
        [*NBTRACK, "server", "--store", store, "--host", host, "--port", port],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_ready(server.url, process)
    except BaseException:
        stop_server(process)
        raise
    return RunningServer(server.url, process)


@contextlib.contextmanager
def s3_on_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """moto's S3 server on loopback, with this process's ``AWS_*`` settings pointing at it
    (undone by ``monkeypatch``)."""
    server = start_s3(BUCKET)
    try:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def s3_server_in_its_own_folder(tmp_path: Path, s3: S3Server) -> Iterator[RunningServer]:
    """``nbtrack server --artifacts-destination s3://...`` over a store of its own in
    ``tmp_path / "server"``; it must end without a traceback."""
    s3_env = {**os.environ, **s3.env}
    with server_in_its_own_folder(
        tmp_path, "--artifacts-destination", S3_DESTINATION, env=s3_env
    ) as server:
        yield server


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """moto's S3 server on loopback, with this process's ``AWS_*`` settings pointing at it."""
    with s3_on_loopback(monkeypatch) as server:
        yield server


@pytest.fixture
def s3_team_server(tmp_path: Path, s3: S3Server) -> Iterator[RunningServer]:
    """``nbtrack server --artifacts-destination s3://...`` over a store of its own."""
    with s3_server_in_its_own_folder(tmp_path, s3) as server:
        yield server


@pytest.fixture
def s3_connection(s3_team_server: RunningServer) -> Iterator[ServerConnection]:
    with connected(s3_team_server) as opened:
        yield opened


@pytest.fixture
def on_server(team_server: RunningServer, store_path: Path) -> Iterator[RunningServer]:
    """This process logs to ``team_server``; afterwards to nothing of this test's."""
    with logging_to(team_server):
        yield team_server


@contextlib.contextmanager
def logging_to(server: RunningServer) -> Iterator[RunningServer]:
    """This process logs to ``server`` (for a test or, inside ``store_in``, a module);
    afterwards its runs are ended, its journals delivered and closed, and it logs to nothing
    of the server's."""
    nbtrack.set_tracking_uri(server.url)
    try:
        yield server
    finally:
        for run in reversed(_current.all_active()):
            run.end()
        opened = list(remote_store._remote.values())
        remote_store.close_all()
        for store in opened:
            # Its sender's connection and ours: closed, not left to the garbage collector.
            store.connection.close()
            store._sending.close()
        config.set_tracking_uri(None)
