"""Finding runs: ``search_runs`` and read-only ``sql`` over the whole store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nbtrack import config
from nbtrack.errors import InvalidValueError
from nbtrack.store import queries
from nbtrack.store import search as store_search
from nbtrack.store.schema import DEFAULT_EXPERIMENT_NAME
from nbtrack.store.store import get_store
from nbtrack.tracking import _current
from nbtrack.tracking.filters import compile_filter, compile_order_by

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


def search_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    max_results: int | None = None,
    include_deleted: bool = False,
    with_min_max: bool = False,
) -> pd.DataFrame:
    """Runs as a DataFrame, one row per run, with MLflow's column names.

    ``experiment``: a name, an id or a list of them; None means the current experiment.
    ``filter``: MLflow's filter syntax plus ``or`` and parentheses, e.g.
    ``"metrics.acc > 0.9 and (params.optimizer = 'adam' or tags.team = 'vision')"``.
    ``order_by``: e.g. ``["metrics.acc DESC", "start_time"]``; newest first by default.
    Columns: ``run_id``, ``run_name``, ``experiment``, ``status``, ``start_time``,
    ``end_time``, then ``params.<key>`` (values as logged), ``metrics.<key>`` (latest value;
    ``with_min_max`` adds ``metrics.<key>.min`` / ``.max``) and ``tags.<key>``.

    Examples
    --------
    >>> nbtrack.search_runs(filter="metrics.loss < 0.1", order_by="metrics.loss")  # doctest: +SKIP
    """
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
    ):
        raise InvalidValueError(f"max_results must be a positive int or None, got {max_results!r}")
    if experiment is None:
        wanted = [_current.experiment_name() or DEFAULT_EXPERIMENT_NAME]
    elif isinstance(experiment, str):
        wanted = [experiment]
    else:
        wanted = list(experiment)
    where = compile_filter(filter)
    order = compile_order_by(list(order_by) if isinstance(order_by, (list, tuple)) else order_by)

    def query(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        ids = [queries.get_experiment(con, str(name)).id for name in wanted]
        return store_search.search_runs(
            con,
            ids,
            (where.sql, where.params),
            (order.sql, order.params),
            max_results,
            include_deleted,
            with_min_max,
        )

    return get_store(config.resolve_store_path()).read(query)


def sql(query: str) -> pd.DataFrame:
    """Read-only SQL over the store: ``experiments``, ``runs``, ``params``, ``metrics`` (every
    step), ``latest_metrics`` and ``tags``. Times are UTC timestamps. Nothing can be changed
    and no other file can be read (COPY, ATTACH, INSTALL, read_csv are refused).

    Examples
    --------
    >>> nbtrack.sql("SELECT key, max(value) FROM metrics GROUP BY key")  # doctest: +SKIP
    """
    return get_store(config.resolve_store_path()).sql(query)
