"""The marker files beside a store: what pollers stat instead of opening DuckDB, and how a
process tells the changes it made itself from the changes made by anyone else.

A marker is replaced, never touched: a new inode is a change even within one tick of the file
system's clock. The store's change marker holds a token naming the process and the change that
wrote it, and it is only ever replaced under the store's write lock; so a process that finds
the token it wrote last knows that no one else has changed the store since.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

# What identifies one version of a marker file: mtime, inode and size; None while it is absent.
MarkerState = tuple[int, int, int] | None


def marker_state(marker: Path) -> MarkerState:
    """The state of ``marker`` now; a change of state means the marker was replaced."""
    try:
        found = marker.stat()
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_ino, found.st_size)


def replace_marker(marker: Path, text: str | None = None) -> bool:
    """Replace ``marker`` with a new file holding ``text`` (else the time); False if the folder
    cannot be written (nobody can be polling for this process's changes then)."""
    staging = marker.with_name(f"{marker.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        staging.write_text(text or f"{time.time_ns()}\n")
        os.replace(staging, marker)
    except OSError:
        return False
    return True


class ChangeWatch:
    """Counts the changes to a store that did not come from this process's journal."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker
        self.lock = threading.Lock()
        self._own: str | None = None  # the marker text this process wrote last
        self._outside = 0
        self._written = 0

    def announce(self, outside: bool) -> None:
        """Replace the marker with a token of this process's own; call it under the store's
        write lock and ``self.lock``. ``outside``: the change did not come (only) from this
        process's journal. A marker that is not the one this process left counts too."""
        if outside or self._text() != self._own:
            self._outside += 1
        self._written += 1
        token = f"{os.getpid()} {self._written} {time.time_ns()}\n"
        self._own = token if replace_marker(self.marker, token) else None

    def outside_changes(self) -> int:
        """The count, after one read of the marker."""
        with self.lock:
            seen = self._text()
            if seen != self._own:
                # Counted once: the marker as it is now is what the next change will differ from.
                self._outside += 1
                self._own = seen
            return self._outside

    def after_fork(self) -> None:
        self.lock = threading.Lock()
        self._own = None  # the parent's marker is not the child's own

    def _text(self) -> str | None:
        try:
            return self.marker.read_text()
        except (OSError, UnicodeDecodeError):
            return None
