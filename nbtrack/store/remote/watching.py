"""The server's changes, mirrored into marker files on this machine, for what watches markers.

Widgets (``compare()``, ``registry()``) and ``nbtrack serve`` following an alias notice changes
by stat-ing a store's marker files, never by querying. A server's markers are on the server; so
while anything here looks at a remote store's markers, one daemon thread asks the server for
their states about once a second (``GET /nbtrack/store/v1/changes``: a stat there too) and
replaces the local marker whose server counterpart moved. Nothing asks while nothing watches,
and an unreachable server only delays the next refresh.
"""

from __future__ import annotations

import threading
from pathlib import Path

from nbtrack.errors import NbtrackError
from nbtrack.store.markers import replace_marker
from nbtrack.store.remote.calls import PREFIX
from nbtrack.store.remote.connection import ServerConnection

CHANGES_PATH = f"{PREFIX}/changes"
INTERVAL_S = 1.0


class ChangeWatcher:
    """Replaces ``markers[name]`` whenever the server's marker ``name`` changes state."""

    def __init__(self, connection: ServerConnection, markers: dict[str, Path]) -> None:
        self._connection = connection
        self._markers = markers
        self._seen: dict[str, object] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def ensure_running(self) -> None:
        """Start the thread unless it runs (after a fork, the child starts its own). The first
        answer is asked for before returning: what the caller reads next is then newer than the
        baseline, and a change after it is seen as one."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self.check()
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._loop, name="nbtrack-server-changes", daemon=True
                )
                self._thread.start()

    def check(self) -> bool:
        """Ask the server once; replace the markers that moved. Whether it answered."""
        try:
            states = self._connection.request("GET", CHANGES_PATH, timeout_s=5.0).json()
        except NbtrackError:
            return False
        if not isinstance(states, dict):
            return False
        for name, marker in self._markers.items():
            state = states.get(name)
            # The first answer only sets the baseline: what was read before it is current.
            if name in self._seen and state != self._seen[name]:
                _replace(marker)
            self._seen[name] = state
        return True

    def changed_here(self, *names: str) -> None:
        """This process has just changed the server: replace the markers ``names`` now. Left
        to the next answer (up to ``INTERVAL_S`` later), a read right after the change would
        get the answer cached before it (a page showing an alias it has just moved as it was).
        Nothing while nothing watches: the markers are only stat-ed through the store, which
        starts this watcher."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                return
        for name in names:
            _replace(self._markers[name])

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self._connection.close()

    def _loop(self) -> None:
        while True:
            self.check()
            if self._stop.wait(INTERVAL_S):
                return


def _replace(marker: Path) -> None:
    """Replace a mirrored marker. A folder that cannot be written (a full disk, a read-only
    project) only leaves readers' caches as they are: it must neither end the watcher's thread
    nor turn a change the server has made into an error."""
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        replace_marker(marker)
    except OSError:
        pass
