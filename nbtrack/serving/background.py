"""A scoring server in a daemon thread of this process: ``nbtrack.serve`` and the CLI's engine.

The thread runs uvicorn on a socket bound here, before the thread starts, so that a port in
use is an error at the call, and a free port (``port=None``) is chosen without a race. Being
a daemon thread, it ends with the process: a notebook kernel that exits or restarts leaves no
server behind.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterable
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from nbtrack import config
from nbtrack.errors import InvalidValueError, NbtrackError
from nbtrack.serving.app import create_app
from nbtrack.serving.connections import (
    Capacity,
    capacity_for,
    protocol_class,
    quiet_loop_errors,
)
from nbtrack.serving.following import Follower, Served, target
from nbtrack.serving.settings import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_HOST,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_CONNECTIONS,
    bare_host,
    check_settings,
)

log = logging.getLogger("nbtrack.serve")

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
BACKLOG = 128


class Server:
    """A running server: ``url``, ``port``, ``stop()``; a context manager that stops it.

    Examples
    --------
    >>> with nbtrack.serve("churn") as server:  # doctest: +SKIP
    ...     requests.post(f"{server.url}/invocations", json={"inputs": rows}).json()
    """

    def __init__(
        self, uv: uvicorn.Server, thread: threading.Thread, follower: Follower, host: str,
        port: int,
    ) -> None:  # fmt: skip
        self._uv = uv
        self._thread = thread
        self._follower = follower
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        """The base URL on this machine, e.g. ``http://127.0.0.1:54321``."""
        host = bare_host(self.host)
        # Bound to every address: this machine reaches it through loopback.
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def served(self) -> Served:
        """The model answering now (it changes when a followed alias moves)."""
        return self._follower.current

    @property
    def running(self) -> bool:
        """Whether the server still answers."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop answering: requests in flight finish first (for a few seconds at most)."""
        self._uv.should_exit = True
        self._thread.join(timeout=STOP_TIMEOUT_S)
        if self._thread.is_alive():
            self._uv.force_exit = True
            self._thread.join(timeout=STOP_TIMEOUT_S)
        self._follower.stop()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        served = self.served
        what = f"{served.name} version {served.version}" if served.name else served.uri
        state = "" if self.running else " (stopped)"
        return f"<nbtrack Server {self.url} serving {what}{state}>"


def serve(
    model: str,
    port: int | None = None,
    *,
    host: str = DEFAULT_HOST,
    token: str | None = None,
    insecure: bool = False,
    max_body: int = DEFAULT_MAX_BODY,
    allowed_hosts: Iterable[str] = (),
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> Server:
    """Serve ``model`` in a background thread; return once ``/ping`` answers 200.

    ``model`` is a model URI, a model folder, or a registered NAME (``models:/NAME@champion``);
    an alias (and ``latest``) is followed. ``port=None`` takes a free port. ``token``
    defaults to ``NBTRACK_SERVE_TOKEN``; off loopback one is required unless ``insecure``.
    Headers get ``header_timeout`` seconds, a body ``body_timeout``; past ``max_connections``
    requests get 503 (``settings`` has the rules). A model that cannot be loaded raises here,
    with the reason.

    Examples
    --------
    >>> server = serve("churn")  # doctest: +SKIP
    >>> server.url  # doctest: +SKIP
    'http://127.0.0.1:54321'
    """
    if token is None:
        token = config.serve_token()
    settings = check_settings(
        host, token, insecure, max_body, allowed_hosts, header_timeout=header_timeout,
        body_timeout=body_timeout, max_connections=max_connections,
    )  # fmt: skip
    sock = _bind(host, _checked_port(port))
    try:
        follower = Follower.start(target(model))
    except BaseException:
        sock.close()
        raise
    try:
        # Counted now, with the model loaded: the files the process holds are open.
        capacity = capacity_for(settings.max_connections)
        app = create_app(follower, settings, capacity)
        uv = _UvicornServer(_uvicorn_config(app, capacity, settings.header_timeout))
        thread = threading.Thread(
            target=_run, args=(uv, sock), name=f"nbtrack-serve-{sock.getsockname()[1]}",
            daemon=True,
        )  # fmt: skip
        thread.start()
        _wait_started(uv, thread)
    except BaseException:
        follower.stop()
        sock.close()
        raise
    return Server(uv, thread, follower, host, sock.getsockname()[1])


def _checked_port(port: int | None) -> int:
    if port is None:
        port = 0
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidValueError(
            f"serve: port {port!r} is not accepted; give a number from 1 to 65535, or None "
            "for a free one"
        )
    return port


class _UvicornServer(uvicorn.Server):
    # The loop exists only once serving starts: its error handler is set here.
    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        quiet_loop_errors(asyncio.get_running_loop())
        await super().serve(sockets)


def _uvicorn_config(app: Starlette, capacity: Capacity, header_timeout: float) -> uvicorn.Config:
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


def _bind(host: str, port: int) -> socket.socket:
    bare = bare_host(host)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            bare or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise InvalidValueError(
            f"serve: cannot listen on host {host!r}: {exc.strerror or exc}; give an address of "
            "this machine such as 127.0.0.1 or 0.0.0.0"
        ) from None
    try:
        # As uvicorn does: a restarted server may take its port back from TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InvalidValueError(
            f"serve: cannot listen on {host} port {port}: {exc.strerror or exc}; choose "
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


def _wait_started(uv: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not uv.started:
        if not thread.is_alive():
            raise NbtrackError("serve: the server stopped while starting; see the log above")
        if time.monotonic() > deadline:
            uv.should_exit = True
            raise NbtrackError(f"serve: the server did not start within {STARTUP_TIMEOUT_S} s")
        time.sleep(0.002)
