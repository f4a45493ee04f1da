"""A scoring server in a daemon thread of this process: ``nbtrack.serve`` and the CLI's engine
(``nbtrack.http.threaded`` has how the thread is run and why)."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

from nbtrack import config
from nbtrack.http.connections import capacity_for
from nbtrack.http.settings import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_HOST,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_CONNECTIONS,
    check_settings,
)
from nbtrack.http.threaded import ThreadedServer, bind, checked_port
from nbtrack.serving.app import create_app
from nbtrack.serving.following import Follower, Served, target


class Server:
    """A running server: ``url``, ``port``, ``stop()``; a context manager that stops it.

    Examples
    --------
    >>> with nbtrack.serve("churn") as server:  # doctest: +SKIP
    ...     requests.post(f"{server.url}/invocations", json={"inputs": rows}).json()
    """

    def __init__(self, threaded: ThreadedServer, follower: Follower) -> None:
        self._threaded = threaded
        self._follower = follower
        self.host = threaded.host
        self.port = threaded.port

    @property
    def url(self) -> str:
        """The base URL on this machine, e.g. ``http://127.0.0.1:54321``."""
        return self._threaded.url

    @property
    def served(self) -> Served:
        """The model answering now (it changes when a followed alias moves)."""
        return self._follower.current

    @property
    def running(self) -> bool:
        """Whether the server still answers."""
        return self._threaded.running

    def stop(self) -> None:
        """Stop answering: requests in flight finish first (for a few seconds at most)."""
        self._threaded.stop()
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
    sock = bind(host, checked_port(port))
    try:
        follower = Follower.start(target(model))
    except BaseException:
        sock.close()
        raise
    try:
        # Counted now, with the model loaded: the files the process holds are open.
        capacity = capacity_for(settings.max_connections)
        app = create_app(follower, settings, capacity)
        threaded = ThreadedServer(
            app, sock, capacity, settings.header_timeout, host, name="nbtrack-serve"
        )
    except BaseException:
        follower.stop()
        sock.close()
        raise
    return Server(threaded, follower)
