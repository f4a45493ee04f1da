"""A server's copies of its clients' journals: bytes written at the offset the client gives.

A process logging to ``nbtrack server`` keeps its journal on its own disk and posts the
complete lines of each segment, in order, as ``(journal, segment, offset, bytes)``. The server
writes them into the mirror segment of the same name at that same offset and answers how many
bytes of the segment it now holds, once they are on its disk (fsync). Sending the same bytes
again at the same offset changes nothing, so a crash of either side between the write and the
answer costs a resend, never a duplicate: the client forgets a segment only once an answer
covers it. Mirrors are ingested by ``store/ingest.py`` like any journal (``segments.scan``
lists them), so each line reaches the tables once, whoever ingests it.

A mirror stays live until its client says the journal ended (``end``): cleanly at the client's
exit, or dead — found dead on the client's machine by a later process or ``nbtrack sync``, which
sent what it had left first. Only then does the next ingestion mark its RUNNING runs KILLED at
the last sign of life the client reported, as the local store does for a dead journal.

``prune`` (the server's start, then hourly) ends the mirrors of clients silent for longer than
``quiet_s`` as dead, at their last write: a machine that never comes back otherwise leaves its
mirror live for ever. It removes nothing itself — the ingestion that takes an ended mirror's
last lines removes it only after their commit, so no byte leaves before it is in the store. It
also removes the names of ended clients (``.ended/``) older than ``quiet_s``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from nbtrack.errors import InvalidValueError
from nbtrack.store.journal import SEGMENT_SUFFIX, journal_root
from nbtrack.store.segments import ENDED_FILE, ENDED_FOLDER, mirror_root

# A journal's folder name as journal.py makes it (host-pid-random), and nothing that could
# leave the mirrors folder or hide in it.
_JOURNAL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
MAX_SEGMENT = 2**31

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class Held:
    """How many bytes of a segment the server holds; ``complete`` when it needs no more of it
    (ingested and deleted, or its journal ended)."""

    bytes: int
    complete: bool = False


def check_journal_name(name: str) -> str:
    if not _JOURNAL_NAME.fullmatch(name) or name.endswith((".tmp", ".unreadable")):
        raise InvalidValueError(
            f"journal {name!r} is not a journal name: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 200 characters"
        )
    return name


def _check_position(segment: int, offset: int) -> None:
    if not 1 <= segment < MAX_SEGMENT:
        raise InvalidValueError(f"segment {segment} is not a segment number: 1 to {MAX_SEGMENT}")
    if offset < 0:
        raise InvalidValueError(f"offset {offset} is not a byte offset: 0 or more")


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def receive(store_path: Path, journal: str, segment: int, offset: int, data: bytes) -> Held:
    """Write ``data`` (whole NDJSON lines) at ``offset`` of the mirror segment; what it holds.

    Bytes the mirror already has are compared, not written again (different bytes there mean
    two clients share a journal name: refused). An offset past the end writes nothing: the
    answer tells the client where to resume.
    """
    check_journal_name(journal)
    _check_position(segment, offset)
    if data and not data.endswith(b"\n"):
        raise InvalidValueError("the bytes sent must be whole journal lines, ending with '\\n'")
    root = mirror_root(journal_root(store_path))
    folder = root / journal
    with _lock_for(str(folder)):
        if (root / ENDED_FOLDER / journal).exists() or (folder / ENDED_FILE).exists():
            return Held(offset + len(data), complete=True)
        numbers = _segment_numbers(folder)
        if numbers and segment < min(numbers):
            return Held(offset + len(data), complete=True)
        path = folder / f"{segment:08d}{SEGMENT_SUFFIX}"
        size = path.stat().st_size if path.exists() else 0
        if offset > size or not data:
            # A client that only asks how far is alive too: prune goes by the folder's time.
            with contextlib.suppress(FileNotFoundError):
                os.utime(folder)
            return Held(size)
        return Held(_write_from(path, size, offset, data))


def _segment_numbers(folder: Path) -> list[int]:
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return [
        int(name.removesuffix(SEGMENT_SUFFIX))
        for name in names
        if name.endswith(SEGMENT_SUFFIX) and name.removesuffix(SEGMENT_SUFFIX).isdigit()
    ]


def _write_from(path: Path, size: int, offset: int, data: bytes) -> int:
    new = not path.exists()
    if new:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        overlap = min(size, offset + len(data)) - offset
        if overlap > 0 and os.pread(fd, overlap, offset) != data[:overlap]:
            raise InvalidValueError(
                f"segment {path.stem} of journal {path.parent.name} already holds other bytes "
                f"at offset {offset}: two processes send under one journal name"
            )
        rest = data[max(overlap, 0) :]
        written = 0
        while written < len(rest):
            written += os.pwrite(fd, rest[written:], size + written)
        # Acknowledged means on the server's disk: a crash after the answer loses nothing.
        os.fsync(fd)
        return size + len(rest)
    finally:
        os.close(fd)
        if new:
            _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def end(store_path: Path, journal: str, *, dead: bool, heartbeat_us: int) -> None:
    """Record that the client's journal ended (``dead``: its process died, last seen at
    ``heartbeat_us``); the next ingestion takes its last lines, ends its RUNNING runs KILLED
    if ``dead``, and removes the mirror."""
    check_journal_name(journal)
    if isinstance(heartbeat_us, bool) or not isinstance(heartbeat_us, int) or heartbeat_us < 0:
        raise InvalidValueError(f"heartbeat_us {heartbeat_us!r} is not a time in microseconds")
    root = mirror_root(journal_root(store_path))
    folder = root / journal
    with _lock_for(str(folder)):
        if (root / ENDED_FOLDER / journal).exists():
            return
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".{ENDED_FILE}.partial"
        staging.write_text(json.dumps({"dead": dead, "heartbeat_us": heartbeat_us}))
        fd = os.open(staging, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(staging, folder / ENDED_FILE)
        _sync_folder(folder)


# A client silent this long is taken for dead: longer than a laptop stays closed over a holiday.
DEFAULT_QUIET_S = 14 * 24 * 3600.0


@dataclass(frozen=True)
class Pruned:
    """What ``prune`` did: mirrors ended as dead, names of ended clients removed."""

    ended: list[str]
    names_removed: int


def prune(store_path: Path, quiet_s: float = DEFAULT_QUIET_S) -> Pruned:
    """End the mirrors of clients silent for ``quiet_s`` seconds as dead at their last write
    (the next ingestion takes their lines, then removes them), and forget ended clients'
    names older than that."""
    root = mirror_root(journal_root(store_path))
    horizon = time.time() - quiet_s
    ended: list[str] = []
    for folder in _mirror_folders(root):
        last = _last_write(folder)
        if last is not None and last < horizon and not (folder / ENDED_FILE).exists():
            end(store_path, folder.name, dead=True, heartbeat_us=int(last * 1_000_000))
            ended.append(folder.name)
    removed = 0
    for name in _mirror_folders(root / ENDED_FOLDER, files=True):
        with contextlib.suppress(FileNotFoundError):
            if name.stat().st_mtime < horizon:
                name.unlink()
                removed += 1
    return Pruned(ended, removed)


def _mirror_folders(root: Path, files: bool = False) -> list[Path]:
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return []
    return [
        Path(entry.path)
        for entry in entries
        if not entry.name.startswith(".")
        and (entry.is_file() if files else entry.is_dir())
        and _JOURNAL_NAME.fullmatch(entry.name)
    ]


def _last_write(folder: Path) -> float | None:
    """The newest time the folder or a file in it was written (seconds), or None if it went."""
    try:
        times = [folder.stat().st_mtime]
        times += [entry.stat().st_mtime for entry in os.scandir(folder)]
    except FileNotFoundError:
        return None
    return max(times)
