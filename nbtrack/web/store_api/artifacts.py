"""What nbtrack's own clients ask the server about artifacts, beside MLflow's proxy routes.

``GET  /nbtrack/store/v1/artifacts/destination``  where clients write (``{"destination": URL}``
for object storage they reach themselves, ``null`` for through the server) and the size limit.
``POST /nbtrack/store/v1/artifacts/verify``  ``{"path", "sha256", "size"}``: after a client
wrote a file into that destination itself, the server reads it back, compares, and records the
hash (or removes the file). Like every store route it is exempt from the UI's CSRF check and
refuses what a web page could send instead (``machine.browser_refusal``).
"""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nbtrack.errors import InvalidValueError
from nbtrack.http.errors import JSON, error_body
from nbtrack.store.remote.artifacts import DESTINATION, VERIFY
from nbtrack.web.mlflow_rest.artifacts import ArtifactProxy, checked_sha256
from nbtrack.web.mlflow_rest.routes import error_response
from nbtrack.web.store_api.machine import browser_refusal

_MAX_BODY = 64 * 1024


def artifact_routes(proxy: ArtifactProxy) -> list[BaseRoute]:
    async def destination(request: Request) -> Response:
        found = {"destination": proxy.destination.direct_url, "max_size": proxy.max_size}
        return Response(json.dumps(found), media_type=JSON)

    async def verify(request: Request) -> Response:
        refusal = browser_refusal(request)
        if refusal is not None:
            return Response(error_body(403, refusal), 403, media_type=JSON)
        try:
            path, sha256, size = _verify_fields(await _small_body(request))
            await run_in_threadpool(proxy.verify, path, sha256, size)
        except Exception as exc:
            return error_response(exc)
        return Response(b"{}", media_type=JSON)

    return [
        Route(DESTINATION, destination, methods=["GET"]),
        Route(VERIFY, verify, methods=["POST"]),
    ]


async def _small_body(request: Request) -> bytes:
    # Read in pieces and cut off: a body is never held past the limit.
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_BODY:
            raise InvalidValueError(f"the request body is over {_MAX_BODY} bytes; send less")
    return bytes(body)


def _verify_fields(body: bytes) -> tuple[str, str, int]:
    try:
        fields = json.loads(body)
    except ValueError:
        raise InvalidValueError("the request body is not JSON") from None
    if not isinstance(fields, dict):
        raise InvalidValueError("the request body is not a JSON object")
    path, sha256, size = fields.get("path"), fields.get("sha256"), fields.get("size")
    if not isinstance(path, str):
        raise InvalidValueError(f"path {path!r} is not an artifact path; give a str")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidValueError(f"size {size!r} is not a byte count; give an int >= 0")
    return path, checked_sha256(sha256, "sha256"), size
