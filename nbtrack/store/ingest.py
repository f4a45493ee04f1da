"""Moving journal records into the store, in batches, exactly once.

``ingest_pending`` is the one entry, called under the store's write lock. It takes the segments
``segments.scan`` finds — the complete lines every live process (this one included) has
appended so far, and every dead process's journal — and in one transaction brings in the bytes
the store does not hold yet, records how far each segment now is, and marks the runs of dead
processes KILLED. A line is therefore stored once whichever process ingests it, and a replay
after a crash between commit and cleanup changes nothing. DuckDB's own ``read_json`` parses the
lines in C++ and keeps NaN and ±Infinity.

Two kinds of trouble are told apart. A line that is not a record (a disk error, a hand edit)
is the journal's: it is set aside with its offset under ``.rejected/`` in the journals folder,
and every good line around it is ingested. A store that cannot take the batch (damaged, disk
full) is the store's: the error says so, and nothing is set aside — every line stays in its
journal until the store can take it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.errors import StoreError
from nbtrack.store import batch, gateway, records, segments
from nbtrack.store.journal import SEGMENT_SUFFIX, Journal, journal_root
from nbtrack.store.segments import Chunk, DeadJournal, Segment

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger("nbtrack")

Stored = dict[tuple[str, int], "int | None"]
REJECTED_FOLDER = ".rejected"


@dataclass
class IngestResult:
    records: int = 0
    segments: int = 0
    dead_journals: int = 0
    killed_runs: int = 0
    rejected_lines: int = 0


def ingest_pending(
    con: duckdb.DuckDBPyConnection, journal: Journal, store_path: Path
) -> IngestResult:
    """Bring everything every journal holds into the store: this process's records, what other
    live processes have logged so far, and every dead process's journal. This process's closed
    segments are deleted once the store holds every byte of them."""
    journal.roll()
    found = segments.scan(journal.root)
    # One work folder per process, emptied after each ingestion: the copies of live chunks
    # keep the same names from one flush to the next.
    work = journal.root / f".ingest-{os.getpid()}"
    try:
        if not found.live and not found.dead:
            return IngestResult()
        result = _commit(con, store_path, found.segments(), found.dead, work)
        closed, _ = journal.segments()
        stored = _stored_bytes(con, [journal.name] if journal.name else [])
        journal.forget([path for path in closed if _all_stored(path, stored.get(_key(path), 0))])
        _forget_mirrored(con, [segment for segment in found.live if segments.is_mirror(segment)])
        for dead in found.dead:
            dead.release(remove=True)
        return result
    finally:
        found.release()
        shutil.rmtree(work, ignore_errors=True)


def _forget_mirrored(con: duckdb.DuckDBPyConnection, mirrored: list[Segment]) -> None:
    """Delete the closed mirror segments the store holds whole. Their client sends a segment's
    successor only once the server holds all of it, so it never sends them again; a late
    resend is answered "all held" from the numbering (``store/mirrors.py``)."""
    closed = [segment for segment in mirrored if segment.closed]
    if not closed:
        return
    stored = _stored_bytes(con, sorted({segment.journal for segment in closed}))
    for segment in closed:
        if _all_stored(segment.path, stored.get(segment.key, 0)):
            segment.path.unlink(missing_ok=True)


def _key(path: Path) -> tuple[str, int]:
    return (path.parent.name, int(path.stem))


def _commit(
    con: duckdb.DuckDBPyConnection,
    store_path: Path,
    parts: list[Segment],
    dead: list[DeadJournal],
    work: Path,
) -> IngestResult:
    """The unstored lines of ``parts`` read into a batch, then one transaction: their rows,
    their byte counts, the KILLED runs of ``dead``; then the hint for readers, still under the
    lock (which is why reading outside the transaction is safe: no one else writes)."""
    import duckdb

    try:
        stored = _stored_bytes(con, sorted({segment.journal for segment in parts}))
        files, result = _read_batch(
            con, segments.materialize(segments.chunks(parts, stored), work), work, store_path
        )
        con.execute("BEGIN TRANSACTION")
        if files:
            counts = batch.apply(con)
            _record_progress(con, files, counts)
            result.records = sum(counts.values())
            result.segments = len(files)
        result.dead_journals = len(dead)
        for journal in dead:
            if not journal.kill_runs:
                continue
            killed = batch.mark_killed(con, journal.name, journal.heartbeat_us)
            result.killed_runs += killed
            if killed:
                log.info(
                    "nbtrack: %d run(s) of the dead process %s are KILLED", killed, journal.name
                )
        root = journal_root(store_path)
        _forget_removed_segments(con, [root, segments.mirror_root(root)])
        con.execute("COMMIT")
    except BaseException as exc:
        # A failed COMMIT (a full disk, say) may leave no transaction to roll back: that
        # second error must not hide the first.
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error | OSError):
            fault = gateway.translate(store_path, exc)
            raise fault or StoreError(
                f"could not ingest journal records into {store_path}: {exc}"
            ) from exc
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


def _read_batch(
    con: duckdb.DuckDBPyConnection, files: dict[Path, Chunk], work: Path, store_path: Path
) -> tuple[dict[Path, Chunk], IngestResult]:
    """Load ``files`` into the batch table, outside any transaction (a failed read would
    abort it); lines that are not records are set aside and the rest loaded."""
    import duckdb

    result = IngestResult()
    if files:
        try:
            batch.load(con, _sources(files))
        except duckdb.InvalidInputException:
            files, result.rejected_lines = _set_aside_bad_lines(
                files, work, journal_root(store_path)
            )
            batch.load(con, _sources(files))
    return files, result


def _sources(files: dict[Path, Chunk]) -> dict[str, tuple[str, int]]:
    return {
        str(path): (chunk.segment.journal, chunk.segment.number) for path, chunk in files.items()
    }


def _set_aside_bad_lines(
    files: dict[Path, Chunk], work: Path, root: Path
) -> tuple[dict[Path, Chunk], int]:
    """Each file with its good lines only; every other line is written, with the offset it had
    in its segment, to ``.rejected/<journal>-<segment>-<offset>.ndjson`` (named by the chunk,
    so a retried ingestion rewrites the same file)."""
    kept: dict[Path, Chunk] = {}
    rejected_total = 0
    for path, chunk in files.items():
        good, bad = _sorted_lines(path.read_bytes(), chunk.start)
        if not bad:
            kept[path] = chunk
            continue
        rejected_total += len(bad)
        name = f"{chunk.segment.journal}-{chunk.segment.number:08d}-{chunk.start}"
        folder = root / REJECTED_FOLDER
        folder.mkdir(exist_ok=True)
        (folder / f"{name}{SEGMENT_SUFFIX}").write_text(
            "".join(json.dumps({"offset": at, "line": text}) + "\n" for at, text in bad),
            encoding="utf-8",
        )
        cleaned = work / f"{name}.clean{SEGMENT_SUFFIX}"
        work.mkdir(parents=True, exist_ok=True)
        cleaned.write_bytes(b"".join(good))
        kept[cleaned] = chunk
        log.warning(
            "nbtrack: %d line(s) of journal %s, segment %d, are not records; they were set "
            "aside in %s (the other %d were ingested)",
            len(bad),
            chunk.segment.journal,
            chunk.segment.number,
            folder,
            len(good),
        )
    return kept, rejected_total


def _sorted_lines(data: bytes, start: int) -> tuple[list[bytes], list[tuple[int, str]]]:
    good: list[bytes] = []
    bad: list[tuple[int, str]] = []
    offset = start
    for line in data.splitlines(keepends=True):
        if records.is_complete(line.rstrip(b"\n")):
            good.append(line)
        else:
            bad.append((offset, line.decode("utf-8", errors="replace").rstrip("\n")))
        offset += len(line)
    return good, bad


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


def _forget_removed_segments(con: duckdb.DuckDBPyConnection, roots: list[Path]) -> None:
    """Drop the bookkeeping of segments that are gone for good: every segment of a journal
    whose folder is gone (from the journals and the mirrors folders), and those numbered below
    a journal's oldest file (a writer numbers its segments upwards and never writes an old one
    again). Listed under the file lock."""
    oldest: dict[str, int] = {}
    folders: list[os.DirEntry[str]] = []
    for root in roots:
        with contextlib.suppress(FileNotFoundError):
            folders.extend(entry for entry in os.scandir(root) if entry.is_dir())
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
