"""A server's mirrors of its clients' journals, on a real store file: bytes written at their
offset once, ingested once, and runs KILLED only when the client says its process died."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbtrack.errors import InvalidValueError
from nbtrack.store import mirrors, records
from nbtrack.store.store import get_store
from tests.conftest import raw_connection

JOURNAL = "laptop-4242-0a1b2c3d"


def lines(run_id: str, first: int, count: int) -> bytes:
    prefix = records.metric_prefix(run_id)
    return "".join(
        records.metric_line(prefix, '"loss"', step * 0.5, step, 1_000 + step, step + 1)
        for step in range(first, first + count)
    ).encode()


def start(run_id: str) -> bytes:
    fields = {"experiment_id": "0", "name": "remote", "artifact_uri": "nbtrack-artifacts/0/x"}
    return records.start_line(run_id, 1_000, 1, fields).encode()


def stored(store_path: Path) -> tuple[list[tuple[object, ...]], int]:
    get_store(store_path).flush()
    with raw_connection(store_path, read_only=True) as con:
        runs = con.execute("SELECT run_id, status, end_time FROM runs").fetchall()
        (points,) = con.execute("SELECT count(*) FROM metrics").fetchone() or (0,)
    return runs, points


def test_bytes_sent_again_at_the_same_offset_are_held_once(store_path: Path) -> None:
    first = start("r1") + lines("r1", 0, 10)
    held = mirrors.receive(store_path, JOURNAL, 1, 0, first)
    assert held == mirrors.Held(len(first))
    # The answer was lost: the client sends the same bytes, and then the next ones.
    assert mirrors.receive(store_path, JOURNAL, 1, 0, first) == mirrors.Held(len(first))
    more = lines("r1", 10, 5)
    assert mirrors.receive(store_path, JOURNAL, 1, 0, first + more).bytes == len(first + more)
    runs, points = stored(store_path)
    assert points == 15
    assert runs[0][1] == "RUNNING"


def test_an_offset_past_the_end_writes_nothing_and_says_where_to_resume(
    store_path: Path,
) -> None:
    data = start("r1")
    mirrors.receive(store_path, JOURNAL, 1, 0, data)
    assert mirrors.receive(store_path, JOURNAL, 1, len(data) + 7, lines("r1", 0, 1)) == (
        mirrors.Held(len(data))
    )
    assert mirrors.receive(store_path, JOURNAL, 1, 0, b"") == mirrors.Held(len(data))


def test_other_bytes_at_a_held_offset_are_refused(store_path: Path) -> None:
    mirrors.receive(store_path, JOURNAL, 1, 0, start("r1"))
    with pytest.raises(InvalidValueError, match="already holds other bytes"):
        mirrors.receive(store_path, JOURNAL, 1, 0, start("r2"))


@pytest.mark.parametrize(
    ("journal", "segment", "offset", "data", "message"),
    [
        ("../escape", 1, 0, b"", "not a journal name"),
        (".hidden", 1, 0, b"", "not a journal name"),
        (JOURNAL, 0, 0, b"", "not a segment number"),
        (JOURNAL, 1, -1, b"", "not a byte offset"),
        (JOURNAL, 1, 0, b'{"k":"m"', "whole journal lines"),
    ],
)
def test_bad_positions_and_names_are_refused_naming_the_value(
    store_path: Path, journal: str, segment: int, offset: int, data: bytes, message: str
) -> None:
    with pytest.raises(InvalidValueError, match=message):
        mirrors.receive(store_path, journal, segment, offset, data)
    assert not any(store_path.parent.glob(".*.mirrors/*"))


def test_a_mirror_outlives_the_server_and_ends_killed_only_when_its_client_says_so(
    store_path: Path,
) -> None:
    mirrors.receive(store_path, JOURNAL, 1, 0, start("r1") + lines("r1", 0, 3))
    runs, _ = stored(store_path)
    # No lock is held on a mirror (its server may have been killed): still RUNNING.
    assert runs == [("r1", "RUNNING", None)]
    mirrors.end(store_path, JOURNAL, dead=True, heartbeat_us=5_000)
    runs, points = stored(store_path)
    assert runs == [("r1", "KILLED", 5_000)]
    assert points == 3
    assert not (store_path.parent / f".{store_path.name}.mirrors" / JOURNAL).exists()
    # A late resend after the end is answered "all held" and starts no new mirror.
    assert mirrors.receive(store_path, JOURNAL, 1, 0, start("r1")).complete
    assert not (store_path.parent / f".{store_path.name}.mirrors" / JOURNAL).exists()


def test_a_journal_ended_cleanly_leaves_its_runs_as_their_records_say(store_path: Path) -> None:
    data = start("r1") + records.end_line("r1", "FINISHED", None, 2_000, 9).encode()
    mirrors.receive(store_path, JOURNAL, 1, 0, data)
    mirrors.receive(store_path, JOURNAL, 2, 0, start("r2"))
    mirrors.end(store_path, JOURNAL, dead=False, heartbeat_us=3_000)
    runs, _ = stored(store_path)
    assert sorted(runs) == [("r1", "FINISHED", 2_000), ("r2", "RUNNING", None)]


def test_a_closed_segment_is_deleted_once_ingested_and_later_resends_are_complete(
    store_path: Path,
) -> None:
    mirrors.receive(store_path, JOURNAL, 1, 0, start("r1"))
    mirrors.receive(store_path, JOURNAL, 2, 0, lines("r1", 0, 2))
    stored(store_path)
    folder = store_path.parent / f".{store_path.name}.mirrors" / JOURNAL
    assert sorted(path.name for path in folder.glob("*.ndjson")) == ["00000002.ndjson"]
    assert mirrors.receive(store_path, JOURNAL, 1, 0, start("r1")).complete
    _, points = stored(store_path)
    assert points == 2


def test_nbtrack_doctor_on_the_servers_store_leaves_a_live_clients_run_running(
    store_path: Path,
) -> None:
    from nbtrack.store.doctor import examine

    mirrors.receive(store_path, JOURNAL, 1, 0, start("r1"))
    examine(store_path)
    runs, _ = stored(store_path)
    assert runs == [("r1", "RUNNING", None)]
