"""MLflow's busiest routes answered in front of Starlette's router, on the event loop.

A run logged through MLflow's client is a stream of small requests (``runs/create``, one
``log-parameter`` or ``log-metric`` per call, ``runs/update``, ``runs/get``). Through the
router each paid a scan of some 200 routes, a ``Request`` and a hop to a worker thread and
back, about two thirds of the server's time per request. When the server wrote the run itself
the answer needs no store: only this process's journal (an append the OS has on return, as
``nbtrack.log_metric`` does on its caller's thread) and its copy of the run (``RunMirror``).
Those requests are answered here, with the same fields parser, handlers, answers and errors
as ``routes.py``; any other request, and any of these that would read or write the store,
goes on to the router and its worker threads.

This sits behind the ``Guard`` (Host, token, capacity) and ``UiAccess``: it sees only what
they let through, as the router does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import Response

from nbtrack.http.guard import ASGIApp, Message, Receive, Scope, Send
from nbtrack.mlflow_compat import mapping
from nbtrack.mlflow_compat.service import TrackingService
from nbtrack.web.mlflow_rest import tracking_routes as tr
from nbtrack.web.mlflow_rest.fields import Fields
from nbtrack.web.mlflow_rest.routes import PREFIXES, answer, error_response, fields_from

# A route's answer from memory, or None when it needs the store (the router then answers).
InMemory = Callable[[TrackingService, Fields], "dict[str, Any] | None"]


def _run_id(fields: Fields) -> object:
    # As ``Fields.required_text("run_id", "run_uuid")`` picks it.
    found = fields.values.get("run_id")
    return found if found is not None else fields.values.get("run_uuid")


def _renames(tags: object) -> bool:
    """Whether a tag list sets the run's name (a write to the store's runs table)."""
    if not isinstance(tags, list):
        return True  # let the handler refuse it, on the router's path
    return any(not isinstance(t, dict) or t.get("key") == mapping.RUN_NAME_TAG for t in tags)


def _log_metric(service: TrackingService, f: Fields) -> dict[str, Any] | None:
    return tr.log_metric(service, f) if service.owns(_run_id(f)) else None


def _log_param(service: TrackingService, f: Fields) -> dict[str, Any] | None:
    return tr.log_param(service, f) if service.owns(_run_id(f)) else None


def _set_tag(service: TrackingService, f: Fields) -> dict[str, Any] | None:
    if not service.owns(_run_id(f)) or _renames([{"key": f.values.get("key")}]):
        return None
    return tr.set_tag(service, f)


def _log_batch(service: TrackingService, f: Fields) -> dict[str, Any] | None:
    if not service.owns(f.values.get("run_id")) or _renames(f.values.get("tags", [])):
        return None
    return tr.log_batch(service, f)


def _update_run(service: TrackingService, f: Fields) -> dict[str, Any] | None:
    if not service.owns(_run_id(f)) or f.values.get("run_name"):
        return None
    return tr.update_run(service, f)


def _create_run(service: TrackingService, f: Fields) -> dict[str, Any] | None:
    experiment_id = f.values.get("experiment_id")
    if not service.experiments.known_for_runs(experiment_id or "0"):
        return None
    return tr.create_run(service, f)


def _get_run(service: TrackingService, f: Fields) -> dict[str, Any] | None:
    found = service.run_from_memory(_run_id(f))
    return None if found is None else {"run": found}


ROUTES: dict[tuple[str, str], InMemory] = {
    ("POST", "runs/log-metric"): _log_metric,
    ("POST", "runs/log-parameter"): _log_param,
    ("POST", "runs/set-tag"): _set_tag,
    ("POST", "runs/log-batch"): _log_batch,
    ("POST", "runs/update"): _update_run,
    ("POST", "runs/create"): _create_run,
    ("GET", "runs/get"): _get_run,
}


class FastRoutes:
    """ASGI middleware: the routes of ``ROUTES`` answered from memory when they can be."""

    def __init__(self, app: ASGIApp, service: TrackingService, max_body: int) -> None:
        self.app = app
        self.service = service
        self.max_body = max_body
        self.table = {
            (method, prefix + path): work
            for (method, path), work in ROUTES.items()
            for prefix in PREFIXES
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        work = None
        if scope["type"] == "http" and not scope.get("root_path"):
            work = self.table.get((scope["method"], scope["path"]))
        if work is None:
            await self.app(scope, receive, send)
            return
        first = await receive()
        response = None
        # MLflow's client sends a body in one piece; one in parts goes the router's way.
        if first["type"] == "http.request" and not first.get("more_body", False):
            response = self._answer(work, scope, first.get("body", b""))
        if response is None:
            await self.app(scope, _replay(first, receive), send)
            return
        await response(scope, receive, send)

    def _answer(self, work: InMemory, scope: Scope, body: bytes) -> Response | None:
        try:
            query = QueryParams(scope.get("query_string", b"").decode("latin-1"))
            fields = fields_from(scope["method"], {}, query, body, self.max_body)
            found = work(self.service, fields)
        except Exception as exc:
            return error_response(exc)
        return None if found is None else answer(found)


def _replay(first: Message, receive: Receive) -> Receive:
    """``receive`` for the router: the message already taken first, then the request's rest."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return first
        return await receive()

    return again
