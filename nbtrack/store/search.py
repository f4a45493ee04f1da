"""Runs as one wide DataFrame, and read-only SQL over the public tables.

The filter and order arrive as SQL fragments compiled by nbtrack's own grammar: fixed SQL
text with ``?`` placeholders, every user value bound.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from nbtrack.errors import InvalidValueError
from nbtrack.store import gateway
from nbtrack.store.remote.operations import remote_operation
from nbtrack.store.schema import ARTIFACTS_FOLDER

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

T = TypeVar("T")

# MLflow's columns (run_name and the experiment's name are nbtrack's own), then nbtrack's.
BASE_COLUMNS = [
    "run_id", "run_name", "experiment", "status", "start_time", "end_time", "experiment_id",
    "artifact_uri", "duration", "parent_run_id",
]  # fmt: skip

# The tables `sql()` shows, with times as TIMESTAMP (UTC) and bookkeeping columns left out.
PUBLIC_VIEWS = {
    "experiments": "SELECT experiment_id, name, lifecycle_stage, artifact_location, "
    "make_timestamp(created_at) AS created_at, make_timestamp(updated_at) AS updated_at "
    "FROM {db}.main.experiments",
    "runs": "SELECT run_id, experiment_id, run_name, status, make_timestamp(start_time) AS "
    "start_time, make_timestamp(end_time) AS end_time, lifecycle_stage, parent_run_id, "
    "source, source_name, git_commit, user_id, host, error, artifact_uri FROM {db}.main.runs",
    "params": "SELECT run_id, key, value, value_json, kind FROM {db}.main.params",
    "metrics": "SELECT run_id, key, value, step, make_timestamp(timestamp) AS timestamp, seq "
    "FROM {db}.main.metrics",
    "latest_metrics": "SELECT run_id, key, value, step, make_timestamp(timestamp) AS timestamp, "
    "min_value, max_value, count FROM {db}.main.latest_metrics",
    "tags": "SELECT run_id, key, value FROM {db}.main.tags",
    "run_spans": "SELECT run_id, make_timestamp(start_time) AS start_time, "
    "make_timestamp(end_time) AS end_time FROM {db}.main.run_spans",
    "registered_models": "SELECT name, description, make_timestamp(created_at) AS created_at, "
    "make_timestamp(updated_at) AS updated_at FROM {db}.main.registered_models",
    "model_versions": "SELECT name, version, run_id, source, status, description, "
    "make_timestamp(created_at) AS created_at FROM {db}.main.model_versions",
    "aliases": "SELECT name, alias, version FROM {db}.main.aliases",
    "registered_model_tags": "SELECT name, key, value FROM {db}.main.registered_model_tags",
    "model_version_tags": "SELECT name, version, key, value FROM {db}.main.model_version_tags",
}

# sql() stops a query after SQL_TIMEOUT_S unless given another limit, SQL_MAX_TIMEOUT_S at most:
# while it reads, a write in any other process waits, and gives up after the gateway's
# deadline, so a query must be over well before that.
SQL_TIMEOUT_S = 10.0
SQL_MAX_TIMEOUT_S = gateway.DEFAULT_DEADLINE_S - 10.0

# sql()'s own connection: no file but the store's; temporary files capped, so a runaway join
# cannot fill the disk; and settings locked, so a SET in the query lifts none of this.
SQL_SETTINGS: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "max_temp_directory_size": "2GiB",
    "lock_configuration": True,
}

# A temp table dropped after each search: the pivots join to it instead of repeating the filter.
_SELECTED = "nbtrack_selected_runs"


@remote_operation("read")
def search_runs(
    con: duckdb.DuckDBPyConnection,
    experiment_ids: Sequence[str],
    where: tuple[str, list[Any]],
    order: tuple[str, list[Any]],
    max_results: int | None,
    include_deleted: bool,
    artifacts_root: str,
    with_min_max: bool = False,
) -> pd.DataFrame:
    """One row per matching run: the base columns, then params.*, metrics.*, tags.*.

    ``artifacts_root`` is the store's artifact folder as an absolute path: the runs' artifact
    URIs, stored relative to the store's folder, are shown (and filtered on) below it.
    ``duration`` is the seconds the run was active (the sum of its spans; an open span of a
    RUNNING run counts until now), ``parent_run_id`` the run it was started in, if any.

    The matching runs are chosen first; then only their params, metrics and tags are read,
    long (row, key, value), and laid out wide in numpy: one column per key, named from the
    data, with no identifier ever written into the SQL. The cost follows the rows returned
    and their keys, not the size of the store or a per-column aggregate.
    """
    import pandas as pd

    _select_runs(con, experiment_ids, where, order, max_results, include_deleted, artifacts_root)
    try:
        base = con.execute(_BASE, [time.time_ns() // 1000]).df()
        params, kinds = _wide_params(con, len(base))
        metrics = [_wide(con, "latest_metrics", "value", "metrics.", "", len(base))]
        if with_min_max:
            metrics += [
                _wide(con, "latest_metrics", f"{stat}_value", "metrics.", f".{stat}", len(base))
                for stat in ("min", "max")
            ]
        tags = _wide(con, "tags", "value", "tags.", "", len(base), text=True)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_SELECTED}")
    frame = pd.concat([base, params, *metrics, tags], axis=1)
    return _typed_and_ordered(frame, kinds)


# The spans of the selected runs only; a run without spans (never seen from a journal) counts
# from its start to its end, or to now while it runs.
_BASE = f"""
    WITH active AS (
        SELECT p.run_id,
               sum(greatest(coalesce(p.end_time, CASE WHEN s.status = 'RUNNING' THEN $1 END,
                                     s.end_time) - p.start_time, 0)) AS micros,
               bool_or(p.end_time IS NULL AND s.status <> 'RUNNING' AND s.end_time IS NULL)
                   AS unknown
        FROM run_spans p JOIN {_SELECTED} s ON s.run_id = p.run_id GROUP BY p.run_id
    )
    SELECT s.run_id, s.run_name, s.experiment, s.status, s.start_time, s.end_time,
           s.experiment_id, s.artifact_uri,
           CASE WHEN a.unknown THEN NULL
                ELSE coalesce(a.micros, coalesce(s.end_time, CASE WHEN s.status = 'RUNNING'
                              THEN $1 END) - s.start_time) / 1e6 END AS duration,
           s.parent_run_id
    FROM {_SELECTED} s LEFT JOIN active a ON a.run_id = s.run_id
    ORDER BY s.ord
