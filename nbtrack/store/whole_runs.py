"""Whole runs, a page at a time, as a client of MLflow's protocol reads them.

``search_runs`` (``store/search.py``) answers with one wide DataFrame; MLflow's clients want
each run whole instead: its params as text, each metric's latest point with its step and
timestamp, its tags and its lifecycle stage, in pages of ``max_results`` after an offset. The
filter and the order come compiled by ``tracking/filters.py``: fixed SQL with bound values.

Besides the reads, the few writes MLflow's protocol has that nbtrack's journal does not: a tag
deleted, a run ended by a process that does not own it, an experiment renamed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbtrack.entities import Run, from_micros
from nbtrack.errors import NotFoundError
from nbtrack.store.remote.operations import remote_operation
from nbtrack.store.runs import get_run

if TYPE_CHECKING:
    import duckdb

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Which runs a search sees, by lifecycle stage: MLflow's ViewType.
STAGES = {"active": ("active",), "deleted": ("deleted",), "all": ("active", "deleted")}


@dataclass(frozen=True)
class FullRun:
    """One run with what MLflow's ``Run`` message holds beyond ``entities.Run``."""

    run: Run
    lifecycle_stage: str
    # key -> the param's text, as MLflow compares and shows it
    params_text: dict[str, str]
    # (key, value, timestamp in microseconds, step) of each metric's latest point
    latest: list[tuple[str, float, int, int]]


def page_of_run_ids(
    con: duckdb.DuckDBPyConnection,
    experiment_ids: Sequence[str],
    where: tuple[str, list[Any]],
    order: tuple[str, list[Any]],
    stage: str,
    offset: int,
    limit: int,
) -> list[str]:
    """The ids of the runs matching ``where`` in ``experiment_ids``, ordered, from ``offset``.

    A run of a deleted experiment counts as deleted, as in nbtrack's own search.
    """
    where_sql, where_params = where
    order_sql, order_params = order
    rows = con.execute(
        f"""
        SELECT r.run_id FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id
        WHERE list_contains(?, r.experiment_id)
          AND list_contains(?, CASE WHEN e.lifecycle_stage = 'deleted' THEN 'deleted'
                                    ELSE r.lifecycle_stage END)
          AND ({where_sql})
        ORDER BY {order_sql}
        LIMIT ? OFFSET ?
        """,  # noqa: S608 (fragments are fixed SQL from nbtrack's grammar; values are bound)
        [list(experiment_ids), list(STAGES[stage]), *where_params, *order_params, limit, offset],
    ).fetchall()
    return [run_id for (run_id,) in rows]


@remote_operation("read")
def full_run(con: duckdb.DuckDBPyConnection, run_id: str) -> FullRun:
    """One run whole; ``NotFoundError`` names the id when there is none."""
    found = full_runs(con, [run_id])
    if not found:
        raise NotFoundError(f"Run with id={run_id} not found")
    return found[0]


@remote_operation("read")
def full_runs(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> list[FullRun]:
    """The runs of ``run_ids`` (in that order; unknown ids left out) whole, in four queries
    whatever their number."""
    ids = list(run_ids)
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM runs WHERE list_contains(?, run_id)",  # noqa: S608
        [ids],
    ).fetchall()
    params: dict[str, dict[str, str]] = {}
    for run_id, key, value in con.execute(
        "SELECT run_id, key, value FROM params WHERE list_contains(?, run_id) ORDER BY key",
        [ids],
    ).fetchall():
        params.setdefault(run_id, {})[key] = value
    latest: dict[str, list[tuple[str, float, int, int]]] = {}
    for run_id, key, value, timestamp, step in con.execute(
        "SELECT run_id, key, value, timestamp, step FROM latest_metrics "
        "WHERE list_contains(?, run_id) ORDER BY key",
        [ids],
    ).fetchall():
        latest.setdefault(run_id, []).append((key, float(value), int(timestamp), int(step)))
    tags: dict[str, dict[str, str]] = {}
    for run_id, key, value in con.execute(
        "SELECT run_id, key, value FROM tags WHERE list_contains(?, run_id) ORDER BY key", [ids]
    ).fetchall():
        tags.setdefault(run_id, {})[key] = value
    by_id = {row[0]: row for row in rows}
    return [
        _full(by_id[run_id], params.get(run_id, {}), latest.get(run_id, []), tags.get(run_id, {}))
        for run_id in ids
        if run_id in by_id
    ]


