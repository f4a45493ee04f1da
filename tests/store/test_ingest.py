"""Journal ingestion: exactly once, whole lines only, and never stalled by one bad journal."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.errors import StoreBusyError
from nbtrack.store import gateway, records
from nbtrack.store.journal import journal_root
from nbtrack.store.store import get_store
from tests.conftest import raw_connection


def _fake_dead_journal(store_path: Path, run_id: str, lines: list[str], name: str) -> Path:
    """A journal folder as a process killed with -9 leaves it: unlocked, segments in place."""
    folder = journal_root(store_path) / name
    folder.mkdir(parents=True)
    (folder / "lock").touch()
    (folder / "00000001.ndjson").write_text("".join(lines), encoding="utf-8")
    return folder


def _points(run_id: str, count: int, start: int = 0) -> list[str]:
    prefix = records.metric_prefix(run_id)
    return [
        records.metric_line(prefix, '"y"', float(i), i, 1_700_000_000_000_000 + i, 10_000 + i)
        for i in range(start, start + count)
    ]


def test_a_segment_replayed_after_a_crash_before_its_deletion_is_not_duplicated(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with nbtrack.start_run() as run:
        pass
    folder = _fake_dead_journal(store_path, run.id, _points(run.id, 100), "ghost-1-0000aaaa")
    store = get_store(store_path)
    # As if the ingesting process died after COMMIT but before removing the files.
    with monkeypatch.context() as patch:
        patch.setattr("nbtrack.store.journal.shutil.rmtree", lambda *a, **k: None)
        store.flush()
    assert folder.exists()
    assert len(nbtrack.get_metric_history(run.id, "y")) == 100
    assert store.flush().records == 0
    assert not folder.exists()
    assert len(nbtrack.get_metric_history(run.id, "y")) == 100


def test_a_half_written_last_line_of_a_dead_process_is_dropped_and_the_rest_kept(
    store_path: Path,
) -> None:
    with nbtrack.start_run() as run:
        pass
    lines = _points(run.id, 10)
    cut = lines[-1][: len(lines[-1]) // 2]
    _fake_dead_journal(store_path, run.id, [*lines[:-1], cut], "ghost-2-0000bbbb")
    get_store(store_path).flush()
    assert nbtrack.get_metric_history(run.id, "y")["step"].tolist() == list(range(9))


def test_an_unreadable_line_of_a_dead_journal_is_set_aside_and_does_not_block_this_process(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with nbtrack.start_run() as run:
        pass
    folder = _fake_dead_journal(store_path, run.id, ["{not json at all\n"], "ghost-3-0000cccc")
    with nbtrack.start_run(run_id=run.id) as reopened, caplog.at_level(logging.WARNING, "nbtrack"):
        reopened.log_metric("z", 1.0)
    assert nbtrack.get_run(run.id).metrics == {"z": 1.0}
    # Only the bad line is set aside (with its offset); the journal itself is done with.
    rejected = journal_root(store_path) / ".rejected" / "ghost-3-0000cccc-00000001-0.ndjson"
    assert [json.loads(line) for line in rejected.read_text().splitlines()] == [
        {"offset": 0, "line": "{not json at all"}
    ]
    assert not folder.exists()
    assert "set aside" in caplog.text


def test_nan_and_infinities_survive_the_journal_exactly(store_path: Path) -> None:
    values = [float("nan"), float("inf"), float("-inf"), 0.1, -0.0, 1e-310, 1.7976931348623157e308]
    with nbtrack.start_run() as run:
        for value in values:
            nbtrack.log_metric("v", value)
    got = nbtrack.get_metric_history(run.id, "v")["value"].tolist()
    assert [repr(v) for v in got] == [repr(v) for v in values]


def test_a_reader_waits_while_another_process_holds_the_lock(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("m", 1.0)
    # This process's flusher may still be ingesting the run's end: the holder takes the lock
    # once it is free, as any other process would.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, time
                while True:
                    try:
                        con = duckdb.connect({str(store_path)!r})
                        break
                    except duckdb.IOException:
                        time.sleep(0.01)
                print("holding", flush=True)
                time.sleep(1.5)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"
    with nbtrack.start_run(run_id=run.id):
        nbtrack.log_metric("m", 2.0)  # the end flush waits for the holder to let go
    started = time.monotonic()
    assert nbtrack.get_run(run.id).metrics == {"m": 2.0}
    holder.communicate(timeout=30)
    assert time.monotonic() - started < 30


def test_a_lock_held_past_the_deadline_raises_store_busy_naming_the_holder(
    store_path: Path,
) -> None:
    nbtrack.list_experiments()  # creates the store
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(store_path)!r}); "
            "print('holding', flush=True); time.sleep(3)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    holder.stdout.readline()
    with (
        pytest.raises(StoreBusyError, match=rf"PID {holder.pid}"),
        gateway.connect(store_path, deadline_s=0.3),
    ):
        pass
    holder.communicate(timeout=30)


def test_ingested_segments_are_bookkept_until_their_journal_is_gone(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("m", 1.0)
    _fake_dead_journal(store_path, run.id, _points(run.id, 5), "ghost-4-0000dddd")
    get_store(store_path).flush()
    with nbtrack.start_run(run_id=run.id):
        nbtrack.log_metric("m", 2.0)  # the next batch, when the dead journal's folder is gone
    with raw_connection(store_path, read_only=True) as con:
        journals = {j for (j,) in con.execute("SELECT journal FROM journal_segments").fetchall()}
    assert "ghost-4-0000dddd" not in journals