"""  # noqa: S608


def _select_runs(
    con: duckdb.DuckDBPyConnection,
    experiment_ids: Sequence[str],
    where: tuple[str, list[Any]],
    order: tuple[str, list[Any]],
    max_results: int | None,
    include_deleted: bool,
    artifacts_root: str,
) -> None:
    where_sql, where_params = where
    order_sql, order_params = order
    # Every run's artifact_uri starts with the artifact folder's name (nbtrack-artifacts/...,
    # as tracking.run.artifact_folder insists): that prefix becomes the absolute folder.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_SELECTED} AS
        SELECT row_number() OVER (ORDER BY {order_sql}) AS ord,
               r.run_id, r.run_name, e.name AS experiment, r.status, r.start_time, r.end_time,
               r.experiment_id, r.artifact_uri, r.parent_run_id
        FROM (
            SELECT * REPLACE (? || substr(artifact_uri, ?) AS artifact_uri) FROM runs
        ) r JOIN experiments e ON e.experiment_id = r.experiment_id
        WHERE list_contains(?, r.experiment_id)
          AND (? OR (r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active'))
          AND ({where_sql})
        ORDER BY ord
        LIMIT ?
        """,  # noqa: S608 (fragments are fixed SQL from nbtrack's grammar; values are bound)
        [
            *order_params,
            artifacts_root,
            len(ARTIFACTS_FOLDER) + 1,
            list(experiment_ids),
            include_deleted,
            *where_params,
            max_results,
        ],
    )


def _long(con: duckdb.DuckDBPyConnection, table: str, column: str) -> dict[str, Any]:
    # Only fixed table and column names from this module reach the SQL text. The keys are
    # numbered in DuckDB, in key order: sorting a million strings is its job, not numpy's.
    return dict(
        con.execute(
            f"SELECT s.ord, dense_rank() OVER (ORDER BY t.key) - 1 AS code, t.key, "  # noqa: S608
            f"t.{column} AS v FROM {table} t JOIN {_SELECTED} s ON s.run_id = t.run_id"
        ).fetchnumpy()
    )


