"""Sending one journal's segments to an ``nbtrack server``, in order, each byte acknowledged.

The server's answer to every post says how many bytes of the segment it holds on disk
(``store/mirrors.py``); the sender resumes from there, so a lost answer or a crash on either
side costs a resend of the same bytes at the same offset, which the server compares and does
not write twice. A segment is handed on to the next only once the server holds all of it, so
the server sees each journal in order. Only whole lines are sent: the bytes past a segment's
last newline are a record still being written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from nbtrack.errors import ServerError
from nbtrack.store.remote.calls import PREFIX
from nbtrack.store.remote.connection import ServerConnection

JOURNALS_PATH = f"{PREFIX}/journals"
# Bytes per request: large enough to carry a training loop's output in a few posts, small
# enough that the server's body limit (16 MiB) is never near.
CHUNK_BYTES = 4 * 1024 * 1024
_TAIL = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """The server's word on one segment: bytes held, whether it needs no more, its stages."""

    held: int
    complete: bool
    stages: tuple[int, int, int] | None


def post_lines(
    connection: ServerConnection,
    journal: str,
    segment: int,
    offset: int,
    data: bytes,
    timeout_s: float | None = None,
) -> Answer:
    """Post ``data`` (whole lines; empty to ask) at ``offset`` of a segment."""
    path = f"{JOURNALS_PATH}/{quote(journal, safe='')}/segments/{segment}?offset={offset}"
    response = connection.request(
        "POST",
        path,
        data,
        {"Content-Type": "application/x-ndjson", "Content-Length": str(len(data))},
        timeout_s,
    )
    return _answer(connection, response.json())


def post_end(
    connection: ServerConnection,
    journal: str,
    dead: bool,
    heartbeat_us: int,
    timeout_s: float | None = None,
) -> None:
    """Tell the server the journal ended: ``dead`` (its process died, last seen at
    ``heartbeat_us``) or cleanly."""
    body = f'{{"dead": {"true" if dead else "false"}, "heartbeat_us": {int(heartbeat_us)}}}'
    connection.request(
        "POST",
        f"{JOURNALS_PATH}/{quote(journal, safe='')}/end",
        body.encode(),
        {"Content-Type": "application/json"},
        timeout_s,
    )


def _answer(connection: ServerConnection, found: object) -> Answer:
    if not isinstance(found, dict) or not isinstance(found.get("held"), int):
        raise ServerError(f"the server {connection.url} answered a journal post with {found!r}")
    stages = found.get("stages")
    return Answer(
        found["held"],
        bool(found.get("complete")),
        tuple(stages) if isinstance(stages, list) and len(stages) == 3 else None,
    )


class SegmentSender:
    """What the server holds of one journal's segments, and the sending of the rest.

    ``held`` is per segment number; a segment not in it is first asked about (an empty post),
    so a process taking over a dead journal sends only what the server lacks.
    """

    def __init__(
        self,
        connection: ServerConnection,
        journal: str,
        on_answer: Callable[[Answer], None] | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.connection = connection
        self.journal = journal
        self.held: dict[int, int] = {}
        self.complete: set[int] = set()
        self.sent_bytes = 0
        self._on_answer = on_answer
        self.timeout_s = timeout_s

    def send(self, path: Path) -> bool:
        """Send the whole lines of segment ``path`` the server lacks; whether it now holds
        every byte of the file (as it is now)."""
        number = int(path.stem)
        if number in self.complete:
            return True
        if number not in self.held:
            self._post(number, 0, b"")
        try:
            with open(path, "rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                while number not in self.complete and self.held[number] < size:
                    start = self.held[number]
                    data = _whole_lines(handle, start, min(size, start + CHUNK_BYTES))
                    if not data:
                        return False  # a line still being written, or over CHUNK_BYTES
                    self._post(number, start, data)
                    if self.held[number] == start:
                        return False
        except FileNotFoundError:
            return True  # forgotten by its owner since: the server held it all
        return number in self.complete or self.held[number] >= size

    def _post(self, number: int, offset: int, data: bytes) -> None:
        answer = post_lines(self.connection, self.journal, number, offset, data, self.timeout_s)
        if answer.complete:
            self.complete.add(number)
        self.held[number] = answer.held
        if answer.held > offset:
            self.sent_bytes += min(len(data), answer.held - offset)
        if self._on_answer is not None:
            self._on_answer(answer)


def _whole_lines(handle: BinaryIO, start: int, end: int) -> bytes:
    """The bytes from ``start`` up to the last newline before ``end``."""
    handle.seek(start)
    data: bytes = handle.read(end - start)
    cut = data.rfind(b"\n")
    if cut < 0 and end - start >= CHUNK_BYTES:
        # One line longer than a chunk: read on to its end rather than never send it.
        rest = bytearray(data)
        while (block := handle.read(_TAIL)) and b"\n" not in block:
            rest += block
        rest += block[: block.find(b"\n") + 1] if block else b""
        return bytes(rest) if rest.endswith(b"\n") else b""
    return data[: cut + 1]
