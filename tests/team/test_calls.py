"""Store operations run by a real ``nbtrack server`` for a client: what a run's start needs,
the server's errors raised here as the same class, and every call the server refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nbtrack.entities import Experiment, Run
from nbtrack.errors import AlreadyExistsError, InvalidValueError, NotFoundError, ServerError
from nbtrack.store import experiments, runs
from nbtrack.store.remote.calls import CALL_PATH, call, request_body
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.store.remote.operations import remote_operation
from tests.mlflow_compat.conftest import RunningServer

JSON_TYPE = {"Content-Type": "application/json"}


def _raw_call(connection: ServerConnection, document: dict[str, Any]) -> Any:
    return connection.request("POST", CALL_PATH, json.dumps(document).encode(), JSON_TYPE)


def _mlflow_run(connection: ServerConnection, experiment_id: str = "0") -> str:
    answer = connection.request(
        "POST",
        "/api/2.0/mlflow/runs/create",
        json.dumps({"experiment_id": experiment_id, "start_time": 1}).encode(),
        JSON_TYPE,
    ).json()
    assert isinstance(answer, dict)
    run_id: str = answer["run"]["info"]["run_id"]
    return run_id


def test_an_experiment_created_through_the_server_is_listed_and_found(
    connection: ServerConnection,
) -> None:
    created = call(connection, "write", experiments.create_experiment, "team")
    assert isinstance(created, Experiment)
    assert created.name == "team"
    listed = call(connection, "read", experiments.list_experiments)
    assert [e.name for e in listed] == ["Default", "team"]
    found = call(connection, "read", experiments.get_experiment, name_or_id=created.id)
    assert found == created


def test_experiment_for_runs_gets_or_creates_on_the_server(connection: ServerConnection) -> None:
    first = call(connection, "write", experiments.experiment_for_runs, "shared")
    again = call(connection, "write", experiments.experiment_for_runs, "shared")
    assert first == again
    assert [e.name for e in call(connection, "read", experiments.list_experiments)] == [
        "Default",
        "shared",
    ]


def test_a_run_reopened_through_the_server_is_running_again_and_owned_by_the_client(
    connection: ServerConnection,
) -> None:
    run_id = _mlflow_run(connection)
    connection.request(
        "POST",
        "/api/2.0/mlflow/runs/update",
        json.dumps({"run_id": run_id, "status": "FINISHED", "end_time": 2}).encode(),
        JSON_TYPE,
    )
    assert call(connection, "read", runs.get_run, run_id).status == "FINISHED"
    state = call(connection, "write", runs.reopen_run, run_id, "client-journal", 4242)
    assert isinstance(state, runs.ResumeState)
    assert state.run.id == run_id
    assert state.last_seq == 0
    again = call(connection, "read", runs.get_run, run_id)
    assert isinstance(again, Run)
    assert again.status == "RUNNING"
    assert again.end_time is None
    call(connection, "read", runs.check_loggable, run_id)


def test_the_servers_nbtrack_errors_are_raised_here_as_the_same_class_and_message(
    connection: ServerConnection,
) -> None:
    with pytest.raises(NotFoundError, match="no-such-experiment"):
        call(connection, "read", experiments.get_experiment, "no-such-experiment")
    call(connection, "write", experiments.create_experiment, "taken")
    with pytest.raises(AlreadyExistsError, match="taken"):
        call(connection, "write", experiments.create_experiment, "taken")
    with pytest.raises(NotFoundError, match="purged"):
        call(connection, "read", runs.check_loggable, "0" * 32)


def test_a_deleted_run_is_refused_by_check_loggable_with_the_stores_message(
    connection: ServerConnection,
) -> None:
    run_id = _mlflow_run(connection)
    connection.request(
        "POST", "/api/2.0/mlflow/runs/delete", json.dumps({"run_id": run_id}).encode(), JSON_TYPE
    )
    with pytest.raises(InvalidValueError, match=r"is deleted.*restore_run"):
        call(connection, "read", runs.check_loggable, run_id)
    with pytest.raises(InvalidValueError, match="is deleted"):
        call(connection, "write", runs.reopen_run, run_id, "client-journal", 1)


def test_a_write_operation_is_never_run_by_a_read_nor_a_read_by_a_write(
    connection: ServerConnection,
) -> None:
    with pytest.raises(InvalidValueError, match="run by write, not by read"):
        call(connection, "read", experiments.create_experiment, "sneaky")
    with pytest.raises(InvalidValueError, match="run by read, not by write"):
        call(connection, "write", runs.get_run, "0" * 32)
    names = [e.name for e in call(connection, "read", experiments.list_experiments)]
    assert "sneaky" not in names


@pytest.mark.parametrize(
    ("operation", "refusal"),
    [
        ("os:system", "not a function of a module in nbtrack.store"),
        ("nbtrack.config:set_tracking_uri", "not a function of a module in nbtrack.store"),
        ("nbtrack.store.runs:_micros", "no @remote_operation mark"),
        ("nbtrack.store.runs:is_id_prefix", "no @remote_operation mark"),
        ("nbtrack.store.nothing:here", "no module"),
        ("nbtrack.store.runs:get_run.__globals__", "not a function of a module"),
        ("get_run", "not a name of the form"),
    ],
)
def test_an_operation_that_is_not_offered_is_refused_before_anything_runs(
    connection: ServerConnection, operation: str, refusal: str
) -> None:
    document = {"kind": "read", "operation": operation, "args": [], "kwargs": {}}
    with pytest.raises(InvalidValueError, match=refusal):
        _raw_call(connection, document)


@pytest.mark.parametrize(
    ("document", "refusal"),
    [
        ({"kind": "delete", "operation": "nbtrack.store.runs:get_run", "args": ["x"],
          "kwargs": {}}, "'delete' is not one of read"),
        ({"kind": "read", "operation": "nbtrack.store.runs:get_run", "args": [],
          "kwargs": {}}, "do not fit nbtrack.store.runs:get_run"),
        ({"kind": "read", "operation": "nbtrack.store.runs:get_run", "args": ["a", "b"],
          "kwargs": {}}, "do not fit"),
        ({"kind": "read", "operation": "nbtrack.store.runs:get_run", "args": [],
          "kwargs": {"run": "x"}}, "do not fit"),
        ({"kind": "read", "operation": "nbtrack.store.runs:get_run",
          "args": [{"$": "pickle", "v": "gASV"}], "kwargs": {}}, "'pickle' is not one of"),
        ({"kind": "read", "operation": "nbtrack.store.runs:get_run",
          "args": [{"$": "entity", "type": "Popen", "v": {}}], "kwargs": {}}, "'Popen'"),
        ({"kind": "read", "operation": "nbtrack.store.runs:get_run", "args": [{"a": 1}],
          "kwargs": {}}, "not in nbtrack's call format"),
        ({"kind": "read", "operation": "nbtrack.store.runs:get_run"}, "exactly kind"),
    ],
)  # fmt: skip
def test_a_malformed_call_is_refused_naming_what_is_wrong(
    connection: ServerConnection, document: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(InvalidValueError, match=refusal):
        _raw_call(connection, document)


def test_a_body_that_is_not_json_is_refused(connection: ServerConnection) -> None:
    with pytest.raises(InvalidValueError, match="not JSON"):
        connection.request("POST", CALL_PATH, b"{not json", JSON_TYPE)


def test_a_body_over_the_servers_limit_is_refused_with_413(connection: ServerConnection) -> None:
    # The server's default --max-body is 10 MB.
    body = request_body("read", "nbtrack.store.runs:get_run", ("x" * (11 * 1024 * 1024),), {})
    with pytest.raises(InvalidValueError, match="over 10485760 bytes"):
        connection.request("POST", CALL_PATH, body, JSON_TYPE)


def test_a_local_function_cannot_be_sent(connection: ServerConnection) -> None:
    @remote_operation("read")
    def closure(con: Any) -> None:
        pass

    with pytest.raises(InvalidValueError, match="only module-level store functions"):
        call(connection, "read", closure)


def test_the_call_route_needs_no_csrf_token_but_refuses_what_a_browser_sends(
    team_server: RunningServer, connection: ServerConnection
) -> None:
    body = request_body("read", "nbtrack.store.experiments:list_experiments", (), {})
    # nbtrack's client: no Origin, JSON, no token on loopback — the UI's CSRF rule would
    # refuse this POST below /nbtrack/, the exemption lets it through.
    assert connection.request("POST", CALL_PATH, body, JSON_TYPE).status == 200
    browser_like = [
        {**JSON_TYPE, "Origin": "http://evil.example"},
        {**JSON_TYPE, "Sec-Fetch-Site": "cross-site"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
    ]
    for headers in browser_like:
        with pytest.raises(ServerError, match="403"):
            connection.request("POST", CALL_PATH, body, headers)
    # The exemption is the store routes' alone: the UI's own API keeps its CSRF check.
    with pytest.raises(ServerError, match="CSRF"):
        connection.request("POST", "/nbtrack/api/runs", b"{}", JSON_TYPE)


def test_calls_carry_the_token_to_a_server_that_needs_one(tmp_path: Any) -> None:
    import os

    from nbtrack.config import ServerAddress
    from tests.mlflow_compat.conftest import start_server, stop_server

    env = {**os.environ, "NBTRACK_SERVE_TOKEN": "s3cret"}
    server = start_server(tmp_path / "nbtrack.duckdb", host="127.0.0.2", env=env)
    try:
        without = ServerConnection(ServerAddress(server.url))
        with pytest.raises(ServerError, match="NBTRACK_TOKEN"):
            call(without, "read", experiments.list_experiments)
        right = ServerConnection(ServerAddress(server.url, token="s3cret"))
        assert [e.name for e in call(right, "read", experiments.list_experiments)] == ["Default"]
        without.close(), right.close()
    finally:
        stop_server(server.process)
