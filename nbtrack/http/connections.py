"""The server's connections: uvicorn's httptools protocol, with deadlines and limits.

uvicorn (0.34 to 0.55 at least) gives a new connection no deadline until its first response
(its keep-alive timeout starts after one), no limit on the size of headers with httptools, and
answers what its parser refuses in plain text. A client that connects and sends a few bytes
then holds a file descriptor for good; enough of them and ``accept()`` fails on every tick
of the event loop, each failure logged with a traceback. So each connection here gets:

- ``header_timeout`` seconds from its first byte (or from connecting) to the end of the
  request's headers: past it, 408 (a connection that sent nothing is just closed);
- ``MAX_HEADER_BYTES`` of request line and headers: past them, 431;
- a place among ``capacity.cap`` connections: past them, a 503 at once, before it is read;
- MLflow's JSON error shape for a request that uvicorn's parser refuses.

The body's deadline is the app's (``app.read_body``), which knows whether a body is read at
all; the 503 past ``capacity.limit`` requests in progress is the app's too (``guard``), which
knows the path: ``/ping`` and ``/health`` are still answered there. uvicorn's own
``limit_concurrency`` is not used: it counts idle connections, refuses probes too, and says so
in plain text.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from nbtrack.errors import InvalidValueError
from nbtrack.http.coalescing import CoalescingTransport
from nbtrack.http.errors import JSON, error_body

log = logging.getLogger("nbtrack.serve")

MAX_HEADER_BYTES = 32 * 1024
# Connections kept beyond the limit so that /ping and /health are answered while it is
# reached, and a busy answer can still be read and sent.
PROBE_ROOM = 8
# Files kept free for what the process opens besides connections: the store and a new model
# version's files when an alias moves, log files, the loop's own descriptors.
FILE_RESERVE = 32
# Refused connections and a lack of file descriptors are logged once per this many seconds.
NOTICE_INTERVAL_S = 10.0


@dataclass
class Capacity:
    """How much a server takes on at once; the counts change on the event loop only.

    With ``limit`` requests in progress (``busy``), another one other than a probe gets 503;
    with ``cap`` connections open, a new one is answered 503 before anything of it is read.
    """

    limit: int
    cap: int
    open: int = 0
    busy: int = 0
    refused: int = 0
    _noticed: float = float("-inf")

    def refuse(self) -> None:
        """Count a refused connection; say so in the log now and then, not once for each."""
        self.refused += 1
        now = time.monotonic()
        if now - self._noticed >= NOTICE_INTERVAL_S:
            log.warning(
                "refused %d connection(s): the server keeps at most %d (--max-connections %d, "
                "and %d more for /ping and /health)", self.refused, self.cap, self.limit,
                PROBE_ROOM,
            )  # fmt: skip
            self._noticed, self.refused = now, 0


def capacity_for(max_connections: int) -> Capacity:
    """The connections kept for ``max_connections``, fewer if the open-file limit needs it."""
    cap = max_connections + PROBE_ROOM
    limit, room = _file_room()
    if room is not None and room < cap:
        if room - PROBE_ROOM < 1:
            raise InvalidValueError(
                f"serve: the open-file limit (ulimit -n {limit}) leaves room for "
                f"{max(room, 0)} connections, and {PROBE_ROOM + 1} are the fewest a server "
                "needs; raise the limit"
            )
        log.info(
            "at most %d connections: the open-file limit (ulimit -n %d) leaves no room for %d",
            room - PROBE_ROOM, limit, max_connections,
        )  # fmt: skip
        cap = room
    return Capacity(limit=cap - PROBE_ROOM, cap=cap)


def _file_room() -> tuple[int, int | None]:
    """The open-file limit, and the files under it left for connections (None: no limit)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to fit
        return -1, None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return -1, None
    try:
        in_use = len(os.listdir("/dev/fd"))
    except OSError:
        in_use = 0
    return soft, soft - in_use - FILE_RESERVE


