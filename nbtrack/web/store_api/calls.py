"""``POST /nbtrack/store/v1/call``: a client's store operation, run on this server's store.

The body names the kind of call, the operation and its arguments (``store/remote/calls.py``
sends it). Everything is checked before anything runs: the body's size and JSON, the
operation (``operations.resolve``: a marked function of ``nbtrack.store``, of that kind), the
arguments' types (``codec``) and that they fit its parameters. The operation then runs through
the server's ``Store`` in a worker thread (it may wait for the store's lock); its result goes
back through ``codec``. An nbtrack error it raises is answered in MLflow's error JSON with
``nbtrack_error``, the class's name, so the client raises the same class.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from nbtrack.errors import (
    AlreadyExistsError,
    InvalidValueError,
    NbtrackError,
    NotFoundError,
    StoreBusyError,
)
from nbtrack.http.errors import INVALID_PARAMETER_VALUE, JSON, error_body
from nbtrack.http.guard import CLIENT_CLOSED
from nbtrack.store.remote import codec
from nbtrack.store.remote.calls import CALL_PATH
from nbtrack.store.remote.operations import check_arguments, resolve
from nbtrack.store.store import Store
from nbtrack.web.store_api.machine import browser_refusal
from nbtrack.web.store_api.read_answers import ReadAnswers

log = logging.getLogger("nbtrack.server")


class BodyTooLarge(InvalidValueError):
    """A request body over the server's limit."""


def call_route(store: Store, max_body: int) -> Route:
    """The route that runs store operations for clients on ``store``."""
    answers = ReadAnswers(store)

    async def endpoint(request: Request) -> Response:
        refusal = browser_refusal(request)
        if refusal is not None:
            return Response(error_body(403, refusal), 403, media_type=JSON)
        try:
            body = await read_body(request, max_body)
            encoded = await run_in_threadpool(run_call, store, body, answers)
        except Exception as exc:
            return store_error_response(exc)
        return Response(encoded, media_type=JSON)

    return Route(CALL_PATH, endpoint, methods=["POST"])


async def read_body(request: Request, max_body: int) -> bytes:
    """The whole body, refused as soon as it passes ``max_body`` bytes (chunked ones too)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise BodyTooLarge(
                f"the request body is over {max_body} bytes, the most this server takes "
                "(nbtrack server --max-body)"
            )
        parts.append(chunk)
    return b"".join(parts)


def run_call(store: Store, body: bytes, answers: ReadAnswers | None = None) -> bytes:
    """Check the call in ``body``, run it on ``store`` (or take its answer from ``answers``
    while the store is unchanged), and encode what it returned."""
    kind, name, args, kwargs = _parse(body)
    operation = resolve(name, kind)
    check_arguments(operation, args, kwargs)

    def run() -> bytes:
        result = getattr(store, kind)(operation, *args, **kwargs)
        return json.dumps(
            {"result": codec.encode(result)}, allow_nan=False, separators=(",", ":")
        ).encode()

    return run() if answers is None else answers.answer(kind, name, body, run)


def _parse(body: bytes) -> tuple[str, str, tuple[Any, ...], dict[str, Any]]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidValueError("the body of a store call is not JSON") from None
    if not isinstance(document, dict) or set(document) != {"kind", "operation", "args", "kwargs"}:
        raise InvalidValueError(
            "a store call is a JSON object with exactly kind, operation, args and kwargs"
        )
    args, kwargs = document["args"], document["kwargs"]
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise InvalidValueError("a store call's args is a list and its kwargs an object")
    try:
        decoded = tuple(codec.decode(value) for value in args)
        named = {str(key): codec.decode(value) for key, value in kwargs.items()}
    except RecursionError:
        raise InvalidValueError("a store call's arguments nest too deeply") from None
    return document["kind"], document["operation"], decoded, named


def store_error_response(exc: Exception) -> Response:
    """MLflow's error JSON for ``exc``, with ``nbtrack_error`` naming its class; an error that
    is not nbtrack's is logged here and answered without its details."""
    if isinstance(exc, ClientDisconnect):
        return Response(status_code=CLIENT_CLOSED)  # a client that hung up: nobody to answer
    if not isinstance(exc, NbtrackError):
        log.exception("nbtrack server: an unexpected error in a store call")
        return Response(error_body(500, "internal error; see the server's log"), 500,
                        media_type=JSON)  # fmt: skip
    status, code = _status_and_code(exc)
    document = json.loads(error_body(status, str(exc), code))
    document["nbtrack_error"] = _public_class(exc).__name__
    return Response(json.dumps(document), status, media_type=JSON)


def _public_class(exc: NbtrackError) -> type[NbtrackError]:
    # The nearest class the client can name: one of nbtrack.errors, never a private one.
    for cls in type(exc).__mro__:
        if cls.__module__ == "nbtrack.errors" and issubclass(cls, NbtrackError):
            return cls
    return NbtrackError


def _status_and_code(exc: NbtrackError) -> tuple[int, str]:
    if isinstance(exc, BodyTooLarge):
        return 413, "RESOURCE_LIMIT_EXCEEDED"
    if isinstance(exc, NotFoundError):
        return 404, "RESOURCE_DOES_NOT_EXIST"
    if isinstance(exc, AlreadyExistsError):
        return 400, "RESOURCE_ALREADY_EXISTS"
    if isinstance(exc, InvalidValueError):
        return 400, INVALID_PARAMETER_VALUE
    if isinstance(exc, StoreBusyError):
        return 503, "TEMPORARILY_UNAVAILABLE"
    return 500, "INTERNAL_ERROR"
