"""Moving journal records into the store, in batches, exactly once.

``ingest_pending`` is the one entry, called under the store's write lock. It takes the segments
``segments.scan`` finds — this process's closed ones, every dead process's journal and, for a
reader, the complete lines other live processes have appended so far — and in one transaction
brings in the bytes the store does not hold yet, records how far each segment now is, and
marks the runs of dead processes KILLED. A line is therefore stored once whichever process
ingests it, and a replay after a crash between commit and cleanup changes nothing. DuckDB's own
``read_json`` parses the lines in C++ and keeps NaN and ±Infinity.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.errors import StoreError
from nbtrack.store import batch, segments
from nbtrack.store.journal import SEGMENT_SUFFIX, Journal, journal_root
from nbtrack.store.segments import Chunk, DeadJournal, Segment

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger("nbtrack")

Stored = dict[tuple[str, int], "int | None"]


@dataclass
class IngestResult:
    records: int = 0
    segments: int = 0
    dead_journals: int = 0
    killed_runs: int = 0

    def add(self, other: IngestResult) -> None:
        self.records += other.records
        self.segments += other.segments
        self.dead_journals += other.dead_journals
        self.killed_runs += other.killed_runs


def ingest_pending(
    con: duckdb.DuckDBPyConnection, journal: Journal, store_path: Path
) -> IngestResult:
    """Bring everything every journal holds into the store: this process's records, what other
    live processes have logged so far, and every dead process's journal.

    A journal that cannot be read must not stall the others: it is tried alone, and a dead
    one that still fails is set aside. This process's closed segments are deleted once the
    store holds every byte of them.
    """
    journal.roll()
    found = segments.scan(journal.root)
    # One work folder per process, emptied after each ingestion: the copies of live chunks
    # keep the same names from one flush to the next.
    work = journal.root / f".ingest-{os.getpid()}"
    try:
        if not found.live and not found.dead:
            return IngestResult()
        result, settled = _commit_isolating(con, store_path, found, work, journal.name)
        closed, _ = journal.segments()
        stored = _stored_bytes(con, [journal.name] if journal.name else [])
        journal.forget([path for path in closed if _all_stored(path, stored.get(_key(path), 0))])
        for dead in settled:
            dead.release(remove=True)
        return result
    finally:
        found.release()
        shutil.rmtree(work, ignore_errors=True)


def _key(path: Path) -> tuple[str, int]:
    return (path.parent.name, int(path.stem))


def _commit_isolating(
    con: duckdb.DuckDBPyConnection,
    store_path: Path,
    found: segments.Scan,
    work: Path,
    own: str | None,
) -> tuple[IngestResult, list[DeadJournal]]:
    try:
        return _commit(con, store_path, found.segments(), found.dead, work), found.dead
    except StoreError:
        if len(_by_journal(found.live)) + len(found.dead) <= 1:
            raise
    result = IngestResult()
    settled = []
    for folder, parts in _by_journal(found.live).items():
        try:
            result.add(_commit(con, store_path, parts, [], work))
        except StoreError as exc:
            if folder == own:
                raise  # this process's own records: its caller must know
            # Its owner is alive and will meet the same error: it is not ours to set aside.
            log.warning("nbtrack: could not ingest the live journal %s yet: %s", folder, exc)
    for dead in found.dead:
        alone = _commit_dead_alone(con, store_path, dead, work)
        if alone is not None:
            result.add(alone)
            settled.append(dead)
    return result, settled


def _by_journal(parts: list[Segment]) -> dict[str, list[Segment]]:
    grouped: dict[str, list[Segment]] = {}
    for segment in parts:
        grouped.setdefault(segment.journal, []).append(segment)
    return grouped


def _commit_dead_alone(
    con: duckdb.DuckDBPyConnection, store_path: Path, dead: DeadJournal, work: Path
) -> IngestResult | None:
    parts = [Segment(dead.name, int(path.stem), path, True) for path in dead.segments]
    try:
        return _commit(con, store_path, parts, [dead], work)
    except StoreError as exc:
        quarantine = dead.path.with_name(dead.name + ".unreadable")
        os.rename(dead.path, quarantine)
        log.error(
            "nbtrack: the journal of a dead process could not be read and was set aside "
            "at %s (%s); `nbtrack doctor` lists it",
            quarantine,
            exc,
        )
        return None


def _commit(
    con: duckdb.DuckDBPyConnection,
    store_path: Path,
    parts: list[Segment],
    dead: list[DeadJournal],
    work: Path,
) -> IngestResult:
    """One transaction: the unstored lines of ``parts``, their byte counts, the KILLED runs
    of ``dead``; then the hint for readers, still under the lock."""
    import duckdb

    con.execute("BEGIN TRANSACTION")
    try:
        stored = _stored_bytes(con, sorted({segment.journal for segment in parts}))
        chunks = segments.chunks(parts, stored)
        result = _ingest_chunks(con, segments.materialize(chunks, work))
        result.dead_journals = len(dead)
        for journal in dead:
            killed = batch.mark_killed(con, journal.name, journal.heartbeat_us)
            result.killed_runs += killed
            if killed:
                log.info(
                    "nbtrack: %d run(s) of the dead process %s are KILLED", killed, journal.name
                )
        _forget_removed_segments(con, journal_root(store_path))
        con.execute("COMMIT")
    except BaseException as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error | OSError):
            raise StoreError(f"could not ingest journal records into {store_path}: {exc}") from exc
        raise
    # Renewed even when nothing came in: a missing or stale hint would send every later reader
    # to a read-write open for nothing.
    segments.write_hint(store_path, _stored_bytes(con, None))
    return result


def _all_stored(path: Path, stored: int | None) -> bool:
    try:
        return stored is None or stored >= path.stat().st_size
    except FileNotFoundError:
        return True


def _stored_bytes(con: duckdb.DuckDBPyConnection, journals: list[str] | None) -> Stored:
    """How many bytes of each segment of ``journals`` (None: all) the store holds."""
    rows = con.execute(
        "SELECT journal, segment, bytes FROM journal_segments WHERE ? OR list_contains(?, journal)",
        [journals is None, journals or []],
    ).fetchall()
    return {(journal, int(segment)): size for journal, segment, size in rows}


def _ingest_chunks(con: duckdb.DuckDBPyConnection, files: dict[Path, Chunk]) -> IngestResult:
    """Apply the records of ``files`` in the caller's transaction and count their bytes."""
    result = IngestResult()
    if not files:
        return result
    counts = batch.apply(
        con,
        {str(path): (chunk.segment.journal, chunk.segment.number) for path, chunk in files.items()},
    )
    _record_progress(con, files, counts)
    result.records = sum(counts.values())
    result.segments = len(files)
    return result


