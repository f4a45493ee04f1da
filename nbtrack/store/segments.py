"""What the journals on disk hold that the store does not: segments, and the bytes to ingest.

A reader must see everything every live process has logged, the moment it asks; so whoever
holds the store's write lock may ingest any journal's complete lines, up to the last newline of
a segment another process is still appending to. The store keeps, per segment, how many bytes
it holds (``journal_segments.bytes``), so the next ingester — the owner's flusher or another
reader — resumes after them and nothing is taken twice.

A journal whose lock this process can take belongs to a process that is gone: it is held
(``DeadJournal``) until its records are committed, then removed. Ingesters also leave a small
hint file beside the store, ``.nbtrack.duckdb.ingested``, saying how far each segment is in the
store: a reader that finds
every segment at that size knows, without opening the store for writing, that it has nothing
to add.

A server's store also holds *mirrors* (``.nbtrack.duckdb.mirrors/<client journal>/``): the
journals of processes on other machines, written there byte for byte by the server as their
sender posts them (``store/mirrors.py``). No lock can tell whether a process on another machine
is alive, and a server restarted after ``kill -9`` has not killed its clients: a mirror is live
until its client says it ended (``ended.json``: cleanly, or dead with its last sign of life),
and only then is it ingested as a dead journal is and removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from nbtrack.store.journal import SEGMENT_SUFFIX

_STALE_TMP_S = 60.0
_TAIL_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Segment:
    """One segment file of a journal; ``closed`` once its writer will never append to it."""

    journal: str
    number: int
    path: Path
    closed: bool

    @property
    def key(self) -> tuple[str, int]:
        return (self.journal, self.number)


MIRRORS_SUFFIX = ".mirrors"
ENDED_FILE = "ended.json"
# Where a mirror's name is kept once it has ended and been removed: a late resend is then
# answered "all held" instead of starting a mirror that nobody would ever end.
ENDED_FOLDER = ".ended"


@dataclass
class DeadJournal:
    """A journal whose owner is gone. Its lock is held by this process until ``release`` (a
    mirror has no lock: ``lock_fd`` is -1). ``kill_runs`` is False for a mirror whose client
    ended cleanly: its runs have their own end records."""

    name: str
    path: Path
    lock_fd: int
    segments: list[Path]
    heartbeat_us: int
    kill_runs: bool = True

    released: bool = False

    def release(self, remove: bool) -> None:
        if self.released:
            return
        self.released = True
        if remove:
            shutil.rmtree(self.path, ignore_errors=True)
            if self.lock_fd < 0:
                _leave_tombstone(self.path)
        if self.lock_fd >= 0:
            os.close(self.lock_fd)


def mirror_root(root: Path) -> Path:
    """The mirrors folder beside the journals folder ``root`` of the same store."""
    return root.with_name(root.name.removesuffix(".journals") + MIRRORS_SUFFIX)


def _leave_tombstone(mirror: Path) -> None:
    folder = mirror.parent / ENDED_FOLDER
    with contextlib.suppress(OSError):
        folder.mkdir(exist_ok=True)
        (folder / mirror.name).touch()


def _ended_mirror(folder: Path) -> DeadJournal | None:
    try:
        ended = json.loads((folder / ENDED_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        ended = {}
    segments = sorted(folder.glob(f"*{SEGMENT_SUFFIX}"))
    heartbeat = ended.get("heartbeat_us") if isinstance(ended, dict) else None
    return DeadJournal(
        folder.name,
        folder,
        -1,
        segments,
        heartbeat if isinstance(heartbeat, int) else time.time_ns() // 1000,
        kill_runs=bool(ended.get("dead", True)) if isinstance(ended, dict) else True,
    )


@dataclass
class Scan:
    """The segments an ingestion looks at: live journals' (this process's included) and the
    journals of dead processes."""

    live: list[Segment] = field(default_factory=list)
    dead: list[DeadJournal] = field(default_factory=list)

    def segments(self) -> list[Segment]:
        dead = [
            Segment(journal.name, int(path.stem), path, True)
            for journal in self.dead
            for path in journal.segments
        ]
        return [*self.live, *dead]

    def release(self) -> None:
        for journal in self.dead:
            journal.release(remove=False)


def scan(root: Path) -> Scan:
    """The segments of every live journal (this process's included: its lock is held, so it
    counts as live) and every dead journal, locked for us."""
    found = Scan()
    for entry in _journal_folders(root, None):
        dead = _try_take(entry)
        if dead is not None:
            found.dead.append(dead)
        else:
            found.live.extend(_live_segments(entry))
    for entry in _journal_folders(mirror_root(root), None):
        ended = _ended_mirror(entry)
        if ended is not None:
            found.dead.append(ended)
        else:
            found.live.extend(_live_segments(entry))
    return found


def is_mirror(segment: Segment) -> bool:
    return segment.path.parent.parent.name.endswith(MIRRORS_SUFFIX)


def _journal_folders(root: Path, own: str | None) -> Iterator[Path]:
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name == own or not entry.is_dir():
            continue
        if entry.name.endswith(".tmp") or entry.name.startswith(".ingest-"):
            _remove_if_stale(Path(entry.path))
            continue
        if entry.name.endswith(".unreadable") or entry.name.startswith("."):
            continue
        yield Path(entry.path)


def _live_segments(folder: Path) -> list[Segment]:
    paths = sorted(folder.glob(f"*{SEGMENT_SUFFIX}"))
    # A writer appends only to its newest segment: every older one is closed.
    return [
        Segment(folder.name, int(path.stem), path, closed=n < len(paths) - 1)
        for n, path in enumerate(paths)
    ]


def any_dead_journal(root: Path, own: str | None) -> bool:
    """Whether a journal under ``root`` was left by a process that is gone (locks released)."""
    for folder in _journal_folders(root, own):
        dead = _try_take(folder, trim=False)
        if dead is not None:
            dead.release(remove=False)
            return True
    return any(
        (folder / ENDED_FILE).exists() for folder in _journal_folders(mirror_root(root), None)
    )


def is_live(folder: Path) -> bool:
    """Whether the process that owns the journal ``folder`` still runs."""
    mirror = mirror_root(folder.parent) / folder.name
    if mirror.is_dir():
        return not (mirror / ENDED_FILE).exists()
    dead = _try_take(folder, trim=False)
    if dead is None:
        return (folder / "lock").exists()
    dead.release(remove=False)
    return False


def take_if_dead(folder: Path) -> DeadJournal | None:
    """The journal ``folder``, locked for us, if its owner is gone (its partial last line of
    each segment dropped); None while its owner lives."""
    return _try_take(folder)


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
        if size:
            handle.truncate(_end_of_last_line(handle, 0, size))


def _remove_if_stale(folder: Path) -> None:
    # A live writer renames its folder microseconds after making it, and a live ingester
    # empties its work folder when done; taking either away early would break them, so age
    # alone decides.
    try:
        stale = time.time() - folder.stat().st_mtime > _STALE_TMP_S
    except OSError:
        return
    if stale:
        shutil.rmtree(folder, ignore_errors=True)


# -- byte ranges ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """Bytes ``start`` to ``end`` of a segment: whole lines the store does not hold yet."""

    segment: Segment
    start: int
    end: int


def chunks(segments: list[Segment], stored: dict[tuple[str, int], int | None]) -> list[Chunk]:
    """The complete lines of each segment past the ``stored`` byte count (None: all stored)."""
    found = []
    for segment in segments:
        start = stored.get(segment.key, 0)
        if start is None:
            continue
        try:
            with open(segment.path, "rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                end = _end_of_last_line(handle, start, size) if size > start else start
        except FileNotFoundError:
            continue  # deleted by its owner since the scan: it was all stored
        if end > start:
            found.append(Chunk(segment, start, end))
    return found


def _end_of_last_line(handle: BinaryIO, start: int, size: int) -> int:
    """The offset just past the last newline between ``start`` and ``size`` (``start`` if
    there is none)."""
    position = size
    while position > start:
        block_start = max(start, position - _TAIL_CHUNK)
        handle.seek(block_start)
        block = handle.read(position - block_start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            return block_start + newline + 1
        position = block_start
    return start


def materialize(found: list[Chunk], work: Path) -> dict[Path, Chunk]:
    """A file per chunk for DuckDB's reader: the segment itself when the chunk is all of it,
    else a copy of the chunk's bytes in ``work`` (a live writer may be appending meanwhile)."""
    files: dict[Path, Chunk] = {}
    for chunk in found:
        whole = chunk.start == 0 and chunk.segment.closed and _size(chunk.segment.path) == chunk.end
        if whole:
            files[chunk.segment.path] = chunk
            continue
        work.mkdir(parents=True, exist_ok=True)
        copy = work / f"{chunk.segment.journal}-{chunk.segment.number:08d}{SEGMENT_SUFFIX}"
        with open(chunk.segment.path, "rb") as source, open(copy, "wb") as target:
            os.sendfile(target.fileno(), source.fileno(), chunk.start, chunk.end - chunk.start)
        files[copy] = chunk
    return files


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


