"""``nbtrack doctor``: check a store, repair what can be repaired, and say what was done."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.entities import KILLED, RUNNING
from nbtrack.errors import StoreCorruptError
from nbtrack.store import batch, gateway
from nbtrack.store.ingest import REJECTED_FOLDER
from nbtrack.store.journal import journal_root
from nbtrack.store.segments import is_live
from nbtrack.store.store import get_store

if TYPE_CHECKING:
    import duckdb


@dataclass
class Finding:
    level: str  # "ok", "fixed", "warning" or "error"
    message: str


@dataclass
class Report:
    store: Path
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: str, message: str) -> None:
        self.findings.append(Finding(level, message))

    @property
    def healthy(self) -> bool:
        return not any(finding.level == "error" for finding in self.findings)


def examine(path: Path) -> Report:
    """Open the store (setting an unreplayable WAL aside), read every block of every table
    (each is checked against its checksum), ingest leftover journals, end stuck runs, and
    count what is there. A damaged store is reported and left untouched."""
    report = Report(path)
    if not path.exists():
        report.add("ok", f"no store at {path} yet; the first run creates it")
        return report
    _open_or_set_wal_aside(path, report)
    if report.healthy:
        _read_every_block(path, report)
    if not report.healthy:
        return report
    store = get_store(path)
    result = store.flush()
    if result.dead_journals:
        report.add(
            "fixed",
            f"ingested {result.records} record(s) left by {result.dead_journals} dead "
            f"process(es); {result.killed_runs} of their runs marked {KILLED}",
        )
    else:
        report.add("ok", "no journals left behind by dead processes")
    stuck = store.write(_end_orphaned_runs, journal_root(path))
    if stuck:
        report.add(
            "fixed", f"{len(stuck)} run(s) RUNNING with no live owner marked {KILLED}: {stuck}"
        )
    for unreadable in sorted(journal_root(path).glob("*.unreadable")):
        report.add(
            "warning",
            f"{unreadable} holds the journal of a dead process that could not be read; its "
            "records are not in the store (inspect the .ndjson files, then delete the folder)",
        )
    for rejected in sorted((journal_root(path) / REJECTED_FOLDER).glob("*.ndjson")):
        lines = len(rejected.read_text(encoding="utf-8", errors="replace").splitlines())
        report.add(
            "warning",
            f"{rejected} holds {lines} journal line(s) that were not records (each with its "
            "offset in its segment); the lines around them were ingested. Delete the file "
            "once you have looked at it",
        )
    for line in store.read(_summary):
        report.add("ok", line)
    return report


def _open_or_set_wal_aside(path: Path, report: Report) -> None:
    try:
        with gateway.connect(path):
            pass
    except StoreCorruptError as exc:
        wal = path.with_name(path.name + ".wal")
        if "write-ahead log" not in str(exc) or not wal.exists():
            report.add("error", str(exc))
            return
        aside = wal.with_name(f"{wal.name}.unreplayable-{time.strftime('%Y%m%d-%H%M%S')}")
        wal.rename(aside)
        report.add(
            "warning",
            f"THE WRITE-AHEAD LOG COULD NOT BE REPLAYED and was moved to {aside}. Everything "
            "committed since the last checkpoint may be lost: runs, params and metrics "
            "logged shortly before the crash. The store itself opens again.",
        )
        with gateway.connect(path):
            pass
    report.add("ok", f"store {path} opens")


def _read_every_block(path: Path, report: Report) -> None:
    import duckdb

    with gateway.connect(path, read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = 'main' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        damaged = []
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            try:
                # hash() of the whole row reads every column, so every block is checked.
                con.execute(
                    f"SELECT count(*) FROM {quoted} AS t WHERE hash(t) IS NOT NULL"  # noqa: S608
                ).fetchall()
            except duckdb.Error as exc:
                damaged.append(f"{table} ({str(exc).splitlines()[0]})")
    if not damaged:
        report.add("ok", f"every block of the {len(tables)} tables matches its checksum")
        return
    waiting = sum(
        1
        for segment in journal_root(path).glob("*/*.ndjson")
        if not segment.parent.name.startswith(".")  # an ingestion's copies, not journals
    )
    report.add(
        "error",
        f"{path} is damaged: {'; '.join(damaged)}. Nothing was changed. To recover: restore "
        "the store file from a copy (or start a new store and load an `nbtrack export` taken "
        f"before the damage); the {waiting} journal segment(s) still under "
        f"{journal_root(path)} are ingested into the restored store by the next process that "
        "opens it",
    )


def _end_orphaned_runs(con: duckdb.DuckDBPyConnection, root: Path) -> list[str]:
    running = con.execute("SELECT run_id, owner FROM runs WHERE status = ?", [RUNNING]).fetchall()
    orphaned = [run_id for run_id, owner in running if not owner or not is_live(root / owner)]
    if orphaned:
        ended = con.execute(
            "UPDATE runs SET status = ?, end_time = last_seen "
            "WHERE list_contains(?, run_id) AND status = ? RETURNING run_id, end_time",
            [KILLED, orphaned, RUNNING],
        ).fetchall()
        batch.close_spans(con, ended)
    return orphaned


def _summary(con: duckdb.DuckDBPyConnection) -> list[str]:
    experiments = con.execute("SELECT count(*) FROM experiments").fetchone()
    statuses = con.execute(
        "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status"
    ).fetchall()
    points = con.execute("SELECT count(*) FROM metrics").fetchone()
    by_status = ", ".join(f"{count} {status}" for status, count in statuses) or "no runs"
    return [
        f"{experiments[0] if experiments else 0} experiment(s); runs: {by_status}; "
        f"{points[0] if points else 0} metric point(s)"
    ]
