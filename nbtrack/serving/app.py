"""The scoring app: MLflow's endpoints on Starlette, behind the checks of ``guard``.

Endpoints: ``POST /invocations`` (see ``protocol``), ``GET /ping`` and ``/health`` (200 while
a model is loaded), ``/version`` (the MLflow version whose protocol this server speaks, plain
text, as MLflow's server answers its own) and ``/metadata`` (what is served: name, version,
alias, run id, signature, the method predict calls, nbtrack's version). Every error is MLflow's
JSON shape, with a short message; tracebacks go to the server's log (logger ``nbtrack.serve``),
never to the client. One access-log line per request goes to the same logger. A request body
has a size limit and a deadline.

As in MLflow, an input the signature refuses and a model that raises on its input are the
client's error (400), and ``params`` the signature declares reach a model whose ``predict``
takes them; unlike MLflow, params it does not declare are refused rather than dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from nbtrack.errors import InvalidValueError
from nbtrack.http.connections import Capacity
from nbtrack.http.errors import BAD_REQUEST, INVALID_PARAMETER_VALUE, JSON, error_body
from nbtrack.http.guard import CLIENT_CLOSED, Guard
from nbtrack.http.settings import Settings
from nbtrack.serving.following import Served
from nbtrack.serving.protocol import (
    CSV,
    INPUTS,
    INSTANCES,
    MLFLOW_VERSION,
    ScoringError,
    body_format,
    decode_binary,
    parse_csv,
    parse_json,
    predictions_json,
    single_column,
)
from nbtrack.serving.verdicts import verdict, verdict_code

log = logging.getLogger("nbtrack.serve")

# Bodies up to this size are predicted on the event loop: a one-row prediction takes well
# under a millisecond, and a hop to a worker thread would add a fifth to it. Larger ones go
# to a thread so that /ping keeps answering while they run.
INLINE_BODY_BYTES = 16 * 1024
_ENDPOINTS = "POST /invocations; GET /ping, /health, /version, /metadata"
_MAX_MESSAGE = 500


class ModelSource(Protocol):
    """Whatever holds the served model: ``current`` is read once per request."""

    @property
    def current(self) -> Served: ...


def create_app(
    source: ModelSource, settings: Settings, capacity: Capacity | None = None
) -> Starlette:
    """The ASGI app serving ``source.current``, checked by ``settings``; with
    ``capacity.limit`` requests in progress, another one other than a probe gets 503.

    Examples
    --------
    >>> app = create_app(Follower.start(target("churn")), check_settings(...))  # doctest: +SKIP
    """

    async def metadata(request: Request) -> Response:
        return Response(json.dumps(source.current.metadata).encode(), media_type=JSON)

    async def invocations(request: Request) -> Response:
        # Read once: a version swapped in meanwhile answers the next request, not this one.
        return await _invocations(request, source.current, settings)

    routes = [
        Route("/invocations", invocations, methods=["POST"]),
        Route("/ping", _ping, methods=["GET"]),
        Route("/health", _ping, methods=["GET"]),
        Route("/version", _version, methods=["GET"]),
        Route("/metadata", metadata, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, settings=settings, capacity=capacity)],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )


async def _ping(request: Request) -> Response:
    return Response(b"\n", media_type=JSON)


async def _version(request: Request) -> Response:
    # MLflow's clients ask for the version of MLflow they talk to; nbtrack's own is in
    # /metadata. Plain text: the body is no JSON document (MLflow labels it JSON all the same).
    return Response(MLFLOW_VERSION, media_type="text/plain")


async def _invocations(request: Request, served: Served, settings: Settings) -> Response:
    try:
        body_type = body_format(request.headers.get("content-type"))
        body = await read_body(request, settings.max_body, settings.body_timeout)
        data, params = _model_input(body_type, body, served)
        if len(body) <= INLINE_BODY_BYTES:
            predictions = _predict(served, data, params)
        else:
            predictions = await run_in_threadpool(_predict, served, data, params)
        content = predictions_json(predictions)
    except ClientDisconnect:
        # Nobody to answer: the status only names the case in the access log.
        return Response(status_code=CLIENT_CLOSED)
    except ScoringError as exc:
        # What is left of the body is not read: the connection cannot carry another request.
        headers = {"connection": "close"} if exc.status in (408, 413) else None
        return Response(exc.body(), exc.status, headers=headers, media_type=JSON)
    return Response(content, media_type=JSON)


def _model_input(body_type: str, body: bytes, served: Served) -> tuple[Any, dict[str, Any]]:
    """The body as the model's input, and the params the model's signature accepts."""
    if body_type == CSV:
        data = parse_csv(body, served.csv_dtypes)
        params = None
    else:
        data, params, key = parse_json(body)
        if key in (INSTANCES, INPUTS):
            data = single_column(data, served.single_column)
    data = decode_binary(data, served.binary_columns)
    try:
        # Before predicting: a model would otherwise run on a request it then refuses.
        return data, served.model.check_params(params)
    except InvalidValueError as exc:
        # Worded by nbtrack.models.params: declared names and types, never a value.
        raise ScoringError(400, _short(str(exc)), INVALID_PARAMETER_VALUE) from None


def _predict(served: Served, data: Any, params: dict[str, Any]) -> Any:
    """The model's predictions; what goes wrong is the request's error, as in MLflow."""
    try:
        return served.model.predict(data, params)
    except InvalidValueError as exc:
        # The signature's verdict on the input, reworded to name columns and types, not values.
        code, error_class = verdict_code(str(exc))
        message = _short(verdict(str(exc), served.model.signature))
        raise ScoringError(400, message, code, error_class) from None
    except Exception as exc:
        # A model raising on an input is MLflow's 400 too: the input is what differs between a
        # request that works and one that does not. Its message stays in the log.
        log.exception("the model failed on a request to /invocations")
        raise ScoringError(
            400,
            f"the model raised {type(exc).__name__} on this input; check that the input is what "
            "the model takes (GET /metadata); the server log has the details",
            BAD_REQUEST,
        ) from None


async def _http_error(request: Request, exc: Exception) -> Response:
    # Neither the path nor the method is repeated: they are the client's to know.
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    if status == 404:
        return _error(404, f"no such endpoint; the endpoints are {_ENDPOINTS}")
    if status == 405:
        return _error(405, f"this endpoint takes another method; {_ENDPOINTS}", headers)
    return _error(status, "the request was not accepted", headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    # Starlette logs the traceback when it re-raises; the client gets MLflow's shape.
    return _error(500, "the server failed on this request; its log has the details")


async def read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes: from its
    Content-Length before reading anything, else (chunked) as the bytes arrive; refused with
    408 unless all of it arrives within ``timeout_s``. A client that leaves before sending it
    all raises Starlette's ``ClientDisconnect``."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ScoringError(400, "the Content-Length header is not a number")
        if int(length) > limit:
            raise ScoringError(413, _too_large(limit))
    chunks: list[bytes] = []
    size = 0
    try:
        # One deadline for the whole body, not one per chunk: a client sending a byte now
        # and then would otherwise hold its connection for ever.
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ScoringError(413, _too_large(limit))
                chunks.append(chunk)
    except TimeoutError:
        raise ScoringError(
            408, f"the request body did not arrive within {timeout_s:g} s (--body-timeout)"
        ) from None
    return b"".join(chunks)


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(error_body(status, message), status, headers=headers, media_type=JSON)


def _too_large(limit: int) -> str:
    return f"the body is larger than the server's limit of {limit} bytes (--max-body)"


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."
