"""The run a process logs to without having opened it: a project run of ``nbtrack run``.

``nbtrack run`` opens the project run, then starts the entry point with ``NBTRACK_RUN_ID`` (and
``NBTRACK_URI``). In that process the project run is the outer run: ``log_*`` with no run open
go to it, ``start_run()`` with none open returns it (as MLflow's does with ``MLFLOW_RUN_ID``),
and a run opened inside it — a ``%%track`` cell, ``start_run(nested=True)``, a nested project
— is its child, in its experiment unless the process chooses another (as MLflow's child
processes get ``MLFLOW_EXPERIMENT_ID``).

The process never takes the run over: it is not reopened (the store keeps ``nbtrack run`` as
its owner), so an end written here does not count and ``nbtrack run`` alone ends it, with the
entry point's exit status.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nbtrack import config
from nbtrack.entities import RUNNING
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.store import combined
from nbtrack.store.current import current_store
from nbtrack.store.store import Store
from nbtrack.tracking import _current
from nbtrack.tracking.run import ActiveRun

if TYPE_CHECKING:
    pass

_lock = threading.Lock()
# The outer run as last attached, with the store and process it was attached in.
_attached: tuple[ActiveRun, Store, int] | None = None


def outer_run() -> ActiveRun | None:
    """The project run this process logs to when it opened none, or None (no
    ``NBTRACK_RUN_ID``)."""
    global _attached
    run_id = config.attached_run_id()
    if run_id is None:
        return None
    store = current_store()
    with _lock:
        known = _attached
        if (
            known is None
            or known[0].ended
            or known[0].id != run_id
            or known[1] is not store
            or known[2] != os.getpid()
        ):
            known = _attached = (_attach(store, run_id), store, os.getpid())
        return known[0]


def is_outer(run: ActiveRun) -> bool:
    """Whether ``run`` is the outer run, which this process must never end or tag as closed."""
    known = _attached
    return known is not None and known[0] is run


def resume(run: ActiveRun, tags: Mapping[str, Any] | None) -> ActiveRun:
    """``start_run()`` with no run open: the outer run becomes the active one."""
    if tags:
        run.set_tags(tags)
    _current.push(run)
    return run


def _attach(store: Store, run_id: str) -> ActiveRun:
    stages_seen = store.stages_state()
    try:
        state, experiment = store.read(combined.resume_state_and_experiment, run_id)
    except NotFoundError:
        raise NotFoundError(
            f"{config.RUN_ID_VARIABLE} names run {run_id!r}, which the store {store.path} does "
            "not hold; `nbtrack run` sets it (with NBTRACK_URI) for the process it starts: "
            "unset it to log runs of your own"
        ) from None
    if state.run.status != RUNNING:
        raise InvalidValueError(
            f"{config.RUN_ID_VARIABLE} names run {state.run.name!r} ({run_id}), which is "
            f"{state.run.status}, not RUNNING; `nbtrack run` sets it for the process it starts: "
            "unset it to log runs of your own"
        )
    if not _current.experiment_chosen():
        _current.choose_experiment(experiment)
    return ActiveRun(
        store,
        state.run,
        params_json=state.params_json,
        last_seq=state.last_seq,
        last_steps=state.last_steps,
        stages_seen=stages_seen,
    )


_current.outer_run = outer_run
