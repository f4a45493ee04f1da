"""The run a top-level fit logs to, opened only through ``tracking.lifecycle``.

Where ``nbtrack.log_metric`` would log (an open run, a ``%%track`` cell, the project run of
``nbtrack run``), the first fit logs into that run. A run holds one model: each later fit in the
same run becomes a child run, so a loop of fits in one cell is a sweep, not a run whose params
conflict (MLflow #7947). With no run open, the fit gets a run of its own: FAILED, with the
traceback, when ``fit`` raises (at once); else FINISHED as of ``fit``'s return, by autolog's
worker once the fit's logging is done (``ActiveRun.end_later``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from nbtrack.tracking import attached, lifecycle
from nbtrack.tracking.run import ActiveRun

# The runs a fit has already logged a model into (held weakly: an ended run may go).
_fitted_runs: weakref.WeakSet[ActiveRun] = weakref.WeakSet()


def fit_run() -> tuple[ActiveRun, bool]:
    """The run one top-level fit logs to, and whether autolog opened it (then autolog ends it:
    at once if the fit raises, else once the fit's logging is done, as of the fit's return)."""
    current = lifecycle.active_run() or attached.outer_run()
    if current is not None and current not in _fitted_runs:
        _fitted_runs.add(current)
        return current, False
    # A child of the run already holding a model, or a run of its own with none open.
    run = lifecycle.open_run(nested=True)
    _fitted_runs.add(run)
    return run, True


@contextmanager
def child_run(name: str) -> Iterator[ActiveRun]:
    """A child of the active run (a search's candidate), ended on the way out."""
    with lifecycle.open_run(name=name, nested=True) as run:
        yield run