_COLUMNS = (
    "run_id, run_name, experiment_id, status, start_time, end_time, source, source_name, "
    "git_commit, error, artifact_uri, parent_run_id, user_id, host, lifecycle_stage"
)


def _full(
    row: tuple[Any, ...],
    params: dict[str, str],
    latest: list[tuple[str, float, int, int]],
    tags: dict[str, str],
) -> FullRun:
    (run_id, name, experiment_id, status, start, end, source, source_name, commit, error,
     artifact_uri, parent, user, host, stage) = row  # fmt: skip
    run = Run(
        id=run_id,
        name=name,
        experiment_id=experiment_id,
        status=status,
        start_time=from_micros(start) or _EPOCH,
        end_time=from_micros(end),
        metrics={key: value for key, value, _, _ in latest},
        tags=tags,
        source=source,
        source_name=source_name,
        git_commit=commit,
        error=error,
        artifact_uri=artifact_uri,
        parent_run_id=parent,
        user=user,
        host=host,
    )
    return FullRun(run, stage, params, latest)


@remote_operation("read")
def metric_points(
    con: duckdb.DuckDBPyConnection, run_id: str, key: str
) -> list[tuple[float, int, int]]:
    """(value, timestamp in microseconds, step) of every point of ``key``, in logging order per
    step; an empty list for a key the run does not have, as MLflow answers."""
    get_run(con, run_id)
    rows = con.execute(
        "SELECT value, timestamp, step FROM metrics WHERE run_id = ? AND key = ? "
        "ORDER BY step, timestamp, seq",
        [run_id, key],
    ).fetchall()
    return [(float(value), int(timestamp), int(step)) for value, timestamp, step in rows]


@remote_operation("write")
def delete_tag(con: duckdb.DuckDBPyConnection, run_id: str, key: str) -> None:
    """Remove a run's tag; ``NotFoundError`` if it has none by that name."""
    get_run(con, run_id)
    removed = con.execute(
        "DELETE FROM tags WHERE run_id = ? AND key = ? RETURNING key", [run_id, key]
    ).fetchall()
    if not removed:
        raise NotFoundError(f"No tag with name: {key} in run with id {run_id}")


@remote_operation("write")
def end_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, end_time: int) -> None:
    """End a run now, whichever process owns it (MLflow's ``update_run`` from anywhere): the
    journal's end record counts only from the owner's journal."""
    get_run(con, run_id)
    con.execute(
        "UPDATE run_spans SET end_time = greatest(?, start_time) "
        "WHERE run_id = ? AND end_time IS NULL",
        [end_time, run_id],
    )
    con.execute(
        "UPDATE runs SET status = ?, end_time = ?, last_seen = greatest(last_seen, ?) "
        "WHERE run_id = ?",
        [status, end_time, end_time, run_id],
    )


@remote_operation("read")
def tagged_runs(con: duckdb.DuckDBPyConnection, key: str) -> list[tuple[str, Any]]:
    """(run id, JSON value) of every run carrying the tag ``key`` (nbtrack's records of what
    MLflow's protocol logs beside a run: logged models, dataset inputs)."""
    rows = con.execute("SELECT run_id, value FROM tags WHERE key = ?", [key]).fetchall()
    return [(run_id, json.loads(value)) for run_id, value in rows]


@remote_operation("read")
def tags_with_prefix(
    con: duckdb.DuckDBPyConnection, prefix: str, run_ids: Sequence[str] | None = None
) -> list[tuple[str, str, str]]:
    """(run id, key, value) of the tags whose key starts with ``prefix``."""
    rows = con.execute(
        "SELECT run_id, key, value FROM tags WHERE starts_with(key, ?) "
        "AND (? OR list_contains(?, run_id)) ORDER BY run_id, key",
        [prefix, run_ids is None, list(run_ids or [])],
    ).fetchall()
    return [(run_id, key, value) for run_id, key, value in rows]
