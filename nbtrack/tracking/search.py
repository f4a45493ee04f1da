"""Finding runs: ``search_runs`` and read-only ``sql`` over the whole store."""

from __future__ import annotations

import numbers
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.errors import InvalidValueError
from nbtrack.store import combined, experiments
from nbtrack.store import search as store_search
from nbtrack.store.current import current_store
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.tracking import _current
from nbtrack.tracking.filters import compile_filter, compile_order_by
from nbtrack.tracking.validation import check_name, shown

if TYPE_CHECKING:
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
    ``end_time``, ``experiment_id``, ``artifact_uri``, ``duration`` (seconds the run was
    active: the sum of its spans, so a run reopened later does not count the time between),
    ``parent_run_id`` (the run it was started in, for tables that group children under their
    parent), then ``params.<key>`` (values as logged), ``metrics.<key>`` (the latest value as
    MLflow defines it: the point at the highest step, then the newest; ``with_min_max`` adds
    ``metrics.<key>.min`` / ``.max``) and ``tags.<key>``.

    Examples
    --------
    >>> nbtrack.search_runs(filter="metrics.loss < 0.1", order_by="metrics.loss")  # doctest: +SKIP
    """
    if max_results is not None:
        max_results = _max_results(max_results)
    wanted = _experiments(experiment)
    where = compile_filter(filter)
    order = compile_order_by(list(order_by) if isinstance(order_by, (list, tuple)) else order_by)

    store = current_store()
    # Resolved as tracking.run.artifact_folder resolves a run's folder: the same text as
    # Run.artifact_uri, even where the artifact folder is a symbolic link.
    artifacts_root = str((store.folder / ARTIFACTS_FOLDER).resolve())

    return store.read(
        combined.search_runs_in,
        wanted,
        (where.sql, where.params),
        (order.sql, order.params),
        max_results,
        include_deleted,
        artifacts_root,
        with_min_max,
    )


def _max_results(value: object) -> int:
    # Any integer type (numpy's too), within the 64 bits DuckDB's LIMIT takes.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidValueError(
            f"max_results must be a positive int or None, got {type(value).__name__} {shown(value)}"
        )
    if not 1 <= int(value) <= _INT64_MAX:
        raise InvalidValueError(
            f"max_results must be a positive int up to 2**63 - 1, or None; got {shown(value)}"
        )
    return int(value)


def _experiments(experiment: object) -> list[str]:
    """The names or ids to search; None is the current experiment."""
    if experiment is None:
        return [_current.experiment_name()]
    if isinstance(experiment, str):
        return [check_name(experiment, "experiment")]
    wanted = list(experiment) if isinstance(experiment, Iterable) else None
    if wanted is None or not all(isinstance(name, str) for name in wanted):
        raise InvalidValueError(
            f"experiment must be a name or an id (a str), or a list of them; got "
            f"{type(experiment).__name__} {shown(experiment)}"
        )
    return [check_name(name, "experiment") for name in wanted]


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
_INT64_MAX = 2**63 - 1


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


def empty_experiment_hint(
    experiment: str | None = None, *, command_line: bool = False
) -> str | None:
    """What to say when ``experiment`` (name or id; the current one by default) has no runs
    while others have: which experiments hold runs and how to pick one. None when it has
    runs, or when no experiment has any (then "no runs yet" says it all).

    The words are a notebook's (``nbtrack.set_experiment``, ``%%track --experiment``) unless
    ``command_line``, which gives the ``nbtrack runs list`` options instead.

    Examples
    --------
    >>> nbtrack.tracking.search.empty_experiment_hint()  # doctest: +SKIP
    "The current experiment 'Default' has no runs; runs are in 'sweep' (35 runs). ..."
    """
    wanted = (
        _current.experiment_name() if experiment is None else check_name(experiment, "experiment")
    )

    name, counts = current_store().read(combined.experiment_name_and_run_counts, wanted)
    if dict(counts).get(name, 0):
        return None
    others = [(other, count) for other, count in counts if count and other != name]
    if not others:
        return None
    where = _where_runs_are(others)
    best = others[0][0]
    if command_line:
        subject = f"Experiment {name!r}" + (" (used without -n)" if experiment is None else "")
        how = (
            f"List them with nbtrack runs list -n {shlex.quote(best)}, or those of every "
            "experiment with --all-experiments."
        )
    else:
        current = name == _current.experiment_name()
        subject = f"{'The current experiment' if current else 'Experiment'} {name!r}"
        how = (
            f"Make one current with nbtrack.set_experiment({best!r}) or %%track --experiment "
            f"{shlex.quote(best)}, or name it in compare(experiment={best!r}) or %nbtrack runs "
            f"--experiment {shlex.quote(best)}."
        )
    return f"{subject} has no runs; runs are in {where}. {how}"


def _where_runs_are(counts: list[tuple[str, int]]) -> str:
    """``'sweep' (35 runs), 'iris' (3 runs) and 2 more``."""
    listed = [f"{name!r} ({count} run{'' if count == 1 else 's'})" for name, count in counts]
    if len(listed) > _HINT_EXPERIMENTS:
        listed = [*listed[:_HINT_EXPERIMENTS], f"{len(listed) - _HINT_EXPERIMENTS} more"]
    return listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"


# The experiments a hint names, most runs first; more would not be read.
_HINT_EXPERIMENTS = 5
