"""This process's journal: every record logged, appended to a file before the call returns.

Layout beside the store ``nbtrack.duckdb``::

    .nbtrack.duckdb.journals/
        <host>-<pid>-<random>/      one folder per process (per fork child too)
            lock                    flock-ed by the owner for life; its mtime is the heartbeat
            00000001.ndjson         closed segments, waiting for ingestion
            00000002.ndjson         the open segment

A record is one NDJSON line written with a single ``os.write``, so ``kill -9`` loses nothing that
was acknowledged. The flusher closes the open segment ("rotation") and ingests closed segments
whole, so it never reads a line that is still being written. If another process can take a
journal's lock, its owner is gone, even after ``kill -9`` or with its pid reused.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nbtrack.config import host_name
from nbtrack.errors import StoreError

SEGMENT_SUFFIX = ".ndjson"
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9.-]")
_STALE_TMP_S = 60.0

_live_journals: weakref.WeakSet[Journal] = weakref.WeakSet()


def journal_root(store_path: Path) -> Path:
    return store_path.parent / f".{store_path.name}.journals"


class Journal:
    """Append-only record files of one process for one store."""

    def __init__(self, store_path: Path, on_open: Callable[[], None] | None = None) -> None:
        self.root = journal_root(store_path)
        self._on_open = on_open
        self._lock = threading.Lock()
        self._dir: Path | None = None
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._segment = 0
        self._segment_size = 0
        self._closed: list[Path] = []
        self._unflushed = 0
        # Orders the rare non-metric records (params, tags, run state) within this journal.
        self._counter = 0
        self.wake_at = 100_000
        self.wake: Callable[[], None] | None = None
        _live_journals.add(self)

    # -- writing -------------------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """The journal's folder name, or None before this process has written anything."""
        return None if self._dir is None else self._dir.name

    @property
    def id(self) -> str:
        """The journal's name; creates the journal folder on first use."""
        with self._lock:
            return self._ensure_dir().name

    def next_counter(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def append(self, text: str, records: int = 1) -> None:
        """Write ``text`` (whole NDJSON lines) to the open segment; the OS has it on return."""
        data = text.encode()
        with self._lock:
            fd = self._fd
            if fd is None:
                fd = self._open_segment()
            written = 0
            try:
                while written < len(data):
                    written += os.write(fd, data[written:])
            except OSError as exc:
                # Leave no half line behind: the segment must stay whole lines only.
                os.ftruncate(fd, self._segment_size)
                raise StoreError(
                    f"could not write to the journal {self._segment_path(self._segment)}: {exc}"
                ) from exc
            self._segment_size += written
            self._unflushed += records
            wake = self.wake if self._unflushed >= self.wake_at else None
        if wake is not None:
            wake()

    def _open_segment(self) -> int:
        folder = self._ensure_dir()
        self._segment += 1
        path = folder / f"{self._segment:08d}{SEGMENT_SUFFIX}"
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(f"could not create the journal segment {path}: {exc}") from exc
        self._segment_size = 0
        if self._on_open is not None:
            self._on_open()
        return self._fd

    def _segment_path(self, segment: int) -> Path:
        assert self._dir is not None
        return self._dir / f"{segment:08d}{SEGMENT_SUFFIX}"

    def _ensure_dir(self) -> Path:
        if self._dir is not None:
            return self._dir
        name = f"{_UNSAFE_IN_NAME.sub('_', host_name())}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # Made under a temporary name and renamed once locked: another process must never see
        # this journal unlocked and take it for a dead one.
        temporary = self.root / f"{name}.tmp"
        try:
            temporary.mkdir(parents=True)
            lock_fd = os.open(temporary / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            meta = {"pid": os.getpid(), "host": host_name(), "started": time.time_ns() // 1000}
            (temporary / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            final = self.root / name
            os.rename(temporary, final)
        except OSError as exc:
            raise StoreError(
                f"could not create a journal under {self.root}: {exc}. The folder of the store "
                "must be writable to log; choose another store with NBTRACK_URI or "
                "set_tracking_uri"
            ) from None
        self._lock_fd = lock_fd
        self._dir = final
        # The flusher also keeps the heartbeat, which must beat while a run is open even if
        # nothing is logged yet.
        if self._on_open is not None:
            self._on_open()
        return final

    # -- handing segments to the flusher ---------------------------------------------------------

    def has_pending(self) -> bool:
        return self._fd is not None or bool(self._closed)

    def rotate(self) -> list[Path]:
        """Close the open segment; return every closed segment not yet ingested."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                self._closed.append(self._segment_path(self._segment))
                self._unflushed = 0
            return list(self._closed)

    def forget(self, segments: list[Path]) -> None:
        """Delete segments whose records are committed to the store."""
        with self._lock:
            done = set(segments)
            self._closed = [path for path in self._closed if path not in done]
        for path in segments:
            path.unlink(missing_ok=True)

    def heartbeat(self) -> None:
        with self._lock:
            if self._dir is not None:
                os.utime(self._dir / "lock")

    def remove(self) -> None:
        """Delete the journal folder once everything in it is ingested (at a clean exit)."""
        with self._lock:
            if self._fd is not None or self._closed or self._dir is None:
                return
            shutil.rmtree(self._dir, ignore_errors=True)
            if self._lock_fd is not None:
                os.close(self._lock_fd)
            self._dir = None
            self._lock_fd = None

    # -- fork ------------------------------------------------------------------------------------

    def _before_fork(self) -> None:
        self._lock.acquire()

    def _after_fork_in_parent(self) -> None:
        self._lock.release()

    def _after_fork_in_child(self) -> None:
        # The child writes its own journal: the parent's segments, counters and lock stay the
        # parent's. Closing the inherited lock descriptor does not release the parent's flock.
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                os.close(fd)
        self._lock = threading.Lock()
        self._dir = None
        self._lock_fd = None
        self._fd = None
        self._segment = 0
        self._segment_size = 0
        self._closed = []
        self._unflushed = 0


def _before_fork() -> None:
    for journal in list(_live_journals):
        journal._before_fork()


def _after_fork_in_parent() -> None:
    for journal in list(_live_journals):
        journal._after_fork_in_parent()


def _after_fork_in_child() -> None:
    for journal in list(_live_journals):
        journal._after_fork_in_child()


os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)


# -- journals left behind by other processes ---------------------------------------------------


@dataclass
class DeadJournal:
    """A journal whose owner is gone. Its lock is held by this process until ``release``."""

    name: str
    path: Path
    lock_fd: int
    segments: list[Path]
    heartbeat_us: int

    released: bool = False

    def release(self, remove: bool) -> None:
        if self.released:
            return
        self.released = True
        if remove:
            shutil.rmtree(self.path, ignore_errors=True)
        os.close(self.lock_fd)


def dead_journals(root: Path, own: str | None) -> Iterator[DeadJournal]:
    """Journals under ``root`` whose owner no longer holds their lock, each locked for us."""
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name == own or not entry.is_dir():
            continue
        if entry.name.endswith(".tmp"):
            _remove_if_stale_tmp(Path(entry.path))
            continue
        if entry.name.endswith(".unreadable"):
            continue
        dead = _try_take(Path(entry.path))
        if dead is not None:
            yield dead


def any_dead_journal(root: Path, own: str | None) -> bool:
    """Whether a journal under ``root`` was left by a process that is gone (locks released)."""
    for journal in dead_journals(root, own):
        journal.release(remove=False)
        return True
    return False


def is_live(folder: Path) -> bool:
    """Whether the process that owns the journal ``folder`` still runs."""
    dead = _try_take(folder, trim=False)
    if dead is None:
        return (folder / "lock").exists()
    dead.release(remove=False)
    return False


def _try_take(folder: Path, trim: bool = True) -> DeadJournal | None:
    try:
        fd = os.open(folder / "lock", os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    try:
        heartbeat = os.fstat(fd).st_mtime_ns // 1000
        segments = sorted(folder.glob(f"*{SEGMENT_SUFFIX}"))
    except OSError:
        os.close(fd)
        return None
    if trim:
        for segment in segments:
            _drop_partial_last_line(segment)
    return DeadJournal(folder.name, folder, fd, segments, heartbeat)


def _drop_partial_last_line(segment: Path) -> None:
    # Only for a dead writer: a line cut short by a crash was never acknowledged.
    with open(segment, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        handle.seek(0)
        keep = handle.read().rfind(b"\n") + 1
        handle.truncate(keep)


def _remove_if_stale_tmp(folder: Path) -> None:
    # A live writer renames its folder microseconds after making it; taking its lock here
    # could make that writer fail, so age alone decides.
    try:
        stale = time.time() - folder.stat().st_mtime > _STALE_TMP_S
    except OSError:
        return
    if stale:
        shutil.rmtree(folder, ignore_errors=True)
