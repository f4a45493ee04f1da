"""``nbtrack ui`` as a Starlette app: the pages below ``/nbtrack/ui/``, the read API below
``/nbtrack/api/`` and a long-poll that answers when the store changes.

Each API request is handed to ``read_api.routes.answer`` in a worker thread (it may open
DuckDB for a moment); the long-poll only stats marker files, on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Route

from nbtrack.http.connections import Capacity
from nbtrack.http.guard import CLIENT_CLOSED, Guard
from nbtrack.http.settings import Settings
from nbtrack.read_api import pages, routes, watch
from nbtrack.web.access import UiAccess

MAX_BODY = 64 * 1024
# A long-poll answers "unchanged" after this long: proxies drop quiet requests at 30-60 s.
POLL_TIMEOUT_S = 25.0
POLL_INTERVAL_S = 0.1


def ui_routes(stopping: threading.Event | None = None) -> list[BaseRoute]:
    """The UI's routes, for a Starlette app of its own or another's (``nbtrack server``).
    Long-polls answer at once when ``stopping`` is set, so a server stops without waiting."""
    stopping = stopping or threading.Event()

    async def changes(request: Request) -> Response:
        return await _changes(request, stopping)

    return [
        Route("/", _home),
        Route("/nbtrack/ui/", _page),
        Route("/nbtrack/ui/{name}", _page),
        Route("/nbtrack/api/changes", changes),
        Route("/nbtrack/api/{path:path}", _api, methods=["GET", "POST", "DELETE"]),
    ]


def create_ui_app(
    settings: Settings, capacity: Capacity | None = None, stopping: threading.Event | None = None
) -> Any:
    """The UI behind the guard (Host, token, capacity) and ``UiAccess`` (cookie, CSRF)."""
    app = Starlette(routes=ui_routes(stopping))
    return UiAccess(Guard(app, settings, capacity), settings.token)


async def _home(request: Request) -> Response:
    return RedirectResponse(pages.UI_PREFIX, 307)


async def _page(request: Request) -> Response:
    found = await run_in_threadpool(pages.page_file, request.path_params.get("name", ""))
    if found is None:
        return JSONResponse({"error": "no such page file"}, 404)
    content, media_type = found
    return Response(content, media_type=media_type, headers=pages.PAGE_HEADERS)


async def _changes(request: Request, stopping: threading.Event) -> Response:
    """``?since=V``: answers ``{"version": ...}`` as soon as the store's version is not V."""
    since = request.query_params.get("since", "")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + POLL_TIMEOUT_S
    now = watch.version()
    while now == since and loop.time() < deadline and not stopping.is_set():
        await asyncio.sleep(POLL_INTERVAL_S)
        if await request.is_disconnected():
            break
        now = watch.version()
    return JSONResponse({"version": now, "changed": now != since})


async def _api(request: Request) -> Response:
    body: dict[str, Any] = {}
    if request.method == "POST":
        parsed = await _json_body(request)
        if isinstance(parsed, Response):
            return parsed
        body = parsed
    query = dict(request.query_params)
    answer = await run_in_threadpool(
        routes.answer, request.method, request.path_params["path"], query, body
    )
    if answer.path is not None:
        return FileResponse(answer.path, media_type=answer.media_type, headers=answer.headers)
    if answer.chunks is not None:
        return StreamingResponse(
            iterate_in_threadpool(answer.chunks), media_type=answer.media_type,
            headers=answer.headers,
        )  # fmt: skip
    return JSONResponse(answer.data, answer.status, headers={"Cache-Control": "no-store"})


async def _json_body(request: Request) -> dict[str, Any] | Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return JSONResponse({"error": "send the body as application/json"}, 415)
    raw = b""
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                return JSONResponse({"error": f"the body is over {MAX_BODY} bytes"}, 413)
    except ClientDisconnect:
        return Response(status_code=CLIENT_CLOSED)  # the page went away: nobody to answer
    try:
        parsed = json.loads(raw or b"{}")
    except ValueError:
        return JSONResponse({"error": "the body is not JSON"}, 400)
    if not isinstance(parsed, dict):
        return JSONResponse({"error": "the body must be a JSON object"}, 400)
    return parsed
