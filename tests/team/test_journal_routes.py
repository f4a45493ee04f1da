"""The server's journal routes over real HTTP: an answer lost and the bytes sent again, what the
CSRF exemption lets through and what it does not, and the token."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from nbtrack.config import ServerAddress
from nbtrack.errors import InvalidValueError, ServerError
from nbtrack.store import records
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.store.remote.sender import SegmentSender, post_end, post_lines
from tests.mlflow_compat.conftest import RunningServer, start_server, stop_server
from tests.team.clients import points_per_key, statuses, wait_for

JOURNAL = "laptop-77-feedbeef"
SEGMENT_URL = "/nbtrack/store/v1/journals/{}/segments/1?offset={}"


def journal_lines(run_id: str, points: int) -> bytes:
    fields = {"experiment_id": "0", "name": run_id, "artifact_uri": "nbtrack-artifacts/0/x"}
    prefix = records.metric_prefix(run_id)
    metrics = "".join(
        records.metric_line(prefix, '"m"', float(step), step, 10 + step, step + 1)
        for step in range(points)
    )
    return (records.start_line(run_id, 10, 1, fields) + metrics).encode()


def test_a_lost_answer_makes_a_resend_that_stores_nothing_twice(
    connection: ServerConnection, tmp_path: Path
) -> None:
    store = tmp_path / "server" / "nbtrack.duckdb"
    segment = tmp_path / "00000001.ndjson"
    segment.write_bytes(journal_lines("lost", 500))
    sender = SegmentSender(connection, JOURNAL)
    assert sender.send(segment)
    # The sender never saw that answer: it starts again from what it last knew.
    sender.held[1] = 0
    assert sender.send(segment)
    appended = journal_lines("lost", 600)[segment.stat().st_size :]
    with segment.open("ab") as more:
        more.write(appended)
    again = SegmentSender(connection, JOURNAL)  # a new process taking the journal over
    assert again.send(segment)
    assert again.sent_bytes == len(appended)  # it asked first: only the new lines went
    assert wait_for(lambda: points_per_key(store) == {"m": (600, 600)})
    assert statuses(store) == {"lost": "RUNNING"}


def test_answers_carry_the_stores_stages_marker(connection: ServerConnection) -> None:
    answer = post_lines(connection, JOURNAL, 1, 0, b"")
    assert answer.held == 0
    assert not answer.complete
    assert answer.stages is None or len(answer.stages) == 3


def test_a_journal_ended_dead_ends_its_running_runs_killed(
    connection: ServerConnection, tmp_path: Path
) -> None:
    store = tmp_path / "server" / "nbtrack.duckdb"
    post_lines(connection, JOURNAL, 1, 0, journal_lines("dead", 3))
    post_end(connection, JOURNAL, True, 1_000_000)
    assert wait_for(lambda: statuses(store) == {"dead": "KILLED"})
    assert post_lines(connection, JOURNAL, 1, 0, journal_lines("dead", 3)).complete


def test_the_journal_routes_take_nbtrack_clients_and_refuse_what_a_page_could_send(
    team_server: RunningServer,
) -> None:
    url = team_server.url + SEGMENT_URL.format(JOURNAL, 0)
    ndjson = {"Content-Type": "application/x-ndjson"}
    # No Origin, no token on loopback: nbtrack's client, past the UI's CSRF check.
    taken = requests.post(url, data=journal_lines("ok", 1), headers=ndjson, timeout=10)
    assert taken.status_code == 200, taken.text
    cross_site = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    for headers in ({**cross_site, **ndjson}, {"Content-Type": "text/plain"}):
        refused = requests.post(url, data=journal_lines("page", 1), headers=headers, timeout=10)
        assert refused.status_code == 403, refused.text
        assert (
            "not for web pages" in refused.json()["message"]
            or "text/plain" in (refused.json()["message"])
        )
    wrong = requests.post(url, data=b"", headers={"Content-Type": "application/json"}, timeout=10)
    assert wrong.status_code == 400
    assert "application/x-ndjson" in wrong.json()["message"]
    held = requests.post(url, data=b"", headers=ndjson, timeout=10).json()["held"]
    assert held == len(journal_lines("ok", 1))  # nothing a page sent was written
    # The UI's own paths stay covered by the CSRF check.
    ui = requests.post(
        team_server.url + "/nbtrack/api/registry/promote", json={}, headers=cross_site, timeout=10
    )
    assert ui.status_code == 403
    assert "CSRF" in ui.json()["message"]


def test_bad_positions_come_back_as_one_clear_error(connection: ServerConnection) -> None:
    with pytest.raises(InvalidValueError, match="not a byte offset"):
        connection.request(
            "POST",
            SEGMENT_URL.format(JOURNAL, -5),
            b"",
            {"Content-Type": "application/x-ndjson"},
        )
    with pytest.raises(InvalidValueError, match="not a journal name"):
        post_lines(connection, "..", 1, 0, b"")


@pytest.fixture
def guarded_server(tmp_path: Path) -> Iterator[RunningServer]:
    folder = tmp_path / "guarded"
    folder.mkdir()
    server = start_server(folder / "nbtrack.duckdb", "--token", "s3cret")
    yield server
    stop_server(server.process)


def test_a_server_with_a_token_takes_journal_bytes_only_with_it(
    guarded_server: RunningServer,
) -> None:
    without = ServerConnection(ServerAddress(guarded_server.url))
    with pytest.raises(ServerError, match="NBTRACK_TOKEN"):
        post_lines(without, JOURNAL, 1, 0, b"")
    with_token = ServerConnection(ServerAddress(guarded_server.url, "s3cret"))
    assert post_lines(with_token, JOURNAL, 1, 0, journal_lines("t", 2)).held > 0
    without.close()
    with_token.close()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        (SEGMENT_URL.format(JOURNAL, 0), "application/x-ndjson"),
        ("/nbtrack/store/v1/call", "application/json"),
        ("/api/2.0/mlflow/runs/log-batch", "application/json"),
        ("/nbtrack/api/models/m/aliases", "application/json"),
    ],
    ids=["journal segment", "store call", "MLflow REST", "the UI"],
)
def test_a_client_that_hangs_up_mid_body_is_not_a_server_error(
    team_server: RunningServer, path: str, content_type: str
) -> None:
    # A forked child exiting as it sends: the body stops short and the connection closes.
    # The fixture fails the test if the server's log then holds a traceback.
    host, port = team_server.url.removeprefix("http://").rsplit(":", 1)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
        f"Origin: {team_server.url}\r\nContent-Length: 100000\r\n\r\n"
    )
    for _ in range(3):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(head.encode() + b'{"run_id": "a-')
            time.sleep(0.2)  # the server is reading the body when the client goes
    # The server still answers, and says nothing of an error.
    assert requests.get(team_server.url + "/health", timeout=10).status_code == 200
