"""Autolog's worker: one thread per process that logs what fits hand it, after they return.

``fit`` returns once the estimator is fitted and a snapshot taken (``snapshot.py``); the
predictions on the training rows, the metrics, the confusion-matrix picture, the model and the
end of a run autolog opened are done here, one fit after another in the order they returned.
Each job is owed to its run and that run's ancestors (``store/owed.py``): a read or a flush in
this process, the end or reopening of one of those runs and the process's exit wait for it,
so nothing lands in a run after its end and a read right after ``fit`` sees everything.

Handing a job over costs ~0.03 ms; the woken worker then waits for the GIL, which the fit's
caller keeps until it blocks or for up to the switch interval (5 ms), so the code right after
``fit`` goes first. One thread rather than a pool: on a machine of two cores a second one
would take a core from the user's next fit, and jobs in order keep a run's records in the order
the fits returned. A job that fails is said as an autolog note; nothing from here reaches the
user's code.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable

from nbtrack.autologging import guard
from nbtrack.autologging.options import note
from nbtrack.store import owed
from nbtrack.tracking.run import ActiveRun

Job = Callable[[], None]

_jobs: queue.SimpleQueue[tuple[tuple[str, ...], Job]] = queue.SimpleQueue()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def submit(run: ActiveRun, job: Job) -> bool:
    """Do ``job`` in the worker; until it is done, ``run`` and its ancestors are owed it.

    False when no thread can be started (at interpreter shutdown): the caller does the job.
    """
    lineage: list[str] = []
    current: ActiveRun | None = run
    while current is not None:
        lineage.append(current.id)
        current = current.parent
    debt = owed.owe(lineage)
    try:
        _start()
    except RuntimeError:
        owed.settle(debt)
        return False
    _jobs.put((debt, job))
    return True


def _start() -> None:
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            # A daemon: at exit the active runs' hook waits for the jobs, then the thread goes.
            _thread = threading.Thread(target=_work, name="nbtrack-autolog", daemon=True)
            _thread.start()


def _work() -> None:
    with owed.working(), guard.handling():
        while True:
            debt, job = _jobs.get()
            try:
                job()
            except BaseException as exc:  # the thread outlives any job
                note(f"logging a fit failed: {type(exc).__name__}: {exc}")
            finally:
                owed.settle(debt)


def _reset_after_fork() -> None:
    # The child has no worker thread, and the parent's jobs are the parent's to do.
    global _jobs, _lock, _thread
    _jobs, _lock, _thread = queue.SimpleQueue(), threading.Lock(), None


os.register_at_fork(after_in_child=_reset_after_fork)
