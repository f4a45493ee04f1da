"""Moving journal segments into the store, in batches, exactly once.

``ingest_pending`` is the one entry: under the file lock it takes this process's closed
segments and the journals of dead processes, brings their records in with ``ingest`` and marks
the dead processes' runs KILLED, all in one transaction that also records which segments it
brought in, so a segment replayed after a crash between commit and delete is skipped, never
duplicated. DuckDB's own ``read_json`` parses the lines in C++ and keeps NaN and ±Infinity.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.entities import KILLED, RUNNING
from nbtrack.errors import StoreError
from nbtrack.store.journal import DeadJournal, Journal, dead_journals, journal_root
from nbtrack.store.records import COLUMNS

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger("nbtrack")

_BATCH = "nbtrack_batch"


@dataclass(frozen=True)
class Segment:
    journal: str
    number: int
    path: Path

    @classmethod
    def of(cls, path: Path) -> Segment:
        return cls(path.parent.name, int(path.stem), path)


@dataclass
class IngestResult:
    records: int = 0
    segments: int = 0
    skipped_segments: int = 0
    dead_journals: int = 0
    killed_runs: int = 0


def ingest_pending(
    con: duckdb.DuckDBPyConnection, journal: Journal, store_path: Path
) -> IngestResult:
    """Bring this process's closed segments and every dead process's journal into the store.

    One unreadable dead journal must not stall everything else: it is set aside and the rest
    is ingested. Segments are deleted only once their records are committed.
    """
    own = journal.rotate()
    dead = list(dead_journals(journal.root, journal.name))
    if not own and not dead:
        return IngestResult()
    try:
        try:
            result = _commit_batch(con, store_path, own, dead)
            settled = dead
        except StoreError:
            if not dead:
                raise
            result = _commit_batch(con, store_path, own, [])
            settled = []
            for leftover in dead:
                alone = _commit_alone(con, store_path, leftover)
                if alone is not None:
                    settled.append(leftover)
                    result.records += alone.records
                    result.dead_journals += 1
                    result.killed_runs += alone.killed_runs
        journal.forget(own)
        for leftover in settled:
            leftover.release(remove=True)
    finally:
        for leftover in dead:
            leftover.release(remove=False)
    return result


def _commit_batch(
    con: duckdb.DuckDBPyConnection, store_path: Path, own: list[Path], dead: list[DeadJournal]
) -> IngestResult:
    import duckdb

    con.execute("BEGIN TRANSACTION")
    try:
        result = ingest(con, own + [path for journal in dead for path in journal.segments])
        result.dead_journals = len(dead)
        for journal in dead:
            killed = mark_killed(con, journal.name, journal.heartbeat_us)
            result.killed_runs += killed
            if killed:
                log.info(
                    "nbtrack: %d run(s) of the dead process %s are KILLED", killed, journal.name
                )
        _forget_removed_journals(con, journal_root(store_path))
        con.execute("COMMIT")
    except BaseException as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error | OSError):
            raise StoreError(f"could not ingest journal records into {store_path}: {exc}") from exc
        raise
    return result


def _commit_alone(
    con: duckdb.DuckDBPyConnection, store_path: Path, journal: DeadJournal
) -> IngestResult | None:
    try:
        return _commit_batch(con, store_path, [], [journal])
    except StoreError as exc:
        quarantine = journal.path.with_name(journal.name + ".unreadable")
        os.rename(journal.path, quarantine)
        log.error(
            "nbtrack: the journal of a dead process could not be read and was set aside "
            "at %s (%s); `nbtrack doctor` lists it",
            quarantine,
            exc,
        )
        return None


def _forget_removed_journals(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    # Bookkeeping rows may go only once their segment files are gone. Listed while this
    # process holds the file lock, so no journal can gain rows between listing and delete.
    try:
        on_disk = sorted(entry.name for entry in os.scandir(root))
    except FileNotFoundError:
        on_disk = []
    stale = con.execute(
        "SELECT DISTINCT journal FROM journal_segments WHERE NOT list_contains(?, journal)",
        [on_disk],
    ).fetchall()
    forget_journals(con, [name for (name,) in stale])


def ingest(con: duckdb.DuckDBPyConnection, paths: Iterable[Path]) -> IngestResult:
    """Bring the records of ``paths`` into the store in the caller's transaction."""
    segments = [Segment.of(path) for path in paths]
    result = IngestResult()
    if not segments:
        return result
    done = _already_ingested(con, {segment.journal for segment in segments})
    todo = [
        segment
        for segment in segments
        if (segment.journal, segment.number) not in done and segment.path.stat().st_size > 0
    ]
    result.skipped_segments = len(segments) - len(todo)
    if not todo:
        return result
    columns = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS.items()) + "}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_BATCH} AS SELECT * FROM read_json(?, "  # noqa: S608
        f"format = 'newline_delimited', columns = {columns}, filename = true)",
        [[str(segment.path) for segment in todo]],
    )
    try:
        kinds = {
            kind
            for (kind,) in con.execute(f"SELECT DISTINCT k FROM {_BATCH}").fetchall()  # noqa: S608
        }
        # Each statement costs a little even on no rows: run only those the batch needs.
        for kind, apply in (
            ("start", _insert_started_runs),
            ("end", _apply_run_ends),
            ("p", _insert_params),
            ("g", _upsert_tags),
            ("m", _insert_metrics),
        ):
            if kind in kinds:
                apply(con)
        _touch_last_seen(con)
        counts = dict(
            con.execute(f"SELECT filename, count(*) FROM {_BATCH} GROUP BY filename").fetchall()  # noqa: S608
        )
        now = time.time_ns() // 1000
        con.executemany(
            "INSERT INTO journal_segments VALUES (?, ?, ?, ?)",
            [
                [segment.journal, segment.number, counts.get(str(segment.path), 0), now]
                for segment in todo
            ],
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_BATCH}")
    result.records = sum(counts.values())
    result.segments = len(todo)
    return result


