"""Records this process still owes its journal: logging a background thread has taken on.

Autolog returns from ``fit`` before the fit's metrics, picture and model are logged; a worker
thread logs them. Until it has, a reader in this process would miss them, and a run ended
meanwhile would get metrics after its end. So the work is counted here per run (and per
ancestor run: a parent's end covers its children's work), and the waits that must see it —
a read, a flush, a run's end or reopening, the process's exit — wait for it first. The thread
doing the work never waits for itself.

A counter and a condition, no thread of its own: it lives below ``tracking`` so that the store's
reads can wait without knowing who owes them.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

# The longest the process's exit (and closing a store) waits for what is owed: a job stuck in a
# user's model must not keep the process from exiting.
EXIT_WAIT_S = 300.0

_changed = threading.Condition()
_owed: Counter[str] = Counter()
_local = threading.local()


def owe(run_ids: Iterable[str]) -> tuple[str, ...]:
    """Count one piece of work for each of ``run_ids``; pass the result to ``settle``."""
    owed = tuple(run_ids)
    with _changed:
        _owed.update(owed)
    return owed


def settle(run_ids: tuple[str, ...]) -> None:
    """The work counted by ``owe`` is done (or failed: it is settled either way)."""
    with _changed:
        _owed.subtract(run_ids)
        for run_id in run_ids:
            if _owed[run_id] <= 0:
                del _owed[run_id]
        _changed.notify_all()


def wait(run_id: str | None = None, timeout_s: float | None = None) -> bool:
    """Wait until nothing is owed to ``run_id`` (None: to any run). False on a timeout.

    Returns at once in the thread doing the work: its own reads and writes come first.
    """
    if getattr(_local, "working", False):
        return True
    with _changed:
        return _changed.wait_for(
            lambda: not _owed if run_id is None else _owed[run_id] <= 0, timeout_s
        )


def is_owed(run_id: str) -> bool:
    with _changed:
        return _owed[run_id] > 0


@contextmanager
def working() -> Iterator[None]:
    """Mark this thread as the one paying: its own waits return at once."""
    _local.working = True
    try:
        yield
    finally:
        _local.working = False


def _reset_after_fork() -> None:
    # A forked child has none of its parent's threads: nobody would ever pay what they owed.
    global _changed
    _changed = threading.Condition()
    _owed.clear()


os.register_at_fork(after_in_child=_reset_after_fork)