def protocol_class(capacity: Capacity, header_timeout: float) -> type[KeptConnection]:
    """The protocol uvicorn instantiates for each connection of one server."""

    class ServerConnection(KeptConnection):
        pass

    ServerConnection.capacity = capacity
    ServerConnection.header_timeout = header_timeout
    return ServerConnection


class KeptConnection(HttpToolsProtocol):
    """One connection, held to the deadlines and limits of this module's docstring."""

    capacity: ClassVar[Capacity]
    header_timeout: ClassVar[float]
    _counted = False
    _deadline: asyncio.TimerHandle | None = None
    _begun = False
    _header_bytes = 0
    # Bytes of a header still incomplete: counted from whole chunks without a parser callback.
    _partial_bytes = 0
    _called_back = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # A response's head and body in one send (see coalescing).
        joined = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(cast(asyncio.Transport, joined))
        if self.capacity.open >= self.capacity.cap:
            # Not counted: it is closed at once, and should not make others look over.
            self.capacity.refuse()
            self._refuse(503, "the server is busy; try again shortly")
            return
        self.capacity.open += 1
        self._counted = True
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted:
            self.capacity.open -= 1
            self._counted = False
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        idle = self.cycle is None or self.cycle.response_complete
        if idle and self._deadline is None:
            # Bytes after a response (leading blank lines too) start the next deadline.
            self._arm()
        self._called_back = False
        super().data_received(data)
        if self._deadline is not None and not self._called_back:
            self._partial_bytes += len(data)
            self._check_size()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._begun, self._header_bytes, self._partial_bytes = True, 0, 0
        self._called_back = True
        if self._deadline is None:
            self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._begun, self._called_back = False, True
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to a request its parser refused; the refusal may be ours (431).
        if not self.transport.is_closing():
            self._refuse(400, "the request is not valid HTTP/1.1")

    def _count(self, size: int) -> None:
        self._called_back = True
        self._header_bytes += size
        self._partial_bytes = 0
        if self._check_size():
            # Stops the parser; uvicorn then calls send_400_response, which sees it answered.
            raise _Refused

    def _check_size(self) -> bool:
        if self._header_bytes + self._partial_bytes <= MAX_HEADER_BYTES:
            return False
        self._refuse(
            431, f"the request line and headers are larger than the {MAX_HEADER_BYTES} bytes "
            "accepted",
        )  # fmt: skip
        return True

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._begun:
            self._refuse(
                408, f"the request headers did not arrive within {self.header_timeout:g} s",
            )  # fmt: skip
        elif not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        if not self._answerable():
            self.transport.close()
            return
        body = error_body(status, message)
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head.append(
            f"content-type: {JSON}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
            .encode()
        )  # fmt: skip
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def _answerable(self) -> bool:
        # Whether bytes written now are read as the answer to the request being parsed. Not
        # while an earlier request (pipelined ahead of it) is still being answered, nor once
        # this request's own answer has begun.
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return True
        return not self._begun and not cycle.response_started


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a request already answered."""


def quiet_loop_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Log a lack of file descriptors once now and then, instead of with each failed accept.

    On ``EMFILE`` asyncio logs a traceback for each pending connection and retries a second
    later (CPython 3.11 keeps looping over the backlog after the failure): thousands of lines
    a second while descriptors are short. The connection cap keeps clear of the limit, unless
    something else in the process takes the descriptors.
    """
    noticed = float("-inf")

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        nonlocal noticed
        error = context.get("exception")
        if not (isinstance(error, OSError) and "accept" in str(context.get("message", ""))):
            loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - noticed >= NOTICE_INTERVAL_S:
            noticed = now
            log.warning(
                "new connections wait: %s; raise the open-file limit (ulimit -n) or lower "
                "--max-connections", error.strerror or error,
            )  # fmt: skip

    loop.set_exception_handler(handle)