def _already_ingested(con: duckdb.DuckDBPyConnection, journals: set[str]) -> set[tuple[str, int]]:
    rows = con.execute(
        "SELECT journal, segment FROM journal_segments WHERE list_contains(?, journal)",
        [sorted(journals)],
    ).fetchall()
    return {(journal, int(segment)) for journal, segment in rows}


def _insert_started_runs(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""
        INSERT INTO runs (run_id, experiment_id, run_name, status, start_time, end_time,
            last_seen, lifecycle_stage, parent_run_id, source, source_name, git_commit, user_id,
            host, owner, owner_pid, error, artifact_uri)
        SELECT r, j->>'$.experiment_id', j->>'$.name', 'RUNNING', t, NULL, t, 'active',
               j->>'$.parent_run_id', j->>'$.source', j->>'$.source_name', j->>'$.git_commit',
               j->>'$.user', j->>'$.host', regexp_extract(filename, '([^/]+)/[^/]+$', 1),
               CAST(j->>'$.owner_pid' AS BIGINT), NULL, j->>'$.artifact_uri'
        FROM {_BATCH} AS b
        WHERE k = 'start' AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.run_id = b.r)
        """  # noqa: S608
    )


def _apply_run_ends(con: duckdb.DuckDBPyConnection) -> None:
    # An end counts only from the journal that owns the run: once another process has
    # reopened it, a late end from the old owner must not close it.
    con.execute(
        f"""
        UPDATE runs SET status = e.x, end_time = e.t, error = e.j,
               last_seen = greatest(runs.last_seen, e.t)
        FROM (
            SELECT r, regexp_extract(filename, '([^/]+)/[^/]+$', 1) AS journal,
                   arg_max(x, (filename, q)) AS x, arg_max(t, (filename, q)) AS t,
                   arg_max(j, (filename, q)) AS j
            FROM {_BATCH} WHERE k = 'end' GROUP BY ALL
        ) AS e
        WHERE runs.run_id = e.r AND runs.owner = e.journal
        """  # noqa: S608
    )


def _insert_params(con: duckdb.DuckDBPyConnection) -> None:
    # Params are write-once: the first value wins, here as at the call.
    con.execute(
        f"""
        INSERT INTO params
        SELECT r, n, x, j, json_type(j), t FROM (
            SELECT *, row_number() OVER (PARTITION BY r, n ORDER BY filename, q) AS nth
            FROM {_BATCH} WHERE k = 'p'
        ) AS b
        WHERE nth = 1
          AND NOT EXISTS (SELECT 1 FROM params p WHERE p.run_id = b.r AND p.key = b.n)
        """  # noqa: S608
    )


def _upsert_tags(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE nbtrack_new_tags AS
        SELECT r AS run_id, n AS key, arg_max(x, (filename, q)) AS value, max(t) AS logged_at
        FROM {_BATCH} WHERE k = 'g' GROUP BY r, n
        """  # noqa: S608
    )
    con.execute(
        "DELETE FROM tags WHERE EXISTS (SELECT 1 FROM nbtrack_new_tags n "
        "WHERE n.run_id = tags.run_id AND n.key = tags.key)"
    )
    con.execute("INSERT INTO tags SELECT run_id, key, value, logged_at FROM nbtrack_new_tags")
    con.execute("DROP TABLE nbtrack_new_tags")


