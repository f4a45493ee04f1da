"""This process's journal: every record logged, appended to a file before the call returns.

Layout beside the store ``nbtrack.duckdb``::

    .nbtrack.duckdb.journals/
        <host>-<pid>-<random>/      one folder per process (per fork child too)
            lock                    flock-ed by the owner for life; its mtime is the heartbeat
            00000001.ndjson         closed segments, waiting for ingestion
            00000002.ndjson         the open segment

A record is one NDJSON line written with a single ``os.write``, so ``kill -9`` loses nothing that
was acknowledged. Any process holding the store's write lock may ingest the complete lines of
any journal, the open segment included (``segments.py`` finds them); the store remembers how
many bytes of each segment it holds, so a segment's bytes are never rewritten: after a failed
write the segment is cut back and closed, and the next record starts a new one. The owner
closes its open segment once it has grown past ``ROLL_BYTES`` and deletes closed segments once
the store holds all of their bytes. If another process can take a journal's lock, its owner is gone,
even after ``kill -9`` or with its pid reused.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path

from nbtrack.config import host_name
from nbtrack.errors import StoreError, StoreFullError

SEGMENT_SUFFIX = ".ndjson"
# A segment is closed (and, once stored, deleted) when it has grown past this size.
ROLL_BYTES = 8 * 1024 * 1024
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9.-]")

_live_journals: weakref.WeakSet[Journal] = weakref.WeakSet()


def journal_root(store_path: Path) -> Path:
    return store_path.parent / f".{store_path.name}.journals"


class Journal:
    """Append-only record files of one process for one store."""

    def __init__(
        self,
        store_path: Path,
        on_open: Callable[[], None] | None = None,
        root: Path | None = None,
    ) -> None:
        # ``root``: elsewhere than beside a store file (a server's client keeps its journals
        # in its spool folder).
        self.root = journal_root(store_path) if root is None else root
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
        self.wake_at = 20_000
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
                # Leave no half line behind, and never write those bytes again: a reader may
                # already have ingested the whole lines of this failed write.
                os.ftruncate(fd, self._segment_size)
                self._close_segment()
                where = self._segment_path(self._segment)
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise StoreFullError(
                        f"the disk holding the journal {where} is full: this call was not "
                        "recorded (everything logged before it is kept). Free some space"
                    ) from exc
                raise StoreError(f"could not write to the journal {where}: {exc}") from exc
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

    def position(self) -> tuple[int, int]:
        """Where the next record goes (segment, byte): it moves with every append, so a
        flusher can tell a journal still being written from a quiet one."""
        return self._segment, self._segment_size

    def has_pending(self) -> bool:
        """Whether this journal holds segments not yet deleted (stored or not)."""
        return self._fd is not None or bool(self._closed)

    def roll(self, min_bytes: int = ROLL_BYTES) -> None:
        """Close the open segment once it holds ``min_bytes`` (0: now), so that finished
        segments can be deleted; a flush calls it. Segments are not closed at every flush:
        ingesters take a live segment's complete lines, and fewer, larger files cost less."""
        with self._lock:
            if self._fd is not None and self._segment_size >= min_bytes:
                self._close_segment()
            self._unflushed = 0

    def segments(self) -> tuple[list[Path], Path | None]:
        """The closed segments not yet deleted, and the open one (None if none is open)."""
        with self._lock:
            current = None if self._fd is None else self._segment_path(self._segment)
            return list(self._closed), current

    def _close_segment(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._closed.append(self._segment_path(self._segment))

    def forget(self, segments: list[Path]) -> None:
        """Delete closed segments whose every byte is committed to the store."""
        with self._lock:
            done = set(segments)
            self._closed = [path for path in self._closed if path not in done]
        for path in segments:
            path.unlink(missing_ok=True)

    def heartbeat(self) -> None:
        with self._lock:
            if self._dir is not None:
                # A folder removed under a live process (its store deleted, a test's temporary
                # folder cleaned up) has no one left to tell that this process is alive; what
                # it still had to write fails, and says so, in the next flush.
                with contextlib.suppress(FileNotFoundError):
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
