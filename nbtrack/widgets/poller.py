"""One process-wide thread that refreshes widgets when their store changes.

Widgets never poll DuckDB: each names the small marker file its store touches after every
change, and this thread stats those files about once a second, calling ``refresh()`` on the
widgets whose marker moved. It holds widgets only through weak references, starts with the
first widget and ends with the last, so widgets from re-executed cells cost nothing once they
are closed or collected.

Re-executing a cell in a kernel does not free the widget it made before: ipywidgets keeps
every open widget in a registry until ``close()``. So a widget made in a cell closes the one
the same cell made in an earlier execution (cells are told apart by the id the front end
sends; without one, as under nbclient, nothing is closed).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

log = logging.getLogger("nbtrack")

INTERVAL_S = 1.0

# A stamp that no file has: "not seen yet", so a marker that appears counts as a change.
_MISSING = (-1, -1)


class Watched(Protocol):
    """What the poller needs from a widget."""

    @property
    def marker(self) -> Path | None:
        """The file to watch; None once the widget is closed (it is then dropped)."""

    def refresh(self) -> None:
        """Re-read the store and redraw, keeping what the user chose."""

    def close(self) -> None:
        """Free the widget (called when its cell runs again)."""


_lock = threading.Lock()
_widgets: weakref.WeakSet[Watched] = weakref.WeakSet()
_seen: weakref.WeakKeyDictionary[Watched, tuple[int, int]] = weakref.WeakKeyDictionary()
_by_cell: dict[str, tuple[int, list[weakref.ref[Watched]]]] = {}
_thread: threading.Thread | None = None


def watch(widget: Watched, since: tuple[int, int] = _MISSING) -> None:
    """Refresh ``widget`` whenever its marker changes from ``since`` (a ``marker_stamp``
    taken before the widget read the store), until it is closed or collected."""
    global _thread
    _supersede(widget)
    with _lock:
        _widgets.add(widget)
        _seen[widget] = since
        # A forked kernel inherits ``_thread`` but not the thread itself.
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_loop, name="nbtrack-poller", daemon=True)
            _thread.start()


def unwatch(widget: Watched) -> None:
    with _lock:
        _widgets.discard(widget)


def watched() -> list[Watched]:
    """The widgets being watched now (for tests and diagnostics)."""
    with _lock:
        return list(_widgets)


def running() -> bool:
    """Whether the poller thread is alive."""
    with _lock:
        return _thread is not None and _thread.is_alive()


def _loop() -> None:
    global _thread
    while True:
        time.sleep(INTERVAL_S)
        with _lock:
            if not _widgets:
                _thread = None
                return
        # In a function of its own so no strong reference outlives the round: a widget
        # dropped by its owner must be collectable while this thread sleeps.
        _poll_once()


def _poll_once() -> None:
    with _lock:
        widgets = list(_widgets)
    groups: dict[Path, list[Watched]] = {}
    for widget in widgets:
        marker = widget.marker
        if marker is None:
            unwatch(widget)
        else:
            groups.setdefault(marker, []).append(widget)
    for marker, group in groups.items():
        stamp = marker_stamp(marker)
        for widget in group:
            with _lock:
                if _seen.get(widget) == stamp:
                    continue
                # Recorded before refreshing: a change that lands during the refresh is seen
                # next round instead of being lost.
                _seen[widget] = stamp
            _refresh(widget.refresh)


def _refresh(refresh: Callable[[], None]) -> None:
    try:
        refresh()
    except Exception:
        # A busy or vanished store must not kill the thread every widget relies on.
        log.warning("nbtrack: a widget could not refresh", exc_info=True)


def marker_stamp(marker: Path) -> tuple[int, int]:
    """The marker's inode and mtime in ns; a missing file has a stamp no file has. The inode
    tells apart two replacements of a marker within one tick of the file system's clock."""
    try:
        stat = marker.stat()
    except OSError:
        return _MISSING
    return stat.st_ino, stat.st_mtime_ns


def _supersede(widget: Watched) -> None:
    """Close the widgets this cell made in an earlier execution, if any."""
    key = _cell_key()
    if key is None:
        return
    cell_id, execution = key
    with _lock:
        made, earlier = _by_cell.get(cell_id, (execution, []))
        if made == execution:  # several widgets from one execution all stay
            earlier.append(weakref.ref(widget))
            _by_cell[cell_id] = (execution, earlier)
            return
        _by_cell[cell_id] = (execution, [weakref.ref(widget)])
    for ref in earlier:
        old = ref()
        if old is not None and old is not widget:
            unwatch(old)
            old.close()


def _cell_key() -> tuple[str, int] | None:
    """The running cell's id and execution count, when a front end sent an id."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    result = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    cell_id = getattr(getattr(result, "info", None), "cell_id", None)
    if not isinstance(cell_id, str) or not cell_id:
        return None
    return cell_id, int(getattr(shell, "execution_count", 0))
