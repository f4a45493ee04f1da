"""Requests to a real ``nbtrack server``: answers, its errors as nbtrack's, and a server that
is not there."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from nbtrack.config import ServerAddress
from nbtrack.errors import NotFoundError, ServerError, ServerUnreachableError
from nbtrack.store.remote.connection import ServerConnection
from tests.mlflow_compat.conftest import start_server, stop_server
from tests.serving.conftest import free_port
from tests.team.conftest import restart_on_the_same_port


def test_an_answer_is_read_whole_over_a_kept_alive_connection(
    connection: ServerConnection,
) -> None:
    first = connection.request("GET", "/api/3.0/mlflow/server-info")
    second = connection.request("GET", "/api/3.0/mlflow/server-info")
    assert first.status == second.status == 200
    assert isinstance(first.json(), dict)


def test_mlflows_error_shape_becomes_the_nbtrack_error_of_the_same_meaning(
    connection: ServerConnection,
) -> None:
    with pytest.raises(NotFoundError, match="nothing-here"):
        connection.request(
            "GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=nothing-here"
        )


def test_a_server_that_is_not_there_is_unreachable_not_a_hang() -> None:
    gone = ServerConnection(ServerAddress(f"http://127.0.0.1:{free_port()}"), timeout_s=5)
    with pytest.raises(ServerUnreachableError, match="does not answer"):
        gone.request("GET", "/api/3.0/mlflow/server-info")


def test_a_refused_token_says_which_variable_to_set(tmp_path: Path) -> None:
    env = {**os.environ, "NBTRACK_SERVE_TOKEN": "right"}
    server = start_server(tmp_path / "nbtrack.duckdb", host="127.0.0.2", env=env)
    try:
        wrong = ServerConnection(ServerAddress(server.url, token="wrong"))
        with pytest.raises(ServerError, match="NBTRACK_TOKEN"):
            wrong.request("GET", "/api/3.0/mlflow/server-info")
        right = ServerConnection(ServerAddress(server.url, token="right"))
        assert right.request("GET", "/api/3.0/mlflow/server-info").status == 200
        wrong.close(), right.close()
    finally:
        stop_server(server.process)


def test_threads_share_a_connection_object_safely(connection: ServerConnection) -> None:
    statuses: list[int] = []

    def ask() -> None:
        for _ in range(20):
            statuses.append(connection.request("GET", "/api/3.0/mlflow/server-info").status)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 80


def test_a_server_restarted_behind_a_kept_alive_connection_is_reached_again(
    tmp_path: Path,
) -> None:
    store = tmp_path / "nbtrack.duckdb"
    server = start_server(store)
    client = ServerConnection(ServerAddress(server.url))
    assert client.request("GET", "/api/3.0/mlflow/server-info").status == 200
    stop_server(server.process)
    again = restart_on_the_same_port(server)
    try:
        assert client.request("GET", "/api/3.0/mlflow/server-info").status == 200
    finally:
        client.close()
        stop_server(again.process)
