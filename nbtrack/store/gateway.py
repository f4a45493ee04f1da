"""The one way this process opens a store: one connection at a time, closed after use.

DuckDB lets a single process hold a file read-write; every other process, readers included,
then gets "Could not set lock on file". So a connection lives only for one batch or one query,
and a lock conflict is retried with jittered back-off until a deadline. Two connections to one
file with different settings in one process raise, hence the process-wide lock.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.errors import StoreBusyError, StoreCorruptError, StoreError

if TYPE_CHECKING:
    import duckdb

DEFAULT_DEADLINE_S = 60.0
_LOCK_CONFLICT = "Could not set lock on file"
_HOLDER_PID = re.compile(r"\(PID (\d+)\)")

_process_lock = threading.RLock()


def _reset_after_fork() -> None:
    # The parent's flusher may have held the lock at fork time; the child starts fresh.
    global _process_lock
    _process_lock = threading.RLock()


os.register_at_fork(after_in_child=_reset_after_fork)


@contextmanager
def connect(
    path: Path,
    *,
    read_only: bool = False,
    deadline_s: float = DEFAULT_DEADLINE_S,
    config: dict[str, str | bool | int | float | list[str]] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open ``path``, retrying while another process holds the lock, and always close it."""
    with _process_lock:
        con = _open_with_retry(path, read_only, deadline_s, config or {})
        try:
            yield con
        finally:
            con.close()


def _open_with_retry(
    path: Path,
    read_only: bool,
    deadline_s: float,
    config: dict[str, str | bool | int | float | list[str]],
) -> duckdb.DuckDBPyConnection:
    import duckdb

    give_up_at = time.monotonic() + deadline_s
    pause = 0.002
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            message = str(exc)
            if _LOCK_CONFLICT not in message:
                raise translate_open_error(path, message) from None
            if time.monotonic() >= give_up_at:
                holder = _HOLDER_PID.search(message)
                who = f"PID {holder.group(1)}" if holder else "another process"
                raise StoreBusyError(
                    f"store {path} is busy: held by {who} for more than {deadline_s:.0f} s"
                ) from None
        # Jitter keeps several waiting processes from retrying in lock-step.
        time.sleep(pause * (0.5 + random.random()))
        pause = min(pause * 2, 0.1)


def translate_open_error(path: Path, message: str) -> StoreError:
    """One clear error for a store file that DuckDB cannot open."""
    if "not a valid DuckDB database" in message:
        return StoreCorruptError(
            f"{path} is not a DuckDB database; point NBTRACK_URI or set_tracking_uri at a "
            ".duckdb file nbtrack made, or at a path where a new one can be created"
        )
    if "replaying WAL" in message:
        return StoreCorruptError(
            f"the write-ahead log of {path} cannot be replayed ({message}); "
            "run `nbtrack doctor` to set it aside and open the store"
        )
    if "Permission denied" in message or "Read-only file system" in message:
        return StoreError(
            f"{path} cannot be written (read-only on disk): {message}. Make the file and its "
            "folder writable, or choose another store with NBTRACK_URI or set_tracking_uri"
        )
    return StoreError(f"cannot open the store {path}: {message}")
