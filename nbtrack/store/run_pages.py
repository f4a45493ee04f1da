"""What a paged runs table needs besides the page itself: how many runs match, and every key
the experiment's runs have (for the columns chooser). The page is ``search.search_runs`` with a
limit; these two keep a large experiment from being read whole to draw 50 rows.

The filter arrives compiled by nbtrack's grammar (fixed SQL text, every value bound), and is
applied exactly as ``search.search_runs`` applies it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.store.remote.operations import remote_operation
from nbtrack.store.schema import ARTIFACTS_FOLDER

if TYPE_CHECKING:
    import duckdb


@remote_operation("read")
def page_of_runs(
    con: duckdb.DuckDBPyConnection,
    experiment_ids: Sequence[str],
    where: tuple[str, list[Any]],
    order: tuple[str, list[Any]],
    limit: int,
    offset: int,
    artifacts_root: str,
) -> tuple[int, list[str]]:
    """How many active runs of the experiments the filter matches, and the ids of those from
    ``offset`` to ``offset + limit`` in ``order``. The filter is evaluated once; the page is a
    top-N query (no window over every run), so only its runs' values are read afterwards."""
    where_sql, where_params = where
    order_sql, order_params = order
    rows = con.execute(
        f"""
        WITH matching AS MATERIALIZED (
            SELECT r.* FROM (
                SELECT * REPLACE (? || substr(artifact_uri, ?) AS artifact_uri) FROM runs
            ) r JOIN experiments e ON e.experiment_id = r.experiment_id
            WHERE list_contains(?, r.experiment_id)
              AND r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active'
              AND ({where_sql})
        )
        SELECT (SELECT count(*) FROM matching), list(run_id) FROM (
            SELECT r.run_id FROM matching r ORDER BY {order_sql} LIMIT ? OFFSET ?
        )
        """,  # noqa: S608 (fragments are fixed SQL from nbtrack's grammar; values are bound)
        [
            artifacts_root, len(ARTIFACTS_FOLDER) + 1, list(experiment_ids), *where_params,
            *order_params, limit, offset,
        ],
    ).fetchone()  # fmt: skip
    if rows is None:
        return 0, []
    return int(rows[0]), [str(run_id) for run_id in rows[1] or []]


# The page's runs, chosen by id: fixed SQL, the ids bound.
BY_IDS = "list_contains(?, r.run_id)"


@remote_operation("read")
def run_keys(con: duckdb.DuckDBPyConnection, experiment_ids: Sequence[str]) -> list[str]:
    """Every ``params.<k>``, ``metrics.<k>`` and ``tags.<k>`` the experiments' active runs
    have, sorted."""
    rows = con.execute(
        """
        WITH chosen AS (
            SELECT run_id FROM runs
            WHERE list_contains(?, experiment_id) AND lifecycle_stage = 'active'
        )
        SELECT DISTINCT 'params.' || key FROM params JOIN chosen USING (run_id)
        UNION SELECT DISTINCT 'metrics.' || key FROM latest_metrics JOIN chosen USING (run_id)
        UNION SELECT DISTINCT 'tags.' || key FROM tags JOIN chosen USING (run_id)
        """,
        [list(experiment_ids)],
    ).fetchall()
    return sorted(str(row[0]) for row in rows)
