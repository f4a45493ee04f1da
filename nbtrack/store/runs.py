"""Runs as the store holds them: reading one run and its metric history, and reopening,
renaming, deleting, restoring and purging runs.

Each function takes an open connection; values are bound, never written into the SQL.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from nbtrack.entities import RUNNING, ChildRun, Run, RunSpan, from_micros
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.store.remote.operations import remote_operation

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_RUN_COLUMNS = (
    "run_id, run_name, experiment_id, status, start_time, end_time, source, source_name, "
    "git_commit, error, artifact_uri, parent_run_id, user_id, host"
)
# A run's params, latest metrics, tags, spans and active children: (part, text, text, text,
# number, time, time), the part numbering them in that order.
_RUN_ROWS_SQL = """
    SELECT 0, key, value_json, NULL, NULL::DOUBLE, logged_at, NULL::BIGINT
    FROM params WHERE run_id = $run
    UNION ALL SELECT 1, key, NULL, NULL, value, NULL, NULL FROM latest_metrics WHERE run_id = $run
    UNION ALL SELECT 2, key, value, NULL, NULL, NULL, NULL FROM tags WHERE run_id = $run
    UNION ALL SELECT 3, NULL, NULL, NULL, NULL, start_time, end_time
    FROM run_spans WHERE run_id = $run
    UNION ALL SELECT 4, run_id, run_name, status, NULL, start_time, NULL
    FROM runs WHERE parent_run_id = $run AND lifecycle_stage = 'active'