# -- the hint ------------------------------------------------------------------------------------


def hint_path(store_path: Path) -> Path:
    return store_path.with_name(f".{store_path.name}.ingested")


def write_hint(store_path: Path, stored: dict[tuple[str, int], int | None]) -> None:
    """Record how far each segment on disk is in the store (after a commit, under the lock)."""
    hint = {f"{journal}/{number}": size for (journal, number), size in stored.items()}
    target = hint_path(store_path)
    staging = target.with_name(f"{target.name}.{os.getpid()}")
    with contextlib.suppress(OSError):
        staging.write_text(json.dumps(hint), encoding="utf-8")
        os.replace(staging, target)


def read_hint(store_path: Path) -> dict[str, int | None]:
    try:
        hint = json.loads(hint_path(store_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return hint if isinstance(hint, dict) else {}


def stored_per_hint(path: Path, hint: dict[str, int | None]) -> bool:
    """Whether the hint counts every byte of the segment ``path`` as stored. The hint is
    written after a commit, so it never claims more than the store holds."""
    stored = hint.get(f"{path.parent.name}/{int(path.stem)}", 0)
    return stored is None or _size(path) <= stored


def unstored_bytes(store_path: Path, root: Path) -> bool:
    """Whether a live journal (this process's included) holds bytes the hint does not count
    as stored (a cheap check: it may say yes when an ingestion would find only a partial
    line)."""
    hint = read_hint(store_path)
    folders = [*_journal_folders(root, None), *_journal_folders(mirror_root(root), None)]
    return any(
        not stored_per_hint(path, hint)
        for folder in folders
        for path in folder.glob(f"*{SEGMENT_SUFFIX}")
    )
