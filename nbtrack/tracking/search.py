"""Finding runs: ``search_runs`` and read-only ``sql`` over the whole store."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.errors import InvalidValueError
from nbtrack.store import experiments
from nbtrack.store import search as store_search
from nbtrack.store.store import current_store
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
    ``end_time``, ``duration`` (seconds the run was active: the sum of its spans, so a run
    reopened later does not count the time between), ``parent_run_id`` (the run it was
    started in, for tables that group children under their parent), then ``params.<key>``
    (values as logged), ``metrics.<key>`` (latest value; ``with_min_max`` adds
    ``metrics.<key>.min`` / ``.max``) and ``tags.<key>``.

    Examples
    --------
    >>> nbtrack.search_runs(filter="metrics.loss < 0.1", order_by="metrics.loss")  # doctest: +SKIP
    """
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
    ):
        raise InvalidValueError(f"max_results must be a positive int or None, got {max_results!r}")
    if experiment is None:
        wanted = [_current.experiment_name()]
    elif isinstance(experiment, str):
        wanted = [experiment]
    else:
        wanted = list(experiment)
    where = compile_filter(filter)
    order = compile_order_by(list(order_by) if isinstance(order_by, (list, tuple)) else order_by)

    def query(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        ids = [experiments.get_experiment(con, str(name)).id for name in wanted]
        return store_search.search_runs(
            con,
            ids,
            (where.sql, where.params),
            (order.sql, order.params),
            max_results,
            include_deleted,
            with_min_max,
        )

    return current_store().read(query)


def sql(query: str, timeout: float = store_search.SQL_TIMEOUT_S) -> pd.DataFrame:
    """Read-only SQL over the store: ``experiments``, ``runs``, ``params``, ``metrics`` (every
    step), ``latest_metrics`` and ``tags``. Times are UTC timestamps. Nothing can be changed
    and no other file can be read (COPY, ATTACH, INSTALL, read_csv are refused).

    A query is stopped after ``timeout`` seconds (50 at most: writes in other processes wait
    while it runs), or by Ctrl-C / the stop button.

    Examples
    --------
    >>> nbtrack.sql("SELECT key, max(value) FROM metrics GROUP BY key")  # doctest: +SKIP
    >>> nbtrack.sql("SELECT count(*) FROM metrics a, metrics b", timeout=30)  # doctest: +SKIP
    """
    return current_store().sql(query, _timeout(timeout))


def _timeout(value: object) -> float:
    limit = store_search.SQL_MAX_TIMEOUT_S
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0 < float(value) <= limit
    ):
        raise InvalidValueError(
            f"sql(timeout={value!r}) is not accepted: give a number of seconds above 0 and at "
            f"most {limit:g} (writes in other processes wait while a query runs)"
        )
    return float(value)


def runs_frame(
    experiment: str | Sequence[str] | None = None,
    runs: Sequence[object] | None = None,
    filter: str | None = None,
) -> pd.DataFrame:
    """The runs a comparison shows: those of ``experiment``, or exactly ``runs`` (ids,
    ``Run`` or open runs, from any experiment), narrowed by ``filter``."""
    if runs is None:
        return search_runs(experiment=experiment, filter=filter)
    ids = [_run_id(run) for run in runs]
    if not ids:
        return search_runs(experiment=experiment, filter="attributes.run_id IS NULL")
    listed = ", ".join(f"'{run_id}'" for run_id in ids)  # checked hex ids: no quote can occur
    chosen = f"attributes.run_id IN ({listed})"
    combined = chosen if not filter else f"({chosen}) and ({filter})"
    store = current_store()
    every = [e.id for e in store.read(experiments.list_experiments)]
    frame = search_runs(experiment=every, filter=combined, include_deleted=True)
    order = {run_id: n for n, run_id in enumerate(ids)}
    return frame.sort_values("run_id", key=lambda c: c.map(order)).reset_index(drop=True)


def _run_id(run: object) -> str:
    run_id = run if isinstance(run, str) else getattr(run, "id", None)
    if not isinstance(run_id, str) or len(run_id) != 32 or not all(c in _HEX for c in run_id):
        raise InvalidValueError(
            f"runs=: {run!r:.80} is not a run; give run ids (32 hex characters), Run objects "
            "or open runs"
        )
    return run_id


_HEX = frozenset("0123456789abcdef")


def metric_histories(
    run_ids: Sequence[str], keys: Sequence[str] | None = None, max_points: int = 1000
) -> pd.DataFrame:
    """Metric histories of several runs (long: run_id, run_name, key, step, value), at most
    ``max_points`` per run and key, thinned in SQL so charts stay small."""
    if not run_ids:
        import pandas as pd

        return pd.DataFrame(columns=["run_id", "run_name", "key", "step", "value"])
    return current_store().read(
        store_search.metric_histories, list(run_ids), list(keys) if keys else None, max_points
    )


def changes_marker() -> Path:
    """The file the current store touches after each change (for pollers)."""
    return current_store().marker
