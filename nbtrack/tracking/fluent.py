"""The module-level API: thin wrappers over ``ActiveRun`` and the current store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nbtrack.entities import END_STATUSES, FINISHED, Experiment, Run
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.store import experiments, runs
from nbtrack.store.current import current_store
from nbtrack.tracking import _current, lifecycle, run_refs
from nbtrack.tracking.run import ActiveRun
from nbtrack.tracking.run import get_run as tracked_run
from nbtrack.tracking.validation import check_name

if TYPE_CHECKING:
    import pandas as pd


# -- experiments ---------------------------------------------------------------------------------


def set_experiment(name: str) -> Experiment:
    """Get or create the experiment ``name`` and make it the default for new runs.

    Examples
    --------
    >>> nbtrack.set_experiment("churn-model")  # doctest: +SKIP
    """
    experiment = current_store().write(
        experiments.get_or_create_experiment, check_name(name, "experiment name")
    )
    _current.choose_experiment(experiment.name)
    return experiment


def create_experiment(name: str) -> Experiment:
    """Create the experiment ``name``; an existing name raises ``InvalidValueError``."""
    return current_store().write(experiments.create_experiment, check_name(name, "experiment name"))


def get_experiment(name_or_id: str) -> Experiment:
    """The experiment with this name (or id); ``NotFoundError`` if there is none."""
    return current_store().read(experiments.get_experiment, check_name(name_or_id, "experiment"))


def list_experiments() -> list[Experiment]:
    """Every experiment of the store, oldest first."""
    return current_store().read(experiments.list_experiments)


def current_experiment_name() -> str:
    """The experiment new runs go to (``set_experiment``'s, else "Default")."""
    return _current.experiment_name()


# -- runs ----------------------------------------------------------------------------------------


def start_run(
    name: str | None = None,
    experiment: str | None = None,
    tags: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    nested: bool = False,
) -> ActiveRun:
    """Open a run; use it in a ``with`` block so it ends FINISHED, FAILED or KILLED.

    Inside another run's ``with`` block (or with ``nested=True``) the new run is its child. A
    run left open by an earlier notebook cell is closed first, never reported as "already
    active". ``run_id=`` reopens an existing run.

    Examples
    --------
    >>> with nbtrack.start_run(name="baseline") as run:  # doctest: +SKIP
    ...     nbtrack.log_param("lr", 0.1)
    ...     nbtrack.log_metric("loss", 0.25, step=1)
    """
    return lifecycle.open_run(
        name=name, experiment=experiment, tags=tags, run_id=run_id, nested=nested
    )


def end_run(status: str = FINISHED) -> None:
    """End the active run (if any) with ``status``."""
    if status not in END_STATUSES:
        raise InvalidValueError(f"status {status!r} is not one of {', '.join(END_STATUSES)}")
    active = _current.top()
    if active is not None:
        active.end(status)


def active_run() -> ActiveRun | None:
    """The run ``log_*`` calls go to, or None."""
    return lifecycle.active_run()


def last_run() -> Run | None:
    """The newest run started by this process, as the store holds it now."""
    run = lifecycle.last_started()
    return None if run is None else run.snapshot()


def get_run(run_id: str) -> Run:
    """The run ``run_id`` (its full id) as the store holds it; ``NotFoundError`` if there is
    none.

    Full ids only, as MLflow's ``get_run``: a short id or a name unique today may match a
    second run tomorrow. ``%%track --run`` and ``nbtrack runs show`` take those; for an id
    that is only the start of one, the error names the run it means.
    """
    checked = check_name(run_id, "run_id")
    try:
        return tracked_run(current_store(), checked)
    except NotFoundError as exc:
        meant = run_refs.meant_by(checked)
        if not meant:
            raise
        listed = ", ".join(f"{match.run_id} ({match.name!r})" for match in meant[:5])
        raise NotFoundError(
            f"{exc}; get_run takes a full run id, as MLflow's does, and {checked!r} is the "
            f"start or the name of: {listed}"
        ) from None


def get_metric_history(run_id: str, key: str, max_points: int | None = None) -> pd.DataFrame:
    """Every point of metric ``key`` of a run: step, value, timestamp, in step order (then by
    time), as MLflow returns them. ``max_points`` thins a long history for a chart: every
    n-th point and always the last.

    Examples
    --------
    >>> nbtrack.get_metric_history(run.id, "loss", max_points=1000)  # doctest: +SKIP
    """
    if max_points is not None and (
        isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2
    ):
        raise InvalidValueError(
            f"max_points must be an int of at least 2 (or None for every point), got {max_points!r}"
        )
    return current_store().read(
        runs.metric_history,
        check_name(run_id, "run_id"),
        check_name(key, "metric key"),
        max_points,
    )


# -- logging to the active run -------------------------------------------------------------------


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Log one point of a metric to the active run."""
    _current.get_run().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log several metrics to the active run."""
    _current.get_run().log_metrics(metrics, step)


def log_param(key: str, value: Any) -> None:
    """Log a param (write-once) to the active run."""
    _current.get_run().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Log several params to the active run."""
    _current.get_run().log_params(params)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _current.get_run().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active run."""
    _current.get_run().set_tags(tags)


def flush() -> None:
    """Move everything this process logged into the store now (reads do this by themselves)."""
    current_store().flush()
