"""The one way this process opens a store: one connection at a time, closed after use.

DuckDB lets a single process hold a file read-write; every other process, readers included,
then gets "Could not set lock on file". So a connection lives only for one batch or one query.
Two connections to one file with different settings in one process raise, hence the
process-wide lock.

Who may open the file is settled first on a lock file beside it (``.nbtrack.duckdb.lock``),
held for as long as the connection lives: exclusive for a read-write open, shared for a
read-only one. A person's open (a search, a widget, a write the user waits for) polls for it
every millisecond until its deadline; a background flush tries once and, if anyone holds it,
steps back (``StoreInUse``) and comes again later. So a reader waits for at most the one
operation already running, however many processes log in tight loops, instead of losing every
race to them. DuckDB's own lock conflicts remain only with programs other than nbtrack (a
DuckDB shell, say): those are retried with jittered back-off until the deadline.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from nbtrack.errors import (
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
)

if TYPE_CHECKING:
    import duckdb

DEFAULT_DEADLINE_S = 60.0
_LOCK_CONFLICT = "Could not set lock on file"
_HOLDER_PID = re.compile(r"\(PID (\d+)\)")
_POLL_S = 0.001

# Never reach for the network: a file that looks like another format (SQLite, say) would make
# DuckDB try to download a reader for it.
_SETTINGS: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

_process_lock = threading.RLock()
# How deep the current thread is in connect(): a nested open rides on the outer one's turn.
_depth = threading.local()

T = TypeVar("T")


def _reset_after_fork() -> None:
    # The parent's flusher may have held the lock at fork time; the child starts fresh.
    global _process_lock
    _process_lock = threading.RLock()


os.register_at_fork(after_in_child=_reset_after_fork)


class StoreInUse(Exception):
    """A background flush stepped back: another open holds the store (or its turn)."""


@contextmanager
def connect(
    path: Path,
    *,
    read_only: bool = False,
    deadline_s: float = DEFAULT_DEADLINE_S,
    config: dict[str, str | bool | int | float | list[str]] | None = None,
    background: bool = False,
    one_thread: bool = False,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open ``path`` once it is this open's turn, and always close it.

    Without ``config``, the file is attached to one in-memory DuckDB kept for the life of the
    process: starting a DuckDB instance costs ~8 ms, attaching a file ~1 ms. Detaching
    checkpoints and releases the file lock as closing would. With ``config`` (settings that
    cannot change on a running instance, such as turning file access off) the file gets a
    connection of its own.

    ``one_thread``: DuckDB runs this open's statements, and the checkpoint that closes it, on
    one thread. An ingestion is a dozen statements over a few hundred rows: on two cores its
    threads mostly wait for each other. Draining 15 autologged runs, interleaved 8 against 8
    in one process (load 2.5-3.5): CPU 64-66 ms against 73-93 ms, wall 67 ms against 67-95 ms
    (medians). Queries keep every core.
    """
    import duckdb

    settings = {**_SETTINGS, **(config or {})}
    give_up_at = time.monotonic() + deadline_s
    with _turn(path, read_only, background, give_up_at, deadline_s), _process_lock:
        if config:
            con = _retry(
                path, give_up_at, deadline_s, lambda: duckdb.connect(str(path), read_only, settings)
            )
            try:
                with _store_faults_named(path):
                    yield con
            finally:
                con.close()
            return
        instance = _shared_instance()
        if one_thread:
            instance.execute("SET threads = 1")
        literal = "'" + str(path).replace("'", "''") + "'"
        options = " (READ_ONLY)" if read_only else ""
        cursor = instance.cursor()
        try:
            _retry(
                path,
                give_up_at,
                deadline_s,
                lambda: cursor.execute(f"ATTACH {literal} AS {_ALIAS}{options}"),
            )
            cursor.execute(f"USE {_ALIAS}")
            with _store_faults_named(path):
                yield cursor
        except BaseException:
            cursor.close()
            # The error that brought us here is the one to see, not a failed checkpoint after it.
            with contextlib.suppress(StoreError):
                _detach(instance, path)
            raise
        else:
            cursor.close()
            _detach(instance, path)
        finally:
            if one_thread:
                instance.execute("RESET threads")


