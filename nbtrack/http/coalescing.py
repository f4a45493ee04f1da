"""A connection's small writes of one event-loop turn sent in one ``send()``.

uvicorn writes a response's status line and headers, then its body, each straight to the
socket: two system calls and two TCP segments for an answer of a few hundred bytes, and the
client wakes twice to read it. For MLflow's client, whose every call is one such answer, the
second ``send()`` was a tenth of the server's time per request. Here writes smaller than
``LARGE`` wait in a list until the end of the loop's current turn (``call_soon``), and go out
joined. Anything large, or a total past ``LARGE``, is written at once, after what waits: the
order of bytes never changes, and a streamed download is never held in memory here.
Closing first sends what waits, as the transport's own close sends what it buffered.
"""

from __future__ import annotations

import asyncio
from typing import Any

LARGE = 64 * 1024


class CoalescingTransport:
    """``transport`` with writes joined per loop turn; everything else is the transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._waiting: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._waiting.append(bytes(data))
        self._size += len(data)
        if self._size >= LARGE:
            self.flush()
        elif len(self._waiting) == 1:
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        if not self._waiting:
            return
        data = self._waiting[0] if len(self._waiting) == 1 else b"".join(self._waiting)
        self._waiting, self._size = [], 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
