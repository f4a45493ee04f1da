"""The UI in a daemon thread of this process: ``nbtrack.ui`` and the engine of ``nbtrack ui``."""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import Iterable
from types import TracebackType
from urllib.parse import quote

from nbtrack import config
from nbtrack.http.connections import capacity_for
from nbtrack.http.settings import DEFAULT_HOST, DEFAULT_MAX_BODY, check_settings
from nbtrack.http.threaded import ThreadedServer, bind, checked_port
from nbtrack.read_api.pages import UI_PREFIX
from nbtrack.web.app import create_ui_app


class UI:
    """A running UI: ``url`` (with the token when there is one), ``stop()``; a context manager.

    Examples
    --------
    >>> with nbtrack.ui() as ui:  # doctest: +SKIP
    ...     print(ui.url)
    """

    def __init__(
        self, threaded: ThreadedServer, token: str | None, stopping: threading.Event
    ) -> None:
        self._threaded = threaded
        self._stopping = stopping
        self._token = token
        self.host = threaded.host
        self.port = threaded.port

    @property
    def url(self) -> str:
        """The UI's address on this machine; it carries the token, which the browser keeps."""
        base = f"{self._threaded.url}{UI_PREFIX}"
        return f"{base}?token={quote(self._token)}" if self._token else base

    @property
    def api_url(self) -> str:
        """The read API's base, e.g. ``http://127.0.0.1:5000/nbtrack/api/``."""
        return f"{self._threaded.url}/nbtrack/api/"

    @property
    def running(self) -> bool:
        return self._threaded.running

    def stop(self) -> None:
        """Stop answering (requests in flight finish first); a second call does nothing."""
        self._stopping.set()  # open long-polls answer now rather than hold the stop up
        self._threaded.stop()

    def __enter__(self) -> UI:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "" if self.running else " (stopped)"
        return f"<nbtrack UI {self._threaded.url}{UI_PREFIX}{state}>"


def ui(
    port: int | None = None,
    *,
    host: str = DEFAULT_HOST,
    token: str | None = None,
    insecure: bool = False,
    allowed_hosts: Iterable[str] = (),
    open_browser: bool = False,
) -> UI:
    """Serve the web UI of the current store in a background thread; return once it answers.

    ``port=None`` takes a free port. On 127.0.0.1 (the default) no token is needed; on any
    other address ``token`` (default: ``NBTRACK_SERVE_TOKEN``) or ``insecure=True`` is.

    Examples
    --------
    >>> ui = nbtrack.ui()  # doctest: +SKIP
    >>> ui.url  # doctest: +SKIP
    'http://127.0.0.1:54321/nbtrack/ui/'
    """
    if token is None:
        token = config.serve_token()
    settings = check_settings(host, token, insecure, DEFAULT_MAX_BODY, allowed_hosts, command="ui")
    sock = bind(host, checked_port(port, "ui"), "ui")
    try:
        capacity = capacity_for(settings.max_connections)
        stopping = threading.Event()
        app = create_ui_app(settings, capacity, stopping)
        threaded = ThreadedServer(
            app, sock, capacity, settings.header_timeout, host, name="nbtrack-ui"
        )
    except BaseException:
        sock.close()
        raise
    running = UI(threaded, token, stopping)
    if open_browser:
        webbrowser.open(running.url)
    return running