@contextmanager
def _turn(
    path: Path, read_only: bool, background: bool, give_up_at: float, deadline_s: float
) -> Iterator[None]:
    depth = getattr(_depth, "value", 0)
    if depth:
        _depth.value = depth + 1
        try:
            yield
        finally:
            _depth.value = depth
        return
    # A fresh descriptor per open: flock locks belong to the open file, so this process's
    # flusher thread and its foreground reads exclude each other too.
    try:
        fd = os.open(
            path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644
        )
    except OSError:
        fd = None  # a read-only folder: nothing there writes, DuckDB's lock is enough
    try:
        if fd is not None:
            _take(fd, fcntl.LOCK_SH if read_only else fcntl.LOCK_EX, background, give_up_at)
        _depth.value = 1
        yield
    except _Expired:
        raise StoreBusyError(
            f"store {path} is busy: another nbtrack process has held it for more than "
            f"{deadline_s:.0f} s"
        ) from None
    finally:
        _depth.value = 0
        if fd is not None:
            os.close(fd)


@contextmanager
def _store_faults_named(path: Path) -> Iterator[None]:
    """A damaged file or a full disk met while using the connection, as one clear error:
    DuckDB's own words for them (an IO error, or "transaction is aborted" after one) hide
    what to do."""
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        fault = translate(path, exc)
        if fault is None:
            raise
        raise fault from exc


class _Expired(Exception):
    pass


def _take(fd: int, mode: int, background: bool, give_up_at: float) -> None:
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if background:
                raise StoreInUse("another open holds the store") from None
            if time.monotonic() >= give_up_at:
                raise _Expired from None
        time.sleep(_POLL_S)


_ALIAS = "nbtrack_store"
_instance: duckdb.DuckDBPyConnection | None = None
_instance_pid = 0


def _shared_instance() -> duckdb.DuckDBPyConnection:
    global _instance, _instance_pid
    # A forked child cannot use its parent's instance (its threads did not survive the fork).
    if _instance is None or _instance_pid != os.getpid():
        import duckdb

        _instance = duckdb.connect(":memory:", config=_SETTINGS)
        _instance_pid = os.getpid()
    return _instance


def _detach(instance: duckdb.DuckDBPyConnection, path: Path) -> None:
    import duckdb

    attached = instance.execute(
        "SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [_ALIAS]
    ).fetchone()
    if not attached or not attached[0]:
        return
    try:
        instance.execute(f"DETACH {_ALIAS}")
    except duckdb.Error as exc:
        # Detaching checkpoints: a damaged block or a full disk can show up only here.
        raise translate(path, exc) or StoreError(
            f"could not close the store {path}: {exc}"
        ) from None


def _retry(path: Path, give_up_at: float, deadline_s: float, open_it: Callable[[], T]) -> T:
    import duckdb

    pause = 0.002
    while True:
        try:
            return open_it()
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
        pause = min(pause * 2, 0.02)


_DISK_FULL = ("No space left on device", "Disk quota exceeded", "out of disk space")


def translate(path: Path, exc: BaseException) -> StoreError | None:
    """The store fault behind a DuckDB or OS error met while using the store (a damaged file,
    a full disk), as one clear error; None for errors that are not about the store."""
    message = str(exc)
    if any(sign in message for sign in _DISK_FULL):
        return StoreFullError(
            f"the disk holding {path} is full ({message.splitlines()[0]}). Nothing logged is "
            "lost: it stays in the journal and is stored once space is freed"
        )
    if "Corrupt database file" in message or "checksum" in message:
        return StoreCorruptError(
            f"{path} is damaged: {message.splitlines()[0]}. Run `nbtrack doctor` to see what is "
            "affected; restore the store from a copy or an `nbtrack export` (what the journals "
            "still hold is ingested again into a restored store)"
        )
    return None


def translate_open_error(path: Path, message: str) -> StoreError:
    """One clear error for a store file that DuckDB cannot open."""
    if "not a valid DuckDB database" in message or "Install it first" in message:
        looks_like = " (it looks like a SQLite database)" if '"sqlite"' in message else ""
        return StoreCorruptError(
            f"{path} is not a DuckDB database{looks_like}; point NBTRACK_URI or "
            "set_tracking_uri at a .duckdb file nbtrack made, or at a path where a new one can "
            "be created"
        )
    if "replaying WAL" in message:
        return StoreCorruptError(
            f"the write-ahead log of {path} cannot be replayed ({message}); "
            "run `nbtrack doctor` to set it aside and open the store"
        )
    in_use = translate(path, Exception(message))
    if in_use is not None:
        return in_use
    if "Permission denied" in message or "Read-only file system" in message:
        return StoreReadOnlyError(
            f"{path} cannot be written (read-only on disk): {message}. Make the file and its "
            "folder writable, or choose another store with NBTRACK_URI or set_tracking_uri"
        )
    return StoreError(f"cannot open the store {path}: {message}")
