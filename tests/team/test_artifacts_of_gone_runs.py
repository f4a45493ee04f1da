"""Spooled files of a run the server no longer has (purged, or deleted): the server answers 410,
the client stops sending them, keeps them on disk under ``gone/``, says so once per run, and
``nbtrack sync`` lists them — with a real ``nbtrack server``."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import pytest

from nbtrack.config import ServerAddress
from nbtrack.errors import RunGoneError
from nbtrack.store import runs
from nbtrack.store.current import current_store
from nbtrack.store.remote import artifacts
from nbtrack.store.remote.calls import call
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.store.remote.leftovers import delivered_journals
from nbtrack.store.remote.store import RemoteStore, spool_folder_for
from tests.mlflow_compat.conftest import NBTRACK, RunningServer
from tests.team.artifact_servers import server_run


def _purged_run(connection: ServerConnection) -> str:
    """A run made on the server, deleted and purged there: its place in the artifact tree."""
    folder = server_run(connection)
    body = json.dumps({"run_id": folder.split("/")[1]}).encode()
    connection.request(
        "POST", "/api/2.0/mlflow/runs/delete", body, {"Content-Type": "application/json"}
    )
    call(connection, "write_stages", runs.purge_deleted)
    return folder


def test_an_upload_for_a_purged_run_is_answered_gone(connection: ServerConnection) -> None:
    folder = _purged_run(connection)
    with pytest.raises(RunGoneError, match="purged"):
        connection.request("PUT", f"{artifacts.PROXY}/{folder}/late.txt", b"late")


def test_files_of_a_purged_run_are_kept_aside_said_once_and_not_sent_again(
    connection: ServerConnection, tmp_path: Path
) -> None:
    gone = _purged_run(connection)
    live = server_run(connection)
    spool = tmp_path / "spool"
    artifacts.spool_file(spool, f"{gone}/a.txt", lambda p: p.write_text("a"))
    artifacts.spool_file(spool, f"{live}/b.txt", lambda p: p.write_text("b"))
    artifacts.spool_file(spool, f"{gone}/c.txt", lambda p: p.write_text("c"))

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert artifacts.send_pending(connection, spool) is True
        assert artifacts.send_pending(connection, spool) is True  # nothing is retried

    run_id = gone.split("/")[1]
    assert [str(w.message) for w in said] == [
        f"run {run_id} is no longer on the server {connection.url} (deleted, or purged by "
        f"`nbtrack gc`): its 2 spooled file(s) are not sent again and are kept in "
        f"{spool / artifacts.GONE}"
    ]
    assert artifacts.pending(spool) == []
    kept = sorted((entry / "data").read_text() for entry in (spool / artifacts.GONE).iterdir())
    assert kept == ["a", "c"]
    assert list(artifacts.set_aside(spool)) == [run_id]
    # The other run's file went through in its turn.
    back = tmp_path / "b.txt"
    artifacts.download_file(connection, f"{live}/b.txt", back)
    assert back.read_text() == "b"


def test_a_gone_answer_only_waits_while_the_journal_that_spooled_the_file_is_undelivered(
    connection: ServerConnection, tmp_path: Path
) -> None:
    folder = _purged_run(connection)
    spool = tmp_path / "spool"
    journals = tmp_path / "journals"
    (journals / "laptop-1-aaaa").mkdir(parents=True)  # another process's journal, live
    artifacts.spool_file(spool, f"{folder}/a.txt", lambda p: p.write_text("a"), "laptop-1-aaaa")
    delivered = delivered_journals(journals, "laptop-2-bbbb")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert artifacts.send_pending(connection, spool, delivered) is False
    assert len(artifacts.pending(spool)) == 1
    assert not (spool / artifacts.GONE).exists()

    # That process ended with everything sent: its folder is gone, and so is the run.
    (journals / "laptop-1-aaaa").rmdir()
    with pytest.warns(UserWarning, match="is no longer on the server"):
        assert artifacts.send_pending(connection, spool, delivered) is True
    assert artifacts.pending(spool) == []


def test_a_file_this_process_spooled_is_set_aside_though_another_process_is_live(
    connection: ServerConnection, tmp_path: Path
) -> None:
    folder = _purged_run(connection)
    spool = tmp_path / "spool"
    journals = tmp_path / "journals"
    (journals / "laptop-1-aaaa").mkdir(parents=True)  # another kernel of the project
    artifacts.spool_file(spool, f"{folder}/a.txt", lambda p: p.write_text("a"), "laptop-2-bbbb")

    with pytest.warns(UserWarning, match="is no longer on the server"):
        assert artifacts.send_pending(
            connection, spool, delivered_journals(journals, "laptop-2-bbbb")
        )
    assert artifacts.pending(spool) == []


def test_a_client_stops_retrying_the_files_of_a_purged_run(
    on_server: RunningServer, connection: ServerConnection
) -> None:
    folder = _purged_run(connection)
    store = current_store()
    assert isinstance(store, RemoteStore)
    artifacts.spool_file(store.artifact_spool, f"{folder}/a.txt", lambda p: p.write_text("a"))

    with pytest.warns(UserWarning, match="is no longer on the server"):
        assert store.send_artifacts() is True

    assert not store._has_pending()
    assert (next((store.artifact_spool / artifacts.GONE).iterdir()) / "data").read_text() == "a"


def test_nbtrack_sync_lists_the_files_of_a_purged_run(
    team_server: RunningServer, connection: ServerConnection, tmp_path: Path
) -> None:
    folder = _purged_run(connection)
    project = tmp_path / "project"
    project.mkdir()
    spool = spool_folder_for(ServerAddress(team_server.url), project) / "artifacts"
    artifacts.spool_file(spool, f"{folder}/a.txt", lambda p: p.write_text("a"))

    for _ in range(2):  # reported each time, never deleted
        done = subprocess.run(
            [*NBTRACK, "sync", "--uri", team_server.url],
            cwd=project, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"1 file(s) of run {folder.split('/')[1]} not taken by the server" in done.stdout
        assert str(spool / artifacts.GONE) in done.stdout
    assert (next((spool / artifacts.GONE).iterdir()) / "data").read_text() == "a"


def test_a_run_that_took_files_refuses_the_next_once_it_is_deleted(
    connection: ServerConnection,
) -> None:
    # The server keeps a run found loggable while its store is unchanged: the delete in
    # between must be seen, and the restore after it.
    folder = server_run(connection)
    connection.request("PUT", f"{artifacts.PROXY}/{folder}/first.txt", b"first")
    body = json.dumps({"run_id": folder.split("/")[1]}).encode()
    headers = {"Content-Type": "application/json"}
    connection.request("POST", "/api/2.0/mlflow/runs/delete", body, headers)
    with pytest.raises(RunGoneError, match="deleted"):
        connection.request("PUT", f"{artifacts.PROXY}/{folder}/second.txt", b"second")
    connection.request("POST", "/api/2.0/mlflow/runs/restore", body, headers)
    connection.request("PUT", f"{artifacts.PROXY}/{folder}/third.txt", b"third")
    listed = artifacts.list_files(connection, folder)
    assert sorted(entry["path"] for entry in listed) == ["first.txt", "third.txt"]
