"""The active-run stack of this process: the one piece of global tracking state.

Shared by all threads, so a data-loading thread logs to the run its cell opened.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from nbtrack.errors import NoActiveRunError
from nbtrack.store.schema import DEFAULT_EXPERIMENT_NAME

if TYPE_CHECKING:
    from nbtrack.tracking.run import ActiveRun

_stack: list[ActiveRun] = []
_lock = threading.Lock()
_last_started: ActiveRun | None = None
_experiment_name: str | None = None


def _no_outer_run() -> ActiveRun | None:
    return None


# The run ``log_*`` calls go to while none is open here: in a process ``nbtrack run`` started,
# its project run. Set by ``tracking/attached.py``, which this module cannot import (it builds
# an ``ActiveRun``, whose module imports this one).
outer_run: Callable[[], ActiveRun | None] = _no_outer_run


def experiment_name() -> str:
    """The experiment new runs go to: the one chosen with ``set_experiment`` (or ``%%track
    --experiment``), else the default one."""
    return _experiment_name or DEFAULT_EXPERIMENT_NAME


def choose_experiment(name: str | None) -> None:
    global _experiment_name
    _experiment_name = name


def experiment_chosen() -> bool:
    return _experiment_name is not None


def _reset_lock_after_fork() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_lock_after_fork)


def push(run: ActiveRun) -> None:
    global _last_started
    with _lock:
        _stack.append(run)
        _last_started = run


def remove(run: ActiveRun) -> None:
    with _lock:
        if run in _stack:
            _stack.remove(run)


def top() -> ActiveRun | None:
    with _lock:
        return _stack[-1] if _stack else None


def all_active() -> list[ActiveRun]:
    with _lock:
        return list(_stack)


def last_started() -> ActiveRun | None:
    return _last_started


def get_run() -> ActiveRun:
    """The run that ``log_*`` calls go to; a helpful error when there is none."""
    run = top()
    if run is None:
        run = outer_run()
    if run is None:
        raise NoActiveRunError(
            "no run is active: wrap the code in `with nbtrack.start_run():`, call "
            "`nbtrack.start_run()` first, or reopen a finished run with "
            "`nbtrack.start_run(run_id=...)`"
        )
    return run
