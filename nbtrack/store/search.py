"""Runs as one wide DataFrame, and read-only SQL over the public tables.

The filter and order arrive as SQL fragments compiled by nbtrack's own grammar: fixed SQL
text with ``?`` placeholders, every user value bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.errors import InvalidValueError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

BASE_COLUMNS = ["run_id", "run_name", "experiment", "status", "start_time", "end_time"]

# The tables `sql()` shows, with times as TIMESTAMP (UTC) and bookkeeping columns left out.
PUBLIC_VIEWS = {
    "experiments": "SELECT experiment_id, name, lifecycle_stage, artifact_location, "
    "make_timestamp(created_at) AS created_at, make_timestamp(updated_at) AS updated_at "
    "FROM {db}.main.experiments",
    "runs": "SELECT run_id, experiment_id, run_name, status, make_timestamp(start_time) AS "
    "start_time, make_timestamp(end_time) AS end_time, lifecycle_stage, parent_run_id, "
    "source, source_name, git_commit, user_id, host, error, artifact_uri FROM {db}.main.runs",
    "params": "SELECT run_id, key, value, value_json FROM {db}.main.params",
    "metrics": "SELECT run_id, key, value, step, make_timestamp(timestamp) AS timestamp, seq "
    "FROM {db}.main.metrics",
    "latest_metrics": "SELECT run_id, key, value, step, make_timestamp(timestamp) AS timestamp, "
    "min_value, max_value, count FROM {db}.main.latest_metrics",
    "tags": "SELECT run_id, key, value FROM {db}.main.tags",
}


def search_runs(
    con: duckdb.DuckDBPyConnection,
    experiment_ids: Sequence[str],
    where: tuple[str, list[Any]],
    order: tuple[str, list[Any]],
    max_results: int | None,
    include_deleted: bool,
    with_min_max: bool = False,
) -> pd.DataFrame:
    """One row per matching run: the base columns, then params.*, metrics.*, tags.*."""
    import pandas as pd

    where_sql, where_params = where
    order_sql, order_params = order
    runs = con.execute(
        f"""
        SELECT r.run_id, r.run_name, e.name AS experiment, r.status, r.start_time, r.end_time
        FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id
        WHERE list_contains(?, r.experiment_id)
          AND (? OR (r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active'))
          AND ({where_sql})
        ORDER BY {order_sql}
        LIMIT ?
        """,  # noqa: S608 (fragments are fixed SQL from nbtrack's grammar; values are bound)
        [list(experiment_ids), include_deleted, *where_params, *order_params, max_results],
    ).fetchnumpy()
    frame = pd.DataFrame({column: runs[column] for column in BASE_COLUMNS})
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="us", utc=True)
    ids = list(frame["run_id"])
    parts = [frame.set_index("run_id")]
    if ids:
        parts.append(_params_wide(con, ids))
        parts.append(_metrics_wide(con, ids, with_min_max))
        parts.append(_tags_wide(con, ids))
    wide = pd.concat(parts, axis=1).reindex(ids) if len(parts) > 1 else parts[0]
    return wide.rename_axis("run_id").reset_index()


def _long(con: duckdb.DuckDBPyConnection, sql: str, ids: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = con.execute(sql, [ids]).fetchnumpy()
    return result


def _params_wide(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pd.DataFrame:
    import pandas as pd

    rows = _long(
        con,
        "SELECT run_id, key, value, json_type(value_json) AS kind FROM params "
        "WHERE run_id IN (SELECT unnest(?)) ORDER BY key",
        ids,
    )
    long = pd.DataFrame(rows)
    if long.empty:
        return pd.DataFrame(index=pd.Index([], name="run_id"))
    columns = {}
    for key, group in long.groupby("key", sort=True):
        values = group.set_index("run_id")["value"]
        kinds = set(group["kind"])
        # A column of numbers is numeric, of bools is boolean; anything mixed stays text, as
        # MLflow shows it.
        if kinds <= {"BIGINT", "UBIGINT"}:
            values = pd.to_numeric(values).astype("Int64")
        elif kinds <= {"BIGINT", "UBIGINT", "DOUBLE"}:
            values = pd.to_numeric(values)
        elif kinds == {"BOOLEAN"}:
            values = values.map({"True": True, "False": False}).astype("boolean")
        columns[f"params.{key}"] = values
    return pd.DataFrame(columns)


def _metrics_wide(
    con: duckdb.DuckDBPyConnection, ids: list[str], with_min_max: bool
) -> pd.DataFrame:
    import pandas as pd

    long = pd.DataFrame(
        _long(
            con,
            "SELECT run_id, key, value, min_value, max_value FROM latest_metrics "
            "WHERE run_id IN (SELECT unnest(?))",
            ids,
        )
    )
    if long.empty:
        return pd.DataFrame(index=pd.Index([], name="run_id"))
    wide = long.pivot(index="run_id", columns="key", values="value")
    wide.columns = [f"metrics.{key}" for key in wide.columns]
    if not with_min_max:
        return wide.sort_index(axis=1)
    parts = [wide]
    for stat in ("min", "max"):
        extra = long.pivot(index="run_id", columns="key", values=f"{stat}_value")
        extra.columns = [f"metrics.{key}.{stat}" for key in extra.columns]
        parts.append(extra)
    return pd.concat(parts, axis=1).sort_index(axis=1)


def _tags_wide(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pd.DataFrame:
    import pandas as pd

    long = pd.DataFrame(
        _long(con, "SELECT run_id, key, value FROM tags WHERE run_id IN (SELECT unnest(?))", ids)
    )
    if long.empty:
        return pd.DataFrame(index=pd.Index([], name="run_id"))
    wide = long.pivot(index="run_id", columns="key", values="value")
    wide.columns = [f"tags.{key}" for key in wide.columns]
    return wide.sort_index(axis=1)


def run_sql(con: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    """``query`` over the public views, on a read-only connection without file access."""
    import duckdb

    if not isinstance(query, str) or not query.strip():
        raise InvalidValueError(f"sql() takes a non-empty SQL string, got {query!r}")
    (database,) = con.execute("SELECT current_database()").fetchone() or ("",)
    quoted = '"' + str(database).replace('"', '""') + '"'
    for name, definition in PUBLIC_VIEWS.items():
        con.execute(f"CREATE TEMP VIEW {name} AS {definition.format(db=quoted)}")
    try:
        return con.execute(query).df()
    except duckdb.Error as exc:
        message = str(exc).split("\n", 1)[0]
        raise InvalidValueError(
            f"sql(): {message}. sql() reads the tables {', '.join(PUBLIC_VIEWS)} on a "
            "read-only connection: it cannot change the store or read other files"
        ) from None
