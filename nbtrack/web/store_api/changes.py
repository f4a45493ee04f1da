"""``GET /nbtrack/store/v1/changes``: the states of this server's marker files, for clients'
widgets and alias followers to notice a change without a query.

A stat of two files, never DuckDB: clients ask about once a second each while something of
theirs watches (``store/remote/watching.py``), so the answer must cost nothing.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nbtrack.http.errors import JSON, error_body
from nbtrack.store.markers import marker_state
from nbtrack.store.remote.watching import CHANGES_PATH
from nbtrack.store.store import Store
from nbtrack.web.store_api.machine import browser_refusal


def changes_route(store: Store) -> Route:
    """The route answering ``{"changed": state, "registry": state}`` for ``store``."""

    async def endpoint(request: Request) -> Response:
        refusal = browser_refusal(request)
        if refusal is not None:
            return Response(error_body(403, refusal), 403, media_type=JSON)
        states = {
            "changed": marker_state(store.marker),
            "registry": marker_state(store.registry_marker),
        }
        return Response(json.dumps(states).encode(), media_type=JSON)

    return Route(CHANGES_PATH, endpoint, methods=["GET"])
