"""Store operations that MLflow's protocol needs, by MLflow's experiment ids.

MLflow's id ``"0"`` is the experiment named ``Default``. Each function here is one whole
answer (an experiment with its tags, a page of runs), so ``mlflow_compat`` asks the store once
per MLflow call — and, being module-level and marked, an ``nbtrack server`` runs them for a
client whose tracking URI is ``nbtrack+http://``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from nbtrack.entities import Experiment
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.store import experiments, runs, whole_runs
from nbtrack.store.remote.operations import remote_operation
from nbtrack.store.whole_runs import FullRun

if TYPE_CHECKING:
    import duckdb

DEFAULT_EXPERIMENT: Final = "Default"
DEFAULT_EXPERIMENT_ID: Final = "0"

Tags = dict[str, str]


@remote_operation("read")
def experiment_by_mlflow_id(con: duckdb.DuckDBPyConnection, mlflow_id: object) -> Experiment:
    """The experiment MLflow calls ``mlflow_id``; NotFoundError if there is none."""
    if not isinstance(mlflow_id, str) or not mlflow_id:
        raise InvalidValueError(
            f"Invalid value {mlflow_id!r} for parameter 'experiment_id' supplied"
        )
    if mlflow_id == DEFAULT_EXPERIMENT_ID:
        found = experiments.find_experiment(con, DEFAULT_EXPERIMENT)
        if found is not None:
            return found
    else:
        for experiment in experiments.list_experiments(con, include_deleted=True):
            if experiment.id == mlflow_id:
                return experiment
    raise NotFoundError(f"No Experiment with id={mlflow_id} exists")


@remote_operation("write")
def experiment_for_mlflow_runs(con: duckdb.DuckDBPyConnection, mlflow_id: str) -> Experiment:
    """The experiment a new run goes to; ``"0"`` makes ``Default`` if it is missing."""
    if mlflow_id == DEFAULT_EXPERIMENT_ID:
        return experiments.get_or_create_experiment(con, DEFAULT_EXPERIMENT)
    return experiment_by_mlflow_id(con, mlflow_id)


@remote_operation("write")
def create_tagged_experiment(
    con: duckdb.DuckDBPyConnection, name: str, tags: Sequence[tuple[str, str]]
) -> Experiment:
    """A new experiment and its first tags, in one transaction."""
    created = experiments.create_experiment(con, name)
    for key, value in tags:
        experiments.set_experiment_tag(con, created.id, key, value)
    return created


@remote_operation("read")
def experiment_with_tags(con: duckdb.DuckDBPyConnection, mlflow_id: str) -> tuple[Experiment, Tags]:
    found = experiment_by_mlflow_id(con, mlflow_id)
    return found, experiments.experiment_tags(con, [found.id]).get(found.id, {})


@remote_operation("read")
def named_experiment_with_tags(
    con: duckdb.DuckDBPyConnection, name: str
) -> tuple[Experiment, Tags]:
    """The experiment of exactly this name (MLflow's names are case-sensitive)."""
    found = experiments.find_experiment(con, name)
    if found is None or found.name != name:
        raise NotFoundError(f"Could not find experiment with name '{name}'")
    return found, experiments.experiment_tags(con, [found.id]).get(found.id, {})


@remote_operation("read")
def all_experiments_with_tags(
    con: duckdb.DuckDBPyConnection,
) -> tuple[list[Experiment], dict[str, Tags]]:
    every = experiments.list_experiments(con, True)
    return every, experiments.experiment_tags(con, [e.id for e in every])


def _active(con: duckdb.DuckDBPyConnection, mlflow_id: str) -> Experiment:
    found = experiment_by_mlflow_id(con, mlflow_id)
    if found.deleted:
        raise InvalidValueError(
            f"The experiment {mlflow_id} must be in the 'active' state. Current state is deleted."
        )
    return found


@remote_operation("write")
def tag_active_experiment(
    con: duckdb.DuckDBPyConnection, mlflow_id: str, key: str, value: str
) -> None:
    experiments.set_experiment_tag(con, _active(con, mlflow_id).id, key, value)


@remote_operation("write")
def untag_active_experiment(con: duckdb.DuckDBPyConnection, mlflow_id: str, key: str) -> None:
    """Remove a tag of an active experiment; NotFoundError if it has none by that name."""
    found = _active(con, mlflow_id)
    try:
        experiments.delete_experiment_tag(con, found.id, key)
    except NotFoundError:
        raise NotFoundError(f"No tag with name: {key} in experiment with id {mlflow_id}") from None


@remote_operation("read")
def loggable_state(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[FullRun, int]:
    """A run as it stands, and the last sequence number of its metric points (a writer in
    another process continues from there)."""
    try:
        full = whole_runs.full_run(con, run_id)
    except NotFoundError:
        raise NotFoundError(f"Run with id={run_id} not found") from None
    return full, runs.resume_state(con, run_id).last_seq


@remote_operation("read")
def page_of_full_runs(
    con: duckdb.DuckDBPyConnection,
    mlflow_ids: Sequence[str],
    query: tuple[tuple[str, list[Any]], tuple[str, list[Any]]],
    stage: str,
    window: tuple[int, int],
    artifacts_root: str,
) -> list[FullRun]:
    """MLflow's search_runs: the runs of a page (``window`` is offset, limit), whole.
    ``query`` is the filter and order as compiled by nbtrack's grammar."""
    ids = [experiment_by_mlflow_id(con, given).id for given in mlflow_ids]
    where, order = query
    offset, limit = window
    page = whole_runs.page_of_run_ids(con, ids, where, order, stage, offset, limit, artifacts_root)
    return whole_runs.full_runs(con, page)
