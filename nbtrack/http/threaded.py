"""A uvicorn server in a daemon thread of this process, on a socket bound before it starts.

Binding first makes a port in use an error at the call, and lets a free port (``port=0``) be
chosen without a race. Being a daemon thread, the server ends with the process: a notebook
kernel that exits or restarts leaves none behind. ``nbtrack.serve``, ``nbtrack.ui`` and
``nbtrack server`` run this way, and their commands too (``cli/foreground`` keeps them in the
foreground).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

import uvicorn

from nbtrack.errors import InvalidValueError, NbtrackError
from nbtrack.http.connections import Capacity, protocol_class, quiet_loop_errors
from nbtrack.http.guard import ASGIApp
from nbtrack.http.settings import bare_host

log = logging.getLogger("nbtrack.serve")

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
BACKLOG = 128


class ThreadedServer:
    """uvicorn answering ``app`` in a daemon thread: ``port``, ``url``, ``running``, ``stop()``."""

    def __init__(
        self, app: ASGIApp, sock: socket.socket, capacity: Capacity, header_timeout: float,
        host: str, name: str,
    ) -> None:  # fmt: skip
        self.host = host
        self.port: int = sock.getsockname()[1]
        self._uv = _UvicornServer(_uvicorn_config(app, capacity, header_timeout))
        self._thread = threading.Thread(
            target=_run, args=(self._uv, sock), name=f"{name}-{self.port}", daemon=True
        )
        self._thread.start()
        _wait_started(self._uv, self._thread, name)

    @property
    def url(self) -> str:
        """The base URL on this machine, e.g. ``http://127.0.0.1:54321``."""
        return local_url(self.host, self.port)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop answering: requests in flight finish first (for a few seconds at most)."""
        self._uv.should_exit = True
        self._thread.join(timeout=STOP_TIMEOUT_S)
        if self._thread.is_alive():
            self._uv.force_exit = True
            self._thread.join(timeout=STOP_TIMEOUT_S)


def local_url(host: str, port: int) -> str:
    """How this machine reaches a server bound to ``host``: every address means loopback."""
    host = bare_host(host)
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def checked_port(port: int | None, command: str = "serve") -> int:
    if port is None:
        port = 0
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidValueError(
            f"{command}: port {port!r} is not accepted; give a number from 1 to 65535, or None "
            "for a free one"
        )
    return port


class _UvicornServer(uvicorn.Server):
    # The loop exists only once serving starts: its error handler is set here.
    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        quiet_loop_errors(asyncio.get_running_loop())
        await super().serve(sockets)


def _uvicorn_config(app: ASGIApp, capacity: Capacity, header_timeout: float) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        # httptools, with the deadlines and limits uvicorn leaves out (see connections).
        http=protocol_class(capacity, header_timeout),
        # Seconds an idle kept-alive connection stays open (uvicorn's default, made plain).
        timeout_keep_alive=KEEP_ALIVE_S,
        # Also how many connections asyncio accepts in one pass, before any of them can be
        # refused: uvicorn's 2048 could take every file descriptor left in one burst.
        backlog=BACKLOG,
        # nbtrack writes the access log (one line per request) to its own logger.
        access_log=False,
        log_config=None,
        lifespan="off",
        # uvloop measured no faster here; asyncio behaves the same in any host process.
        loop="asyncio",
        ws="none",
        interface="asgi3",
        # The peer address is logged as it is, whatever X-Forwarded-For claims.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )


def bind(host: str, port: int, command: str = "serve") -> socket.socket:
    bare = bare_host(host)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            bare or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise InvalidValueError(
            f"{command}: cannot listen on host {host!r}: {exc.strerror or exc}; give an address of "
            "this machine such as 127.0.0.1 or 0.0.0.0"
        ) from None
    try:
        # As uvicorn does: a restarted server may take its port back from TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InvalidValueError(
            f"{command}: cannot listen on {host} port {port}: {exc.strerror or exc}; choose "
            "another port, or none for a free one"
        ) from None
    return sock


def _run(uv: uvicorn.Server, sock: socket.socket) -> None:
    try:
        uv.run(sockets=[sock])
    except BaseException:
        log.exception("the server stopped on an error")
    finally:
        sock.close()


def _wait_started(uv: uvicorn.Server, thread: threading.Thread, name: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not uv.started:
        if not thread.is_alive():
            raise NbtrackError(f"{name}: the server stopped while starting; see the log above")
        if time.monotonic() > deadline:
            uv.should_exit = True
            raise NbtrackError(f"{name}: the server did not start within {STARTUP_TIMEOUT_S} s")
        time.sleep(0.002)
