"""Faults of the store and of journals: each says what happened, and nothing logged is lost or
set aside for a fault that is not its own (real store files, real processes, a real small disk).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import nbtrack
from nbtrack.store import store as store_module
from nbtrack.store.journal import journal_root

BLOCK_SIZE = 262_144
FILE_HEADERS = 3 * 4096


def _damage_table(path: Path, table: str) -> None:
    """Overwrite 4 KiB in the middle of a block that ``table`` keeps its data in, as a failing
    disk would: the block's checksum no longer matches."""
    store_module.close_all()
    with duckdb.connect(str(path), read_only=True) as con:
        (block,) = con.execute(
            "SELECT min(block_id) FROM pragma_storage_info(?) WHERE block_id >= 0", [table]
        ).fetchone() or (None,)
    assert block is not None, f"{table} keeps no data in a block"
    with path.open("r+b") as handle:
        handle.seek(FILE_HEADERS + block * BLOCK_SIZE + BLOCK_SIZE // 2)
        handle.write(os.urandom(4096))


def _store_with_runs(count: int = 50) -> list[str]:
    ids = []
    for n in range(count):
        with nbtrack.start_run() as run:
            nbtrack.log_params({f"p{j}": j for j in range(5)})
            for step in range(20):
                nbtrack.log_metric("loss", n + step / 100, step=step)
        ids.append(run.id)
    nbtrack.flush()
    return ids


def _segments(store_path: Path) -> list[Path]:
    # Journal folders only: an ingestion in flight keeps copies in a dot-folder beside them.
    return sorted(
        path
        for path in journal_root(store_path).glob("*/*.ndjson")
        if not path.parent.name.startswith(".")
    )


# -- a damaged store -------------------------------------------------------------------------------


def test_a_damaged_store_says_so_and_keeps_every_journal_line(store_path: Path) -> None:
    _store_with_runs()
    _damage_table(store_path, "runs")
    with nbtrack.start_run() as run:
        for step in range(100):
            nbtrack.log_metric("x", float(step), step=step)
    with pytest.raises(nbtrack.StoreCorruptError, match="is damaged") as excinfo:
        nbtrack.flush()
    message = str(excinfo.value)
    assert "checksum" in message and "nbtrack doctor" in message
    # Nothing was set aside: the journal still holds the run's 100 points and its end.
    lines = [line for path in _segments(store_path) for line in path.read_text().splitlines()]
    assert sum(json.loads(line)["k"] == "m" for line in lines) == 100
    assert any(json.loads(line) == {**json.loads(line), "k": "end", "r": run.id} for line in lines)
    assert not (journal_root(store_path) / ".rejected").exists()
    assert not list(journal_root(store_path).glob("*.unreadable"))


def test_a_read_of_a_damaged_store_names_the_damage_not_a_raw_io_error(store_path: Path) -> None:
    _store_with_runs()
    _damage_table(store_path, "runs")
    with pytest.raises(nbtrack.StoreCorruptError, match="is damaged"):
        nbtrack.search_runs()


WRITER = textwrap.dedent(
    """
    import sys
    import nbtrack
    from nbtrack.store import flusher

    flusher.Flusher._loop = lambda self: None  # the lines stay in the journal until read
    run = nbtrack.start_run(name="writer")
    for i in range(int(sys.argv[1])):
        nbtrack.log_metric("x", float(i), step=i)
    print(run.id, flush=True)
    sys.stdin.readline()
    """
)


def _waiting_writer(env: dict[str, str], points: int) -> tuple[subprocess.Popen[str], str]:
    """A process that logged ``points`` into a run and waits, its lines in its journal."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(points)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stderr is not None
    run_id = writer.stdout.readline().strip()
    assert run_id, writer.stderr.read()
    return writer, run_id


def _kill(writer: subprocess.Popen[str]) -> None:
    os.kill(writer.pid, signal.SIGKILL)
    writer.communicate(timeout=30)


def _killed_writer(env: dict[str, str], points: int) -> str:
    writer, run_id = _waiting_writer(env, points)
    _kill(writer)
    return run_id


def test_a_dead_process_s_journal_is_not_set_aside_for_a_damaged_store(
    store_path: Path, child_env: dict[str, str]
) -> None:
    _store_with_runs()
    # The writer logs while the store is whole: the damaged block may also hold another
    # table's data (DuckDB packs small segments together), which its start would read.
    writer, run_id = _waiting_writer(child_env, 300)
    _damage_table(store_path, "runs")
    _kill(writer)
    for _ in range(2):  # a second process would once have quarantined the good journal
        with pytest.raises(nbtrack.StoreCorruptError):
            nbtrack.flush()
    segments = [path for path in _segments(store_path) if path.read_text().count(run_id)]
    assert sum(path.read_text().count('"k":"m"') for path in segments) == 300
    assert not list(journal_root(store_path).glob("*.unreadable"))


def test_doctor_reports_a_damaged_store_says_what_to_do_and_exits_non_zero(
    store_path: Path, child_env: dict[str, str]
) -> None:
    _store_with_runs()
    _damage_table(store_path, "latest_metrics")
    before = store_path.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", "doctor"],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[ERROR]" in done.stdout and "latest_metrics" in done.stdout
    assert "restore" in done.stdout and "Traceback" not in done.stderr
    assert store_path.read_bytes() == before  # a damaged store is left as it is


def test_doctor_passes_a_healthy_store_after_reading_every_block(
    store_path: Path, child_env: dict[str, str]
) -> None:
    _store_with_runs(5)
    store_module.close_all()
    done = subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", "doctor"],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "every block of the" in done.stdout


# -- bad lines in journals -----------------------------------------------------------------------


def test_one_bad_line_of_a_killed_process_loses_only_that_line_and_the_run_ends_killed(
    store_path: Path, child_env: dict[str, str]
) -> None:
    nbtrack.list_experiments()  # creates the store
    run_id = _killed_writer(child_env, 1000)
    (segment,) = [path for path in _segments(store_path) if run_id in path.read_text()]
    lines = segment.read_bytes().splitlines(keepends=True)
    bad = next(n for n, line in enumerate(lines) if b'"s":500,' in line)
    offset = sum(len(line) for line in lines[:bad])
    lines[bad] = b'{"k":"m","r":' + b"\x00" * 20 + b"\n"
    segment.write_bytes(b"".join(lines))

    run = nbtrack.get_run(run_id)
    assert run.status == "KILLED"
    steps = nbtrack.get_metric_history(run_id, "x")["step"].tolist()
    assert steps == [step for step in range(1000) if step != 500]
    (rejected,) = (journal_root(store_path) / ".rejected").glob("*.ndjson")
    (record,) = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert record["offset"] == offset
    assert record["line"].startswith('{"k":"m","r":')


def test_a_bad_line_in_this_process_s_own_journal_does_not_wedge_it(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("x", 1.0, step=0)
        nbtrack.flush()
        (segment,) = _segments(store_path)
        with segment.open("ab") as handle:  # as a bad sector or a stray write would
            handle.write(b'{"k":"m","r":"broken","v":"one"}\n')
        nbtrack.log_metric("x", 2.0, step=1)
        with caplog.at_level(logging.WARNING, "nbtrack"):
            assert nbtrack.get_metric_history(run.id, "x")["value"].tolist() == [1.0, 2.0]
        nbtrack.log_metric("x", 3.0, step=2)
    assert nbtrack.get_metric_history(run.id, "x")["value"].tolist() == [1.0, 2.0, 3.0]
    assert nbtrack.get_run(run.id).status == "FINISHED"
    assert caplog.text.count("not records") == 1


# -- a full disk ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs, mounted for the test (the test suite runs as root, as CI does)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        store_module.close_all()
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65_536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_says_so_keeps_the_journal_and_recovers_once_space_is_freed(
    store_path: Path, small_disk: Path
) -> None:
    nbtrack.set_tracking_uri(small_disk / "nbtrack.duckdb")
    _store_with_runs(5)
    with nbtrack.start_run() as run:
        for step in range(2000):
            nbtrack.log_metric("x", float(step), step=step)
    filler = _fill(small_disk)
    with pytest.raises(nbtrack.StoreFullError, match="full") as excinfo:
        nbtrack.flush()
    assert "Nothing logged is lost" in str(excinfo.value)
    # A call that cannot be written says so; it was never acknowledged.
    with pytest.raises(nbtrack.StoreFullError, match="this call was not recorded"):
        _log_until_the_journal_is_full()
    filler.unlink()
    assert nbtrack.get_metric_history(run.id, "x")["step"].tolist() == list(range(2000))
    assert nbtrack.get_run(run.id).status == "FINISHED"


def _log_until_the_journal_is_full() -> None:
    run = nbtrack.start_run()
    for step in range(1_000_000):
        run.log_metric("y", float(step), step=step)


def test_a_journal_folder_removed_under_a_live_process_stops_its_heartbeat_quietly(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with nbtrack.start_run():
        nbtrack.log_metric("m", 1.0)
    store = store_module.get_store(store_path)
    store.flush()
    shutil.rmtree(journal_root(store_path))
    with caplog.at_level(logging.WARNING, logger="nbtrack"):
        store.journal.heartbeat()
    assert not journal_root(store_path).exists()
    assert caplog.records == []