"""


@remote_operation("read")
def find_run(con: duckdb.DuckDBPyConnection, run_id: str) -> Run | None:
    row = con.execute(
        f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?",  # noqa: S608
        [run_id],
    ).fetchone()
    if row is None:
        return None
    # One statement for the run's rows of five tables: each statement costs DuckDB about
    # 0.4 ms whatever it reads, and a run's own rows are few, so they are ordered here.
    parts: list[list[tuple[Any, ...]]] = [[], [], [], [], []]
    for part, *fields in con.execute(_RUN_ROWS_SQL, {"run": run_id}).fetchall():
        parts[part].append(tuple(fields))
    params = {
        key: json.loads(value) for key, value, *_ in sorted(parts[0], key=lambda r: (r[4], r[0]))
    }
    metrics = {key: value for key, _, _, value, _, _ in sorted(parts[1], key=lambda r: r[0])}
    tags = {key: value for key, value, *_ in sorted(parts[2], key=lambda r: r[0])}
    spans = tuple(
        RunSpan(from_micros(begun) or _EPOCH, from_micros(ended))
        for *_, begun, ended in sorted(parts[3], key=lambda r: r[4])
    )
    # Deleted children are left out, as searches leave deleted runs out.
    children = tuple(
        ChildRun(child_id, child_name, child_status)
        for child_id, child_name, child_status, _, _, _ in sorted(
            parts[4], key=lambda r: (r[4], r[0])
        )
    )
    (run_id_, name, experiment_id, status, start, end, source, source_name, commit, error,
     artifact_uri, parent, user, host) = row  # fmt: skip
    start_time = from_micros(start)
    assert start_time is not None
    return Run(
        id=run_id_,
        name=name,
        experiment_id=experiment_id,
        status=status,
        start_time=start_time,
        end_time=from_micros(end),
        params=params,
        metrics=metrics,
        tags=tags,
        source=source,
        source_name=source_name,
        git_commit=commit,
        error=error,
        artifact_uri=artifact_uri,
        parent_run_id=parent,
        user=user,
        host=host,
        spans=spans,
        children=children,
    )


@remote_operation("read")
def get_run(con: duckdb.DuckDBPyConnection, run_id: str) -> Run:
    run = find_run(con, run_id)
    if run is None:
        raise NotFoundError(f"no run with id {run_id!r} in this store")
    return run


@remote_operation("read")
def metric_history(
    con: duckdb.DuckDBPyConnection, run_id: str, key: str, max_points: int | None = None
) -> pd.DataFrame:
    """Every point of ``key`` in step order (then time, then logging order), as MLflow returns
    them; at most ``max_points`` of them when given: every n-th point, and always the last.

    The columns come from Arrow buffers without a copy (8 bytes a value): a history of
    tens of millions of points costs little more than its own size.
    """
    if con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone() is None:
        raise NotFoundError(f"no run with id {run_id!r} in this store")
    order = "ORDER BY step, timestamp, seq"
    if max_points is None:
        query = f"SELECT step, value, timestamp FROM metrics WHERE run_id = ? AND key = ? {order}"  # noqa: S608
        params: list[object] = [run_id, key]
    else:
        query = f"""
            WITH h AS (
                SELECT step, value, timestamp, row_number() OVER ({order}) AS nth,
                       count(*) OVER () AS points
                FROM metrics WHERE run_id = ? AND key = ?
            )
            SELECT step, value, timestamp FROM h
            WHERE points <= ? OR (nth - 1) % CAST(ceil(points / ?) AS BIGINT) = 0
               OR nth = points
            ORDER BY nth
        """  # noqa: S608
        params = [run_id, key, max_points, float(max_points)]
    table = con.execute(query, params).to_arrow_table()
    if table.num_rows == 0:
        keys = [k for (k,) in con.execute(
            "SELECT key FROM latest_metrics WHERE run_id = ? ORDER BY key", [run_id]
        ).fetchall()]  # fmt: skip
        raise NotFoundError(f"run {run_id} has no metric {key!r}; its metrics: {keys}")
    return _history_frame(table)


def _history_frame(table: pa.Table) -> pd.DataFrame:
    # Arrow hands its buffers over column by column and frees each as it goes: the peak
    # stays near the history's own size.
    frame: pd.DataFrame = table.to_pandas(split_blocks=True, self_destruct=True)
    frame["timestamp"] = frame["timestamp"].to_numpy().view("datetime64[us]")
    frame["timestamp"] = frame["timestamp"].dt.tz_localize("UTC")
    return frame


@dataclass(frozen=True)
class ResumeState:
    """What a process needs to keep logging to an existing run."""

    run: Run
    params_json: dict[str, str]
    last_seq: int
    last_steps: dict[str, int]


@remote_operation("read")
def resume_state(con: duckdb.DuckDBPyConnection, run_id: str) -> ResumeState:
    run = get_run(con, run_id)
    params_json = dict(
        con.execute("SELECT key, value_json FROM params WHERE run_id = ?", [run_id]).fetchall()
    )
    # A key's default step goes on after its highest step, so the next point becomes its
    # latest; numbering goes on after the highest seq of any key.
    rows = con.execute(
        "SELECT key, step, last_seq FROM latest_metrics WHERE run_id = ?", [run_id]
    ).fetchall()
    last_seq = max((seq for _, _, seq in rows), default=0)
    return ResumeState(run, params_json, last_seq, {key: step for key, step, _ in rows})


@remote_operation("read")
def loggable_run(con: duckdb.DuckDBPyConnection, run_id: str) -> Run:
    """The run, refused as ``check_loggable`` refuses it: one open for a server's upload."""
    check_loggable(con, run_id)
    return get_run(con, run_id)


