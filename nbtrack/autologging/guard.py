"""Which calls autolog looks at: the top-level ones.

A pipeline fits its steps, a search fits its estimator dozens of times, ``score`` calls
``predict`` and a metric: those inner calls are part of the outer one, never runs or metrics of
their own. A thread-local depth says whether this thread is inside a call autolog already
handles; a process-wide count covers the worker threads a search may fit in (joblib's threading
backend), which start at depth 0.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()
_lock = threading.Lock()
_fits_in_progress = 0


def inside() -> bool:
    """Whether this call is made inside one that autolog handles (in any thread for fits)."""
    return getattr(_local, "depth", 0) > 0 or _fits_in_progress > 0


@contextmanager
def handling(fit: bool = False) -> Iterator[None]:
    """Mark this thread (and, for a fit, the process) as inside a handled call."""
    global _fits_in_progress
    _local.depth = getattr(_local, "depth", 0) + 1
    if fit:
        with _lock:
            _fits_in_progress += 1
    try:
        yield
    finally:
        _local.depth -= 1
        if fit:
            with _lock:
                _fits_in_progress -= 1
