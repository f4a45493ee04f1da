"""``sql()`` run by a real ``nbtrack server``: the same answer as on the store itself, the same
read-only rules, the server's time and row limits said in clear errors, Arrow streamed.

The tests that only read share one server and its three logged runs (``shared_server``; each
test still runs alone); those that stop a query midway, or need other limits, get their own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from nbtrack.config import ServerAddress
from nbtrack.errors import InvalidValueError, ServerError
from nbtrack.store.remote.calls import SQL_PATH, sql
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.store.store import Store
from nbtrack.store.store import close_all as close_stores
from tests.mlflow_compat.conftest import RunningServer, start_server, stop_server
from tests.team.conftest import server_in_its_own_folder

JSON_TYPE = {"Content-Type": "application/json"}
# Seconds of work for DuckDB: a cross join it cannot shortcut.
SLOW_QUERY = "SELECT sum(a.range * b.range % 7) FROM range(200000) a, range(200000) b"


def _log_runs(connection: ServerConnection, runs: int, points: int) -> list[str]:
    ids = []
    for number in range(runs):
        created = connection.request(
            "POST",
            "/api/2.0/mlflow/runs/create",
            json.dumps({"experiment_id": "0", "run_name": f"run-{number}"}).encode(),
            JSON_TYPE,
        ).json()
        assert isinstance(created, dict)
        run_id = created["run"]["info"]["run_id"]
        batch = {
            "run_id": run_id,
            "metrics": [
                {"key": "loss", "value": 1 / (step + 1), "step": step, "timestamp": 1000 + step}
                for step in range(points)
            ],
            "params": [{"key": "lr", "value": str(0.1 * (number + 1))}],
            "tags": [{"key": "team", "value": "blue" if number % 2 else "red"}],
        }
        connection.request("POST", "/api/2.0/mlflow/runs/log-batch", json.dumps(batch).encode(),
                           JSON_TYPE)  # fmt: skip
        ids.append(run_id)
    return ids


def _server_store(server: RunningServer) -> Path:
    return Path(server.process.args[server.process.args.index("--store") + 1])


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for the tests that only read, holding three runs of 20 points."""
    with server_in_its_own_folder(tmp_path_factory.mktemp("sql")) as server:
        opened = ServerConnection(ServerAddress(server.url))
        _log_runs(opened, runs=3, points=20)
        opened.close()
        yield server


@pytest.fixture
def shared(shared_server: RunningServer) -> Iterator[ServerConnection]:
    opened = ServerConnection(ServerAddress(shared_server.url))
    yield opened
    opened.close()


@pytest.mark.parametrize(
    "query",
    [
        "SELECT run_id, run_name, status, start_time, end_time FROM runs ORDER BY run_name",
        "SELECT key, step, value, timestamp FROM metrics ORDER BY run_id, step",
        "SELECT r.run_name, p.value AS lr, t.value AS team, l.value AS loss, l.min_value "
        "FROM runs r JOIN params p USING (run_id) JOIN tags t USING (run_id) "
        "JOIN latest_metrics l USING (run_id) WHERE t.key = 'team' ORDER BY r.run_name",
        "SELECT 1::TINYINT AS i, NULL::BIGINT AS missing, 'nan'::DOUBLE AS n, [1, 2] AS xs, "
        "{'a': 1} AS s, DATE '2026-12-05' AS d, 1.5::DECIMAL(10, 2) AS money",
        "SELECT * FROM experiments WHERE false",
    ],
)
def test_sql_through_the_server_answers_what_sql_on_its_store_answers(
    shared_server: RunningServer, shared: ServerConnection, query: str
) -> None:
    remote = sql(shared, query, 10.0)
    local = Store(_server_store(shared_server)).sql(query, 10.0)
    close_stores()
    pd.testing.assert_frame_equal(remote, local)


def test_an_answer_of_many_batches_arrives_whole_and_in_order(
    shared: ServerConnection,
) -> None:
    frame = sql(shared, "SELECT range AS n FROM range(300000)", 10.0)
    assert len(frame) == 300_000
    assert frame["n"].is_monotonic_increasing
    assert frame["n"].iloc[-1] == 299_999