def _wide_params(
    con: duckdb.DuckDBPyConnection, rows: int
) -> tuple[pd.DataFrame, dict[str, set[str]]]:
    """The params of the selected runs, wide, and the JSON types each key was logged with
    (to type its column)."""
    kinds = {
        key: set(types)
        for key, types in con.execute(
            f"SELECT p.key, list(DISTINCT p.kind) FROM params p "  # noqa: S608
            f"JOIN {_SELECTED} s ON s.run_id = p.run_id GROUP BY p.key"
        ).fetchall()
    }
    return _layout(_long(con, "params", "value"), "params.", "", rows, text=True), kinds


def _wide(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    prefix: str,
    suffix: str,
    rows: int,
    *,
    text: bool = False,
) -> pd.DataFrame:
    return _layout(_long(con, table, column), prefix, suffix, rows, text=text)


def _layout(
    long: dict[str, Any], prefix: str, suffix: str, rows: int, *, text: bool
) -> pd.DataFrame:
    """(row, key number, key, value) as a rows-by-keys frame, keys sorted, missing cells
    empty."""
    import numpy as np
    import pandas as pd

    columns = np.asarray(long["code"], dtype=np.int64)
    keys = np.empty(int(columns.max()) + 1 if len(columns) else 0, dtype=object)
    keys[columns] = np.asarray(long["key"], dtype=object)
    values = np.ma.filled(long["v"], None if text else np.nan)
    grid = np.full((rows, len(keys)), None if text else np.nan, dtype=object if text else float)
    grid[np.asarray(long["ord"], dtype=np.int64) - 1, columns] = values
    names = [f"{prefix}{key}{suffix}" for key in keys]
    return pd.DataFrame(grid, columns=names, dtype="str" if text else None)


def _typed_and_ordered(frame: pd.DataFrame, kinds: dict[str, set[str]]) -> pd.DataFrame:
    import pandas as pd

    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="us", utc=True)
    for key, types in kinds.items():
        _type_param_column(frame, f"params.{key}", types)
    metrics = sorted(c for c in frame.columns if c.startswith("metrics."))
    rest = [c for c in frame.columns if not c.startswith("metrics.") and not c.startswith("tags.")]
    tags = [c for c in frame.columns if c.startswith("tags.")]
    return frame[rest + metrics + tags]


def _type_param_column(frame: pd.DataFrame, column: str, types: set[str]) -> None:
    """Params come back as text; a column of numbers becomes numeric, of bools boolean.
    Anything mixed stays text, as MLflow shows it."""
    import pandas as pd

    if column not in frame:
        return
    if types <= {"BIGINT", "UBIGINT"}:
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    elif types <= {"BIGINT", "UBIGINT", "DOUBLE"}:
        # Python's float parser, not to_numeric, which refuses the "nan" and "inf" a param
        # such as GridSearchCV's error_score=nan is shown as.
        frame[column] = frame[column].astype("float64")
    elif types == {"BOOLEAN"}:
        frame[column] = frame[column].map({"True": True, "False": False}).astype("boolean")


def run_sql(con: duckdb.DuckDBPyConnection, query: str, timeout_s: float) -> pd.DataFrame:
    """``query`` over the public views, on a read-only connection without file access, stopped
    after ``timeout_s`` seconds or by Ctrl-C."""
    return run_sql_with(con, query, timeout_s, lambda: con.execute(query).df())


