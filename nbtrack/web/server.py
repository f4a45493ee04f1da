"""``nbtrack server``: MLflow's REST API on one store, for MLflow's clients and a team.

The app answers MLflow's endpoints (``web/mlflow_rest``), ``/health`` and ``/ping``, ``nbtrack
ui``'s pages and read API (as ``mlflow server`` serves MLflow's UI), and any ``extra_routes``.
It reads the store as every reader does (short-lived connections, never holding the lock
between requests) and writes through this process's journal, as every nbtrack writer does.
Who may call it is ``nbtrack.http``'s rule: no token on loopback; elsewhere a token
(``Authorization: Bearer``, or HTTP Basic with the token as the password, as MLflow's client
sends ``MLFLOW_TRACKING_USERNAME/PASSWORD``) and the Host check.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nbtrack import config
from nbtrack.errors import InvalidValueError
from nbtrack.http.connections import Capacity, capacity_for
from nbtrack.http.guard import ASGIApp, Guard
from nbtrack.http.settings import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_HOST,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_CONNECTIONS,
    Settings,
    check_settings,
)
from nbtrack.http.threaded import ThreadedServer, bind, checked_port
from nbtrack.mlflow_compat.registry import RegistryService
from nbtrack.mlflow_compat.service import TrackingService, proxied_artifact_uri
from nbtrack.store.mirrors import DEFAULT_QUIET_S
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.tracking.artifact_files import keep_store_files_in
from nbtrack.web.access import UiAccess
from nbtrack.web.app import ui_routes
from nbtrack.web.destinations import open_destination
from nbtrack.web.mlflow_rest.artifacts import DEFAULT_MAX_SIZE, ArtifactProxy
from nbtrack.web.mlflow_rest.fast_routes import FastRoutes
from nbtrack.web.mlflow_rest.routes import mlflow_routes
from nbtrack.web.store_api.artifacts import artifact_routes
from nbtrack.web.store_api.calls import call_route
from nbtrack.web.store_api.changes import changes_route
from nbtrack.web.store_api.journals import journal_routes
from nbtrack.web.store_api.machine import MACHINE_PATHS
from nbtrack.web.store_api.sql import DEFAULT_SQL_LIMITS, SqlLimits, sql_route

DEFAULT_PORT = 5000
# The UI's pages and read API: what its CSRF check covers beside MLflow's API.
UI_PATHS = "/nbtrack/"


def create_app(
    store_path: Path,
    settings: Settings,
    capacity: Capacity | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    max_artifact_size: int = DEFAULT_MAX_SIZE,
    artifacts_destination: str | None = None,
    sql_limits: SqlLimits = DEFAULT_SQL_LIMITS,
    silent_client_s: float = DEFAULT_QUIET_S,
) -> Starlette:
    """The server's ASGI app for the store at ``store_path``; ``extra_routes`` are answered
    on the same port, behind the same checks. Artifacts go to ``artifacts_destination`` (a
    folder or an fsspec URL), by default the store's own artifact folder."""
    service = TrackingService(store_path, proxied_artifact_uri, mirror_runs=True)
    service.experiments.ensure_default()
    destination = open_destination(
        artifacts_destination, (service.store.folder / ARTIFACTS_FOLDER).resolve()
    )
    if artifacts_destination is not None:
        # The UI's pages and MLflow's artifacts/list read the runs' files where they are.
        keep_store_files_in(service.store, destination)
    proxy = ArtifactProxy(service, max_artifact_size, destination)
    routes = [
        Route("/health", _ok, methods=["GET"]),
        Route("/ping", _ok, methods=["GET"]),
        *mlflow_routes(
            service,
            RegistryService(service),
            proxy,
            settings.max_body,
        ),
        call_route(service.store, settings.max_body),
        sql_route(service.store, sql_limits),
        changes_route(service.store),
        *journal_routes(store_path, silent_client_s),
        *artifact_routes(proxy),
        *extra_routes,
    ]
    middleware = [
        Middleware(Guard, settings=settings, capacity=capacity),
        Middleware(FastRoutes, service=service, max_body=settings.max_body),
    ]
    return Starlette(routes=routes, middleware=middleware)


def silent_client_seconds(days: float) -> float:
    """``--silent-client-days`` in seconds: a positive number of days."""
    if not days > 0 or days == float("inf"):
        raise InvalidValueError(
            f"--silent-client-days {days!r} is not accepted; give a positive number of days"
        )
    return days * 24 * 3600


async def _ok(request: Request) -> Response:
    return Response(b"OK", media_type="text/plain")


class TrackingServer:
    """A running ``nbtrack server``: ``url``, ``port``, ``running``, ``stop()``."""

    def __init__(self, threaded: ThreadedServer, stopping: threading.Event) -> None:
        self._threaded = threaded
        self._stopping = stopping
        self.port = threaded.port

    @property
    def url(self) -> str:
        return self._threaded.url

    @property
    def running(self) -> bool:
        return self._threaded.running

    def stop(self) -> None:
        self._stopping.set()  # the UI's open long-polls answer now rather than hold the stop up
        self._threaded.stop()

    def __enter__(self) -> TrackingServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start(
    port: int | None = DEFAULT_PORT,
    *,
    host: str = DEFAULT_HOST,
    token: str | None = None,
    store: Path | None = None,
    allowed_hosts: Iterable[str] = (),
    max_body: int = DEFAULT_MAX_BODY,
    max_artifact_size: int = DEFAULT_MAX_SIZE,
    artifacts_destination: str | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    ui: bool = True,
    sql_limits: SqlLimits = DEFAULT_SQL_LIMITS,
    silent_client_s: float = DEFAULT_QUIET_S,
) -> TrackingServer:
    """Serve MLflow's REST API for ``store`` (nbtrack's own store by default) in a daemon
    thread, with ``nbtrack ui`` on the same port unless ``ui`` is False; return once it
    answers. Off loopback a ``token`` is required."""
    settings = check_settings(
        host, token, False, max_body, allowed_hosts, header_timeout=DEFAULT_HEADER_TIMEOUT,
        body_timeout=DEFAULT_BODY_TIMEOUT, max_connections=DEFAULT_MAX_CONNECTIONS,
        command="server",
    )  # fmt: skip
    path = store if store is not None else config.resolve_store_path()
    # nbtrack's registry functions work on the current store: this server's.
    config.set_tracking_uri(path)
    sock = bind(host, checked_port(port, "server"), "server")
    stopping = threading.Event()
    try:
        capacity = capacity_for(settings.max_connections)
        routes = [*extra_routes, *(ui_routes(stopping) if ui else ())]
        app: ASGIApp = create_app(
            path,
            settings,
            capacity,
            routes,
            max_artifact_size,
            artifacts_destination=artifacts_destination,
            sql_limits=sql_limits,
            silent_client_s=silent_client_s,
        )
        if ui:
            app = UiAccess(
                app, settings.token, checked_prefixes=(UI_PATHS,), exempt_prefixes=(MACHINE_PATHS,)
            )
        threaded = ThreadedServer(
            app, sock, capacity, settings.header_timeout, host, name="nbtrack-server"
        )
    except BaseException:
        sock.close()
        raise
    return TrackingServer(threaded, stopping)