@pytest.mark.parametrize(
    "query",
    [
        "CREATE TABLE stolen AS SELECT 1",
        "DELETE FROM runs",
        "COPY runs TO 'out.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "ATTACH 'other.duckdb'",
        "INSTALL httpfs",
        "SET enable_external_access = true",
    ],
)
def test_the_same_read_only_rules_hold_on_the_server(
    shared_server: RunningServer, shared: ServerConnection, query: str
) -> None:
    with pytest.raises(InvalidValueError, match=r"sql\(\)"):
        sql(shared, query, 10.0)
    assert not (_server_store(shared_server).parent / "out.csv").exists()


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[RunningServer]:
    folder = tmp_path / "limited"
    folder.mkdir()
    server = start_server(folder / "nbtrack.duckdb", "--sql-max-rows", "5", "--sql-timeout", "1")
    yield server
    _, err = stop_server(server.process)
    assert "Traceback" not in err, err


def test_an_answer_over_the_servers_row_limit_is_an_error_never_a_cut_answer(
    limited_server: RunningServer,
) -> None:
    connection = ServerConnection(ServerAddress(limited_server.url))
    assert len(sql(connection, "SELECT * FROM range(5)", 10.0)) == 5
    with pytest.raises(InvalidValueError, match=r"more than 5 rows.*--sql-max-rows.*LIMIT"):
        sql(connection, "SELECT * FROM range(6)", 10.0)
    connection.close()


def test_a_query_past_the_servers_time_limit_is_stopped_and_says_whose_limit(
    limited_server: RunningServer,
) -> None:
    connection = ServerConnection(ServerAddress(limited_server.url))
    started = time.monotonic()
    with pytest.raises(InvalidValueError, match=r"time limit of 1 s.*this server allows.*1 s"):
        sql(connection, SLOW_QUERY, 30.0)
    assert time.monotonic() - started < 20
    connection.close()


def test_a_query_past_the_clients_own_time_limit_is_stopped(
    connection: ServerConnection,
) -> None:
    with pytest.raises(InvalidValueError, match=r"time limit of 0.5 s"):
        sql(connection, SLOW_QUERY, 0.5)
    # The server answers again at once: nothing of the stopped query holds it.
    assert sql(connection, "SELECT 42 AS answer", 5.0)["answer"].tolist() == [42]


def test_ctrl_c_during_a_query_on_the_server_stops_waiting_and_the_next_query_works(
    connection: ServerConnection,
) -> None:
    import os
    import signal
    import threading

    # A real SIGINT, as Ctrl-C or the stop button sends: it interrupts the socket read.
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sql(connection, SLOW_QUERY, 5.0)
    assert time.monotonic() - started < 4
    assert sql(connection, "SELECT 7 AS n", 10.0)["n"].tolist() == [7]


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (b"select 1", "not JSON"),
        (json.dumps({"query": "SELECT 1"}).encode(), "exactly query and timeout_s"),
        (json.dumps({"query": "", "timeout_s": 1}).encode(), "non-empty SQL string"),
        (json.dumps({"query": "SELECT 1", "timeout_s": -1}).encode(), "above 0"),
        (json.dumps({"query": "SELECT 1", "timeout_s": True}).encode(), "above 0"),
    ],
)
def test_a_malformed_sql_call_is_refused(
    shared: ServerConnection, body: bytes, refusal: str
) -> None:
    with pytest.raises(InvalidValueError, match=refusal):
        shared.request("POST", SQL_PATH, body, JSON_TYPE)


def test_the_sql_route_refuses_what_a_browser_sends(shared: ServerConnection) -> None:
    body = json.dumps({"query": "SELECT 1", "timeout_s": 1}).encode()
    for headers in ({**JSON_TYPE, "Origin": "http://evil.example"}, {"Content-Type": "text/plain"}):
        with pytest.raises(ServerError, match="403"):
            shared.request("POST", SQL_PATH, body, headers)


def test_bad_sql_limits_for_the_server_are_refused_naming_the_option(tmp_path: Path) -> None:
    import subprocess

    from tests.mlflow_compat.conftest import NBTRACK

    for option, value in (("--sql-max-rows", "0"), ("--sql-timeout", "500")):
        done = subprocess.run(
            [*NBTRACK, "server", "--store", str(tmp_path / "s.duckdb"), "--port", "0",
             option, value],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 2
        assert option in done.stderr