def _record_progress(
    con: duckdb.DuckDBPyConnection,
    files: dict[Path, Chunk],
    counts: dict[str, int],
) -> None:
    now = time.time_ns() // 1000
    touched = [f"{chunk.segment.journal}/{chunk.segment.number}" for chunk in files.values()]
    earlier = {
        (journal, int(number)): records
        for journal, number, records in con.execute(
            "DELETE FROM journal_segments WHERE list_contains(?, journal || '/' || segment) "
            "RETURNING journal, segment, records",
            [touched],
        ).fetchall()
    }
    con.executemany(
        "INSERT INTO journal_segments (journal, segment, records, ingested_at, bytes) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            [
                chunk.segment.journal,
                chunk.segment.number,
                earlier.get(chunk.segment.key, 0) + counts.get(str(path), 0),
                now,
                chunk.end,
            ]
            for path, chunk in files.items()
        ],
    )


def _forget_removed_segments(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """Drop the bookkeeping of segments that are gone for good: every segment of a journal
    whose folder is gone, and those numbered below a journal's oldest file (a writer numbers
    its segments upwards and never writes an old one again). Listed under the file lock."""
    oldest: dict[str, int] = {}
    try:
        folders = [entry for entry in os.scandir(root) if entry.is_dir()]
    except FileNotFoundError:
        folders = []
    for folder in folders:
        numbers = [
            int(name.split(".", 1)[0])
            for name in os.listdir(folder.path)
            if name.endswith(SEGMENT_SUFFIX) and name.split(".", 1)[0].isdigit()
        ]
        oldest[folder.name] = min(numbers, default=2**62)
    con.execute(
        "DELETE FROM journal_segments AS s WHERE NOT list_contains(?, s.journal) OR EXISTS ("
        "SELECT 1 FROM (SELECT unnest(?) AS journal, unnest(?) AS first) AS o "
        "WHERE o.journal = s.journal AND s.segment < o.first)",
        [sorted(oldest), list(oldest), list(oldest.values())],
    )