def run_sql_with(
    con: duckdb.DuckDBPyConnection, query: str, timeout_s: float, fetch: Callable[[], T]
) -> T:
    """``fetch()`` (which runs ``query`` on ``con``) over the public views, with ``run_sql``'s
    time limit, Ctrl-C and errors: how the answer is collected is the caller's."""
    import duckdb

    if not isinstance(query, str) or not query.strip():
        raise InvalidValueError(f"sql() takes a non-empty SQL string, got {query!r}")
    (database,) = con.execute("SELECT current_database()").fetchone() or ("",)
    quoted = '"' + str(database).replace('"', '""') + '"'
    for name, definition in PUBLIC_VIEWS.items():
        con.execute(f"CREATE TEMP VIEW {name} AS {definition.format(db=quoted)}")
    try:
        return _within(con, fetch, timeout_s)
    except _TimedOut:
        raise InvalidValueError(
            f"sql(): the query was stopped at its time limit of {timeout_s:g} s; allow it more "
            f"with nbtrack.sql(query, timeout=...) (at most {SQL_MAX_TIMEOUT_S:g} s: writes in "
            "other processes wait while it runs) or narrow it. For longer analyses, "
            "`nbtrack export DIR` writes every table as Parquet for DuckDB itself"
        ) from None
    except duckdb.OutOfMemoryException:
        cap = SQL_SETTINGS["max_temp_directory_size"]
        raise InvalidValueError(
            "sql(): the query needs more memory than DuckDB may use here, and more than the "
            f"{cap} of temporary files sql() may spill to; narrow it (filter or aggregate "
            "before joining, or add a LIMIT)"
        ) from None
    except duckdb.Error as exc:
        message = str(exc).split("\n", 1)[0]
        raise InvalidValueError(
            f"sql(): {message}. sql() reads the tables {', '.join(PUBLIC_VIEWS)} on a "
            "read-only connection: it cannot change the store or read other files"
        ) from None


class _TimedOut(Exception):
    pass


def _within(con: duckdb.DuckDBPyConnection, fetch: Callable[[], T], timeout_s: float) -> T:
    """Run ``fetch`` in a worker thread and wait for it here: while DuckDB runs, this thread
    never returns to Python, so neither Ctrl-C (KeyboardInterrupt, raised only between
    bytecodes) nor a time limit could reach it. Either one interrupts DuckDB."""
    import duckdb

    outcome: list[T | BaseException] = []
    # Waited on rather than Thread.join: in Python 3.11 a Ctrl-C that interrupts join() can
    # mark a thread that is still running as finished.
    done = threading.Event()

    def work() -> None:
        try:
            outcome.append(fetch())
        except BaseException as exc:
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=work, name="nbtrack-sql", daemon=True).start()
    try:
        finished = done.wait(timeout_s)
    except BaseException:
        _stop(con, done)
        raise
    if not finished:
        _stop(con, done)
    result = outcome[0]
    if isinstance(result, BaseException):
        if not finished and isinstance(result, duckdb.InterruptException):
            raise _TimedOut from None
        raise result
    return result


def _stop(con: duckdb.DuckDBPyConnection, done: threading.Event) -> None:
    # The connection is closed after this returns, so the worker must be done with it first.
    # Interrupted again and again: an interrupt that comes before DuckDB starts the query is
    # lost. A second Ctrl-C meanwhile changes nothing; the first is re-raised.
    while not done.is_set():
        con.interrupt()
        with contextlib.suppress(KeyboardInterrupt):
            done.wait(0.05)


@remote_operation("read")
def metric_histories(
    con: duckdb.DuckDBPyConnection,
    run_ids: Sequence[str],
    keys: Sequence[str] | None,
    max_points: int,
) -> pd.DataFrame:
    """Every point of the runs' metrics in step order, at most ``max_points`` per run
    and key: a longer history keeps every n-th point plus its last, chosen in SQL."""
    frame: pd.DataFrame = con.execute(
        """
        WITH ranked AS (
            SELECT m.run_id, r.run_name, m.key, m.step, m.value, m.seq,
                   row_number() OVER (PARTITION BY m.run_id, m.key ORDER BY m.step, m.seq) AS nth,
                   count(*) OVER (PARTITION BY m.run_id, m.key) AS points
            FROM metrics m JOIN runs r ON r.run_id = m.run_id
            WHERE list_contains(?, m.run_id) AND (? OR list_contains(?, m.key))
        )
        SELECT run_id, run_name, key, step, value FROM ranked
        WHERE points <= ? OR (nth - 1) % CAST(ceil(points / ?) AS BIGINT) = 0 OR nth = points
        ORDER BY run_id, key, step, seq
        """,
        [list(run_ids), keys is None, list(keys or []), max_points, float(max_points)],
    ).df()
    return frame