def _insert_metrics(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"INSERT INTO metrics SELECT r, n, v, s, t, q FROM {_BATCH} WHERE k = 'm'")  # noqa: S608
    # latest_metrics keeps one row per (run, key): the point with the highest sequence number,
    # plus min, max (NaN left out) and count over the whole history.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE nbtrack_new_latest AS
        WITH batch AS (
            SELECT r AS run_id, n AS key,
                   arg_max(v, q) AS value, arg_max(s, q) AS step, arg_max(t, q) AS timestamp,
                   max(q) AS seq,
                   min(v) FILTER (WHERE NOT isnan(v)) AS min_value,
                   max(v) FILTER (WHERE NOT isnan(v)) AS max_value,
                   count(*) AS count
            FROM {_BATCH} WHERE k = 'm' GROUP BY r, n
        )
        SELECT b.run_id, b.key,
               CASE WHEN l.seq IS NULL OR b.seq >= l.seq THEN b.value ELSE l.value END,
               CASE WHEN l.seq IS NULL OR b.seq >= l.seq THEN b.step ELSE l.step END,
               CASE WHEN l.seq IS NULL OR b.seq >= l.seq THEN b.timestamp ELSE l.timestamp END,
               greatest(b.seq, l.seq),
               least(b.min_value, l.min_value),
               greatest(b.max_value, l.max_value),
               b.count + coalesce(l.count, 0)
        FROM batch b LEFT JOIN latest_metrics l ON l.run_id = b.run_id AND l.key = b.key
        """  # noqa: S608
    )
    con.execute(
        "DELETE FROM latest_metrics WHERE EXISTS (SELECT 1 FROM nbtrack_new_latest n "
        "WHERE n.run_id = latest_metrics.run_id AND n.key = latest_metrics.key)"
    )
    con.execute("INSERT INTO latest_metrics SELECT * FROM nbtrack_new_latest")
    con.execute("DROP TABLE nbtrack_new_latest")


def _touch_last_seen(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"UPDATE runs SET last_seen = greatest(runs.last_seen, b.t) "  # noqa: S608
        f"FROM (SELECT r, max(t) AS t FROM {_BATCH} GROUP BY r) AS b WHERE runs.run_id = b.r"
    )


def mark_killed(con: duckdb.DuckDBPyConnection, journal: str, heartbeat_us: int) -> int:
    """End the RUNNING runs of a dead journal as KILLED at their last sign of life."""
    rows = con.execute(
        "UPDATE runs SET status = ?, end_time = greatest(last_seen, ?) "
        "WHERE owner = ? AND status = ? RETURNING run_id",
        [KILLED, heartbeat_us, journal, RUNNING],
    ).fetchall()
    return len(rows)


def forget_journals(con: duckdb.DuckDBPyConnection, journals: list[str]) -> None:
    """Drop the bookkeeping of journals whose folders are gone."""
    if journals:
        con.execute(
            "DELETE FROM journal_segments WHERE list_contains(?, journal)", [sorted(journals)]
        )