@remote_operation("read")
def check_loggable(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Refuse a run that is deleted, or whose experiment is, or that is gone: what is logged
    into a deleted run would be purged by the next ``nbtrack gc`` with it."""
    row = con.execute(
        "SELECT r.run_name, r.lifecycle_stage, e.name, e.lifecycle_stage FROM runs r "
        "LEFT JOIN experiments e ON e.experiment_id = r.experiment_id WHERE r.run_id = ?",
        [run_id],
    ).fetchone()
    if row is None:
        raise NotFoundError(
            f"run {run_id} is no longer in this store: it was deleted and then purged by "
            "`nbtrack gc`, with everything logged into it; start a new run to log more"
        )
    name, stage, experiment, experiment_stage = row
    if stage == "deleted":
        raise InvalidValueError(
            f"run {name!r} ({run_id}) is deleted, and `nbtrack gc` would purge anything "
            f"logged into it; restore it first with nbtrack.restore_run({run_id!r})"
        )
    if experiment_stage == "deleted":
        raise InvalidValueError(
            f"run {name!r} ({run_id}) belongs to the deleted experiment {experiment!r}, and "
            "`nbtrack gc` would purge anything logged into it; restore it first with "
            f"nbtrack.restore_experiment({experiment!r})"
        )


@remote_operation("write")
def reopen_run(
    con: duckdb.DuckDBPyConnection, run_id: str, owner: str, owner_pid: int, at: int | None = None
) -> ResumeState:
    """Mark an existing run RUNNING again, owned by this process, and return its state; a
    deleted run is refused (restored first, it can be reopened).

    The reopen starts a new span of the run's active time. A run taken over while another
    process still has it open has that process's span closed here, where this one's begins.
    """
    run = get_run(con, run_id)
    check_loggable(con, run_id)
    if at is None:
        # Taken here, under the lock: the wait for the store is not time the run ran.
        at = time.time_ns() // 1000
    ended = run.end_time if run.status != RUNNING else None
    con.execute(
        "UPDATE run_spans SET end_time = greatest(?, start_time) "
        "WHERE run_id = ? AND end_time IS NULL",
        [at if ended is None else _micros(ended), run_id],
    )
    con.execute("INSERT INTO run_spans VALUES (?, ?, NULL)", [run_id, at])
    con.execute(
        "UPDATE runs SET status = 'RUNNING', end_time = NULL, error = NULL, owner = ?, "
        "owner_pid = ?, last_seen = greatest(last_seen, ?) WHERE run_id = ?",
        [owner, owner_pid, at, run_id],
    )
    return resume_state(con, run_id)


def _micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


@remote_operation("write")
def rename_run(con: duckdb.DuckDBPyConnection, run_id: str, name: str) -> None:
    get_run(con, run_id)
    con.execute("UPDATE runs SET run_name = ? WHERE run_id = ?", [name, run_id])


@remote_operation("write_stages")
def set_run_stage(con: duckdb.DuckDBPyConnection, run_id: str, stage: str) -> None:
    """Delete (``deleted``) or restore (``active``) a run; artifacts stay until gc."""
    get_run(con, run_id)
    con.execute("UPDATE runs SET lifecycle_stage = ? WHERE run_id = ?", [stage, run_id])


@dataclass(frozen=True)
class Purged:
    runs: int
    experiments: int
    metric_points: int
    artifact_folders: list[str]


# The tables that hold rows of a run, besides ``runs`` itself.
_RUN_ROWS = ("metrics", "latest_metrics", "params", "tags", "run_spans", "model_payloads")


@remote_operation("write_stages")
def purge_deleted(con: duckdb.DuckDBPyConnection) -> Purged:
    """Remove deleted runs (and runs of deleted experiments) with all their rows for good.

    Rows whose run is gone are removed too, whichever run they belong to: a process that kept
    logging into a run after an earlier gc purged it leaves them (its records only go to its
    journal, which is not checked against the store).
    """
    doomed = con.execute(
        "SELECT r.run_id, r.artifact_uri FROM runs r "
        "JOIN experiments e ON e.experiment_id = r.experiment_id "
        "WHERE r.lifecycle_stage = 'deleted' OR e.lifecycle_stage = 'deleted'"
    ).fetchall()
    ids = [run_id for run_id, _ in doomed]
    con.execute("DELETE FROM runs WHERE list_contains(?, run_id)", [ids])
    removed = {
        table: con.execute(
            f"DELETE FROM {table} WHERE run_id NOT IN (SELECT run_id FROM runs)"  # noqa: S608
        ).fetchone()
        for table in _RUN_ROWS
    }
    experiments = con.execute(
        "DELETE FROM experiments WHERE lifecycle_stage = 'deleted' RETURNING experiment_id"
    ).fetchall()
    # The folder of a run, not just its artifacts/ subfolder: models live beside them.
    folders = [str(PurePosixPath(uri).parent) for _, uri in doomed]
    (points,) = removed["metrics"] or (0,)
    return Purged(len(ids), len(experiments), int(points), folders)


# -- referring to a run by a short id or a name ----------------------------------------------------

# The shortest id prefix taken for an id: fewer hex characters are too often a word (a name).
MIN_ID_PREFIX = 4
SHORT_ID = 8
_HEX_DIGITS = frozenset("0123456789abcdef")
_LISTED = 10
ACCEPTED_REFERENCES = (
    "a run id, its first 4 or more characters (the 8 shown everywhere are enough while they "
    "are unique) or a run name"
)


@dataclass(frozen=True)
class RunMatch:
    """A run that a reference may mean: enough to tell it from the others."""

    run_id: str
    name: str
    experiment: str | None
    status: str
    start_time: int
    active: bool

    def describe(self) -> str:
        when = from_micros(self.start_time)
        started = when.astimezone().strftime("%Y-%m-%d %H:%M") if when else "?"
        where = f"{self.experiment}, " if self.experiment else ""
        deleted = ", deleted" if not self.active else ""
        return (
            f"{self.run_id[:SHORT_ID]} {self.name!r} ({where}{self.status}{deleted}, "
            f"started {started})"
        )


def is_id_prefix(reference: str) -> bool:
    """Whether ``reference`` can be the start of a run id: 4 to 32 hex digits, any case."""
    return MIN_ID_PREFIX <= len(reference) <= 32 and set(reference.lower()) <= _HEX_DIGITS


@remote_operation("read")
def run_matches(con: duckdb.DuckDBPyConnection, reference: str) -> list[RunMatch]:
    """The runs ``reference`` may mean, newest first: those whose id starts with it (when it
    can be an id) and those named exactly so, deleted ones included."""
    prefix = reference.lower() if is_id_prefix(reference) else None
    rows = con.execute(
        "SELECT r.run_id, r.run_name, e.name, r.status, r.start_time, "
        "r.lifecycle_stage = 'active' AND coalesce(e.lifecycle_stage, 'active') = 'active' "
        "FROM runs r LEFT JOIN experiments e ON e.experiment_id = r.experiment_id "
        "WHERE (? AND starts_with(r.run_id, ?)) OR r.run_name = ? "
        "ORDER BY r.start_time DESC, r.run_id",
        [prefix is not None, prefix or "", reference],
    ).fetchall()
    return [RunMatch(*row) for row in rows]


@remote_operation("read")
def resolve_run_reference(con: duckdb.DuckDBPyConnection, reference: str, what: str = "run") -> str:
    """The id of the one run ``reference`` means: a full id, a unique id prefix of at least
    4 hex digits, or a unique run name. Runs that are not deleted are preferred; a deleted
    run is found when no other matches.

    Raises
    ------
    NotFoundError
        No run matches.
    InvalidValueError
        Several runs match: the message lists them (short id, name, experiment, status,
        start) and says how to pick one.
    """
    matches = run_matches(con, reference)
    exact = [match for match in matches if match.run_id == reference.lower()]
    if exact:
        return exact[0].run_id
    chosen = [match for match in matches if match.active] or matches
    if len(chosen) == 1:
        return chosen[0].run_id
    if not chosen:
        looked = (
            f"no run whose id starts with {reference!r} and none named so"
            if is_id_prefix(reference)
            else f"no run named {reference!r}"
        )
        raise NotFoundError(
            f"{what} {reference!r}: {looked} in this store; give {ACCEPTED_REFERENCES}"
        )
    listed = "; ".join(match.describe() for match in chosen[:_LISTED])
    more = f"; and {len(chosen) - _LISTED} more" if len(chosen) > _LISTED else ""
    by_name = all(match.name == reference for match in chosen)
    fix = (
        "give one of their ids (or its first 8 characters) instead"
        if by_name
        else "give more characters of the id, or the run's name if it is unique"
    )
    raise InvalidValueError(
        f"{what} {reference!r} is ambiguous: {len(chosen)} runs match it: {listed}{more}; {fix}"
    )
