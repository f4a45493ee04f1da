"""MLflow's experiments while the ``nbtrack server`` of ``nbtrack+http://`` does not answer.

A new run's journal record needs its experiment's id, which only the server gives out. The
experiments it named to any process of this project are remembered in the spool folder
(``store/remote/experiment_cache.py``, shared with team mode's own ``start_run``), so a client
opened while the server is away still logs into ``Default`` (MLflow's ``"0"``) and into any
experiment the project used before. An experiment never seen here is one error naming the
server; with a store file none of this applies (the file always answers).
"""

from __future__ import annotations

from collections.abc import Callable

from nbtrack.entities import Experiment
from nbtrack.errors import ServerUnreachableError
from nbtrack.mlflow_compat.mapping import DEFAULT_EXPERIMENT, DEFAULT_EXPERIMENT_ID
from nbtrack.store.remote import experiment_cache
from nbtrack.store.remote.store import RemoteStore
from nbtrack.store.store import Store


def remember(store: Store, experiment: Experiment) -> None:
    """Keep ``experiment`` for this project's offline starts (a server's store only)."""
    if isinstance(store, RemoteStore):
        experiment_cache.remember(store.spool_folder, experiment, experiment.name)


def by_mlflow_id(store: Store, mlflow_id: str, exc: ServerUnreachableError) -> Experiment:
    """The remembered experiment MLflow calls ``mlflow_id``, else the error naming the server."""
    if mlflow_id == DEFAULT_EXPERIMENT_ID:
        return by_name(store, DEFAULT_EXPERIMENT, exc)
    found = _find(store, lambda e: e.id == mlflow_id and e.name != DEFAULT_EXPERIMENT)
    if found is None:
        raise _not_known(store, f"experiment id {mlflow_id!r}", exc) from exc
    return found


def by_name(store: Store, name: str, exc: ServerUnreachableError) -> Experiment:
    """The remembered experiment named ``name``, else the error naming the server."""
    found = _find(store, lambda e: e.name == name)
    if found is None:
        raise _not_known(store, f"experiment {name!r}", exc) from exc
    return found


def id_out(store: Store, nbtrack_id: str, exc: ServerUnreachableError) -> str:
    """MLflow's id for nbtrack's ``nbtrack_id`` from what is remembered (``"0"`` is Default)."""
    found = _find(store, lambda e: e.id == nbtrack_id)
    if found is None:
        raise _not_known(store, f"experiment id {nbtrack_id!r}", exc) from exc
    return DEFAULT_EXPERIMENT_ID if found.name == DEFAULT_EXPERIMENT else nbtrack_id


def _find(store: Store, wanted: Callable[[Experiment], bool]) -> Experiment | None:
    if not isinstance(store, RemoteStore):
        return None
    remembered = experiment_cache.remembered(store.spool_folder).values()
    return next((e for e in remembered if wanted(e)), None)


def _not_known(store: Store, what: str, exc: ServerUnreachableError) -> ServerUnreachableError:
    url = store.address.url if isinstance(store, RemoteStore) else "of this process"
    # The connection's own error names its cause; the server's full message is chained.
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    return ServerUnreachableError(
        f"the server {url} does not answer ({type(cause).__name__}), and {what} is new to "
        "this project: it can be used once the server answers. Offline, runs go only to "
        "experiments (Default too) that a process of this project used while the server "
        "answered"
    )
