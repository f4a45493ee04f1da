"""A server answers a run it was just asked for again without opening DuckDB while the store is
unchanged, and never gives an answer older than a change: with a real ``nbtrack server``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbtrack
from nbtrack.entities import Run
from nbtrack.store import runs, search
from nbtrack.store.remote.calls import call, request_body
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.store.store import close_all, get_store
from nbtrack.web.store_api.read_answers import CACHED, ReadAnswers
from tests.mlflow_compat.conftest import RunningServer
from tests.team.artifact_servers import server_run

JSON_TYPE = {"Content-Type": "application/json"}


def _server_store(server: RunningServer) -> Path:
    return Path(server.process.args[server.process.args.index("--store") + 1])


def _hold_the_store(path: Path) -> subprocess.Popen[str]:
    """Another process holding the store's write lock: no DuckDB open can happen meanwhile."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
         "print('holding', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def test_a_run_asked_for_again_is_answered_without_opening_the_store(
    team_server: RunningServer, connection: ServerConnection
) -> None:
    run_id = server_run(connection).split("/")[1]
    first = call(connection, "read", runs.get_run, run_id)
    holder = _hold_the_store(_server_store(team_server))
    try:
        again = call(connection, "read", runs.get_run, run_id)
    finally:
        holder.kill()
        holder.communicate(timeout=30)
    assert isinstance(again, Run) and again == first


def test_a_change_is_seen_by_the_next_read(
    team_server: RunningServer, connection: ServerConnection
) -> None:
    run_id = server_run(connection).split("/")[1]
    assert call(connection, "read", runs.get_run, run_id).tags.get("team") is None
    # A synchronous write (MLflow's REST API) and then a line through a client's journal.
    body = json.dumps({"run_id": run_id, "key": "team", "value": "a"}).encode()
    connection.request("POST", "/api/2.0/mlflow/runs/set-tag", body, JSON_TYPE)
    assert call(connection, "read", runs.get_run, run_id).tags["team"] == "a"


def test_a_metric_logged_by_a_client_is_in_its_next_get_run(on_server: RunningServer) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("loss", 1.0)
        assert nbtrack.get_run(run.id).metrics == {"loss": 1.0}
        assert nbtrack.get_run(run.id).metrics == {"loss": 1.0}
        nbtrack.log_metric("loss", 0.5)
        assert nbtrack.get_run(run.id).metrics == {"loss": 0.5}
    assert nbtrack.get_run(run.id).status == "FINISHED"


def test_only_reads_of_the_rows_alone_are_kept(store_path: Path) -> None:
    store = get_store(store_path)
    try:
        with nbtrack.start_run() as run:
            nbtrack.log_metric("m", 1.0)
        store.flush()
        answers = ReadAnswers(store)
        made: list[str] = []

        def answered(operation: Callable[..., object], *args: object) -> bytes:
            name = f"{operation.__module__}:{operation.__name__}"
            body = request_body("read", name, args, {})

            def run_it() -> bytes:
                made.append(name)
                return b"answer"

            return answers.answer("read", name, body, run_it)

        for _ in range(3):
            answered(runs.get_run, run.id)
            answered(search.search_runs, ["0"])
        assert made.count("nbtrack.store.runs:get_run") == 1
        # A search computes running runs' durations from the clock: never kept.
        assert made.count("nbtrack.store.search:search_runs") == 3
        assert "nbtrack.store.search:search_runs" not in CACHED
        # A change anywhere in the store: made again.
        with nbtrack.start_run():
            nbtrack.log_metric("m", 2.0)
        store.flush()
        answered(runs.get_run, run.id)
        assert made.count("nbtrack.store.runs:get_run") == 2
    finally:
        close_all()
