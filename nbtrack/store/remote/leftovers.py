"""What dead processes left in a spool folder, sent to the server: ``nbtrack sync``'s work.

A process logging to a server keeps its journal in the spool folder on its own machine, locked
for its life (``store/journal.py``). Once another process can take that lock, the owner is gone
— ``kill -9``, a crash, or an exit before the server answered — and its journal is sent by
whoever finds it: ``nbtrack sync``, or the sender of any later process for that server. Only
after every byte is acknowledged is the server told the journal ended dead (with the owner's
last heartbeat): then, and not when the server itself restarts, its RUNNING runs become KILLED.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nbtrack.errors import ServerError
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.store.remote.sender import SegmentSender, post_end
from nbtrack.store.segments import take_if_dead

_RUN_ID = re.compile(rb'"r":"([0-9A-Za-z_-]+)"')
# A journal folder's name (host-pid-random), nothing that could name another folder.
_JOURNAL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


@dataclass
class SyncReport:
    """What a sync delivered (journals, bytes, runs) and how many journals are still live."""

    journals: int = 0
    bytes: int = 0
    runs: set[str] = field(default_factory=set)
    live_journals: int = 0


def delivered_journals(root: Path, own: str | None) -> Callable[[str | None], bool]:
    """Whether every line of a journal of the spool folder ``root`` is on the server, as far
    as this process can tell: its own ``own`` (asked once it is sent), or one whose folder is
    gone (sent, then removed). For a file that names no journal, no other journal is here."""

    def delivered(name: str | None) -> bool:
        if name is None or not _JOURNAL_NAME.fullmatch(name):
            return not journal_folders(root, own)
        return name == own or not (root / name).exists()

    return delivered


def journal_folders(root: Path, own: str | None = None) -> list[Path]:
    try:
        entries = sorted(root.iterdir())
    except FileNotFoundError:
        return []
    return [
        entry
        for entry in entries
        if entry.is_dir()
        and entry.name != own
        and not entry.name.startswith(".")
        and not entry.name.endswith(".tmp")
    ]


def send_leftovers(
    connection: ServerConnection,
    root: Path,
    own: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    timeout_s: float | None = None,
) -> SyncReport:
    """Send every dead journal under ``root`` (``own`` aside), end it dead on the server, and
    remove it here; live ones are counted and left to their owners. ``progress(journal,
    bytes, runs)`` after each. Raises ``ServerUnreachableError`` when the server does not
    answer (what was acknowledged so far stays acknowledged)."""
    report = SyncReport()
    for folder in journal_folders(root, own):
        dead = take_if_dead(folder)
        if dead is None:
            report.live_journals += 1
            continue
        try:
            sender = SegmentSender(connection, dead.name, timeout_s=timeout_s)
            for path in dead.segments:
                if not sender.send(path):
                    raise ServerError(
                        f"the server {connection.url} did not take segment {path.name} of the "
                        f"journal {dead.name}; it stays in {root}"
                    )
            runs = _run_ids(dead.segments)
            post_end(connection, dead.name, True, dead.heartbeat_us, timeout_s)
        except BaseException:
            dead.release(remove=False)
            raise
        dead.release(remove=True)
        report.journals += 1
        report.bytes += sender.sent_bytes
        report.runs |= runs
        if progress is not None:
            progress(dead.name, sender.sent_bytes, len(runs))
    return report


def _run_ids(segments: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in segments:
        try:
            found |= {match.decode() for match in _RUN_ID.findall(path.read_bytes())}
        except FileNotFoundError:
            continue
    return found
