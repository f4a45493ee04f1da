"""A run's duration is the time its code ran: the sum of its spans (start or reopen → end),
whoever ends them (the run itself, a dead owner found later, ``nbtrack doctor``), counted once
however often the journal is ingested."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import duckdb
import pytest

import nbtrack
from nbtrack.entities import format_duration
from nbtrack.store import gateway, records
from nbtrack.store.journal import journal_root
from nbtrack.store.schema import SCHEMA_VERSION
from nbtrack.store.store import get_store
from nbtrack.tracking.run_table import RunTableState
from tests.conftest import raw_connection

PAUSE_S = 0.4


def test_reopening_a_run_later_adds_only_the_reopened_time_to_its_duration(
    store_path: Path,
) -> None:
    with nbtrack.start_run(name="trained") as run:
        time.sleep(0.05)
    first = nbtrack.get_run(run.id).duration
    assert first is not None
    time.sleep(PAUSE_S)  # the data scientist looks at the results before logging the model
    with nbtrack.start_run(run_id=run.id):
        time.sleep(0.05)

    reopened = nbtrack.get_run(run.id)
    assert reopened.status == "FINISHED"
    assert len(reopened.spans) == 2
    assert all(span.end_time is not None for span in reopened.spans)
    assert reopened.duration is not None
    assert reopened.duration == sum(
        ((s.end_time - s.start_time) for s in reopened.spans if s.end_time), dt.timedelta(0)
    )
    assert first + dt.timedelta(seconds=0.05) <= reopened.duration
    assert reopened.duration < dt.timedelta(seconds=PAUSE_S)
    # The wall time from first start to last end still includes the pause.
    assert reopened.end_time is not None
    assert reopened.end_time - reopened.start_time > dt.timedelta(seconds=PAUSE_S)


def test_search_runs_and_the_run_table_show_the_active_time_of_a_reopened_run(
    store_path: Path,
) -> None:
    with nbtrack.start_run(name="trained") as run:
        time.sleep(0.02)
    time.sleep(PAUSE_S)
    with nbtrack.start_run(run_id=run.id):
        pass
    duration = nbtrack.get_run(run.id).duration
    assert duration is not None

    frame = nbtrack.search_runs()
    assert frame.loc[0, "duration"] == pytest.approx(duration.total_seconds(), abs=1e-6)
    assert frame.loc[0, "duration"] < PAUSE_S
    row = RunTableState().page_rows()[0]
    assert row["duration"] == format_duration(duration)  # the active time, with its unit


def test_a_running_run_counts_its_open_span_until_now(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.flush()
        time.sleep(0.05)
        snapshot = nbtrack.get_run(run.id)
        assert snapshot.spans[-1].end_time is None
        assert snapshot.duration is not None
        assert snapshot.duration >= dt.timedelta(seconds=0.05)
        assert nbtrack.search_runs().loc[0, "duration"] >= 0.05


def test_a_run_reopened_while_another_process_has_it_open_ends_that_span_where_its_own_begins(
    store_path: Path,
) -> None:
    with nbtrack.start_run() as run:
        pass
    # Another process reopened the run and still holds it: its reopen opened a span.
    _write(
        store_path,
        ("UPDATE runs SET status = 'RUNNING', end_time = NULL, owner = 'other' "
         "WHERE run_id = ?", [run.id]),
        ("INSERT INTO run_spans VALUES (?, ?, NULL)", [run.id, time.time_ns() // 1000]),
    )  # fmt: skip
    time.sleep(0.02)
    with nbtrack.start_run(run_id=run.id):
        pass
    spans = nbtrack.get_run(run.id).spans
    assert len(spans) == 3
    assert all(span.end_time is not None for span in spans)
    assert spans[1].end_time == spans[2].start_time


def _write(store_path: Path, *statements: tuple[str, list[object]]) -> None:
    """Change the store as another process (or a damaged file) would have left it."""

    def change(con: duckdb.DuckDBPyConnection) -> None:
        for sql, params in statements:
            con.execute(sql, params)

    get_store(store_path).write(change)


def _dead_journal(store_path: Path, name: str, lines: list[str]) -> None:
    """A journal as a process killed with -9 leaves it: unlocked, its segment in place."""
    folder = journal_root(store_path) / name
    folder.mkdir(parents=True)
    (folder / "lock").touch()
    (folder / "00000001.ndjson").write_text("".join(lines), encoding="utf-8")


def _start_and_end(run_id: str, start: int, end: int | None) -> list[str]:
    nbtrack.set_experiment("Default")  # the experiment exists before the records name it
    fields = {
        "experiment_id": "0",
        "name": "ghost",
        "artifact_uri": f"nbtrack-artifacts/0/{run_id}/artifacts",
    }
    lines = [records.start_line(run_id, start, 1, fields)]
    if end is not None:
        lines.append(records.end_line(run_id, "FINISHED", None, end, 2))
    return lines


def test_a_run_killed_with_its_process_has_its_span_closed_at_its_last_sign_of_life(
    store_path: Path,
) -> None:
    run_id = "ab" * 16
    start = 1_700_000_000_000_000
    lines = _start_and_end(run_id, start, None)
    prefix = records.metric_prefix(run_id)
    lines.append(records.metric_line(prefix, '"loss"', 0.5, 0, start + 3_000_000, 1))
    _dead_journal(store_path, "ghost-1-0000aaaa", lines)

    run = nbtrack.get_run(run_id)
    assert run.status == "KILLED"
    assert run.end_time is not None
    assert [span.end_time for span in run.spans] == [run.end_time]
    assert run.duration == run.end_time - run.start_time


def test_the_same_start_and_end_ingested_twice_leave_one_closed_span(store_path: Path) -> None:
    run_id = "cd" * 16
    start = 1_700_000_000_000_000
    lines = _start_and_end(run_id, start, start + 2_000_000)
    _dead_journal(store_path, "ghost-1-0000aaaa", lines)
    nbtrack.flush()
    # A copy of the same records under another journal: past the journal-position check.
    _dead_journal(store_path, "ghost-2-0000bbbb", lines)
    nbtrack.flush()

    run = nbtrack.get_run(run_id)
    assert run.status == "FINISHED"
    assert len(run.spans) == 1
    assert run.duration == dt.timedelta(seconds=2)


def test_a_store_of_schema_5_gets_one_span_per_run_when_it_is_migrated(store_path: Path) -> None:
    with nbtrack.start_run(name="old") as finished:
        time.sleep(0.01)
    running = nbtrack.start_run(name="still-going")
    nbtrack.flush()
    with raw_connection(store_path) as con:
        con.execute("DROP TABLE run_spans")
        con.execute("UPDATE nbtrack_meta SET value = '5' WHERE key = 'schema_version'")

    old = nbtrack.get_run(finished.id)
    assert old.end_time is not None
    assert old.spans and old.spans[0].start_time == old.start_time
    assert old.duration == old.end_time - old.start_time
    assert nbtrack.get_run(running.id).spans[0].end_time is None
    running.end()
    nbtrack.flush()
    with gateway.connect(store_path, read_only=True) as con:
        version = con.execute(
            "SELECT value FROM nbtrack_meta WHERE key = 'schema_version'"
        ).fetchone()
        assert version == (str(SCHEMA_VERSION),)
        assert con.execute("SELECT count(*) FROM run_spans").fetchone() == (2,)


def test_doctor_closes_the_span_of_a_run_whose_owner_is_gone(store_path: Path) -> None:
    from nbtrack.store.doctor import _end_orphaned_runs

    with nbtrack.start_run() as run:
        pass
    _write(
        store_path,
        ("UPDATE runs SET status = 'RUNNING', end_time = NULL, owner = NULL WHERE run_id = ?",
         [run.id]),
        ("UPDATE run_spans SET end_time = NULL WHERE run_id = ?", [run.id]),
    )  # fmt: skip
    ended = get_store(store_path).write(_end_orphaned_runs, journal_root(store_path))
    assert ended == [run.id]
    got = nbtrack.get_run(run.id)
    assert got.status == "KILLED"
    assert [span.end_time for span in got.spans] == [got.end_time]


def test_spans_are_public_in_sql_and_go_with_a_purged_run(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        pass
    spans = nbtrack.sql("SELECT run_id, end_time - start_time AS took FROM run_spans")
    assert list(spans["run_id"]) == [run.id]
    nbtrack.delete_run(run.id)
    from nbtrack.tracking import manage

    manage.gc()
    assert nbtrack.sql("SELECT count(*) AS n FROM run_spans")["n"].tolist() == [0]
