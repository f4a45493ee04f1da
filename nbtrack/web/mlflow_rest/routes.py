"""MLflow's REST API as Starlette routes: the path table, and one adapter from a request to a
handler's fields and from its answer (or its error) to MLflow's JSON.

Every endpoint is served under ``/api/2.0/mlflow/`` (MLflow's clients) and
``/ajax-api/2.0/mlflow/`` (MLflow's web pages); errors are MLflow's shape with MLflow's codes
and statuses: ``RESOURCE_DOES_NOT_EXIST`` 404 (``mlflow.set_experiment`` creates an
experiment only after it), ``RESOURCE_ALREADY_EXISTS`` and ``INVALID_PARAMETER_VALUE`` 400.
Handlers run in a worker thread: they read the store, which may wait for its lock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nbtrack.errors import (
    AlreadyExistsError,
    InvalidValueError,
    NbtrackError,
    NotFoundError,
    RunGoneError,
)
from nbtrack.http.errors import BAD_REQUEST, INVALID_PARAMETER_VALUE, JSON, error_body
from nbtrack.http.guard import CLIENT_CLOSED
from nbtrack.mlflow_compat.registry import RegistryService
from nbtrack.mlflow_compat.service import TrackingService
from nbtrack.store.remote.artifacts import SHA256_HEADER
from nbtrack.web.mlflow_rest import registry_routes as reg
from nbtrack.web.mlflow_rest import tracking_routes as tr
from nbtrack.web.mlflow_rest.artifacts import PREFIX, ArtifactProxy, TooLarge
from nbtrack.web.mlflow_rest.fields import Fields

log = logging.getLogger("nbtrack.server")

_TRACKING: list[tuple[str, str, tr.Handler]] = [
    ("POST", "experiments/create", tr.create_experiment),
    ("GET", "experiments/get", tr.get_experiment),
    ("GET", "experiments/get-by-name", tr.get_experiment_by_name),
    ("POST", "experiments/search", tr.search_experiments),
    ("GET", "experiments/search", tr.search_experiments),
    ("POST", "experiments/update", tr.update_experiment),
    ("POST", "experiments/delete", tr.delete_experiment),
    ("POST", "experiments/restore", tr.restore_experiment),
    ("POST", "experiments/set-experiment-tag", tr.set_experiment_tag),
    ("POST", "experiments/delete-experiment-tag", tr.delete_experiment_tag),
    ("POST", "runs/create", tr.create_run),
    ("POST", "runs/update", tr.update_run),
    ("GET", "runs/get", tr.get_run),
    ("POST", "runs/delete", tr.delete_run),
    ("POST", "runs/restore", tr.restore_run),
    ("POST", "runs/search", tr.search_runs),
    ("POST", "runs/log-metric", tr.log_metric),
    ("POST", "runs/log-parameter", tr.log_param),
    ("POST", "runs/set-tag", tr.set_tag),
    ("POST", "runs/delete-tag", tr.delete_tag),
    ("POST", "runs/log-batch", tr.log_batch),
    ("POST", "runs/log-inputs", tr.log_inputs),
    ("POST", "runs/outputs", tr.log_outputs),
    ("GET", "metrics/get-history", tr.get_metric_history),
    ("GET", "artifacts/list", tr.list_artifacts),
    ("POST", "logged-models", tr.create_logged_model),
    ("POST", "logged-models/search", tr.search_logged_models),
    ("GET", "logged-models/{model_id}", tr.get_logged_model),
    ("PATCH", "logged-models/{model_id}", tr.finalize_logged_model),
    ("PATCH", "logged-models/{model_id}/tags", tr.set_logged_model_tags),
]

_REGISTRY: list[tuple[str, str, reg.Handler]] = [
    ("POST", "registered-models/create", reg.create_registered_model),
    ("GET", "registered-models/get", reg.get_registered_model),
    ("GET", "registered-models/search", reg.search_registered_models),
    ("PATCH", "registered-models/update", reg.update_registered_model),
    ("POST", "registered-models/rename", reg.rename_registered_model),
    ("DELETE", "registered-models/delete", reg.delete_registered_model),
    ("POST", "registered-models/get-latest-versions", reg.get_latest_versions),
    ("GET", "registered-models/get-latest-versions", reg.get_latest_versions),
    ("POST", "registered-models/set-tag", reg.set_registered_model_tag),
    ("DELETE", "registered-models/delete-tag", reg.delete_registered_model_tag),
    ("POST", "registered-models/alias", reg.set_alias),
    ("DELETE", "registered-models/alias", reg.delete_alias),
    ("GET", "registered-models/alias", reg.get_by_alias),
    ("POST", "model-versions/create", reg.create_model_version),
    ("GET", "model-versions/get", reg.get_model_version),
    ("PATCH", "model-versions/update", reg.update_model_version),
    ("DELETE", "model-versions/delete", reg.delete_model_version),
    ("GET", "model-versions/search", reg.search_model_versions),
    ("GET", "model-versions/get-download-uri", reg.get_download_uri),
    ("POST", "model-versions/set-tag", reg.set_model_version_tag),
    ("DELETE", "model-versions/delete-tag", reg.delete_model_version_tag),
    ("POST", "model-versions/transition-stage", reg.transition_stage),
]

Work = Callable[[Fields], dict[str, Any]]
# MLflow's clients call the first, its web pages the second.
PREFIXES = ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/")


def mlflow_routes(
    service: TrackingService, registry: RegistryService, proxy: ArtifactProxy, max_body: int
) -> list[BaseRoute]:
    """Every MLflow endpoint nbtrack answers, under both of MLflow's prefixes."""
    table: list[tuple[str, str, Work]] = [
        *((m, p, _bound(h, service)) for m, p, h in _TRACKING),
        *((m, p, _bound(h, registry)) for m, p, h in _REGISTRY),
    ]
    routes: list[BaseRoute] = []
    for prefix in PREFIXES:
        for method, path, work in table:
            routes.append(Route(prefix + path, _endpoint(work, max_body), methods=[method]))
    info = _endpoint(_bound(tr.server_info, service), max_body)
    for path in ("/api/3.0/mlflow/server-info", "/ajax-api/3.0/mlflow/server-info"):
        routes.append(Route(path, info, methods=["GET"]))
    routes += _artifact_routes(proxy)
    return routes + _wrong_methods(routes)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _wrong_methods(routes: list[BaseRoute]) -> list[BaseRoute]:
    """For each path, a route taking every method its routes do not: MLflow's JSON error
    with 405, where Starlette would answer in plain text."""
    allowed: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, Route) and route.methods:
            allowed.setdefault(route.path, set()).update(route.methods)
    return [
        Route(path, _refusal(methods), methods=[m for m in _METHODS if m not in methods])
        for path, methods in allowed.items()
    ]


def _refusal(methods: set[str]) -> Callable[[Request], Awaitable[Response]]:
    accepted = ", ".join(sorted(methods - {"HEAD"}))

    async def refuse(request: Request) -> Response:
        message = f"{request.method} is not accepted on {request.url.path}; use {accepted}"
        body = error_body(405, message, BAD_REQUEST)
        return Response(body, 405, headers={"Allow": accepted}, media_type=JSON)

    return refuse


def _bound(handler: Callable[[Any, Fields], dict[str, Any]], target: Any) -> Work:
    return lambda fields: handler(target, fields)


def _endpoint(work: Work, max_body: int) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            body = await request.body()
            fields = fields_from(
                request.method, request.path_params, request.query_params, body, max_body
            )
            found = await run_in_threadpool(work, fields)
        except Exception as exc:
            return error_response(exc)
        return answer(found)

    return endpoint


def answer(found: dict[str, Any]) -> Response:
    """A handler's answer as MLflow's JSON."""
    return Response(json.dumps(found, allow_nan=False), media_type=JSON)


def fields_from(
    method: str, path_params: Mapping[str, Any], query: QueryParams, body: bytes, max_body: int
) -> Fields:
    """One request's fields: its path's, then (GET and DELETE) its query's, then its body's."""
    values: dict[str, Any] = dict(path_params)
    if method in ("GET", "DELETE") and query:
        values.update(Fields.from_query(query).values)
    if len(body) > max_body:
        raise TooLarge(f"the request body is {len(body)} bytes; this server takes {max_body}")
    if body.strip():
        try:
            parsed = json.loads(body)
        except ValueError:
            raise InvalidValueError("the request body is not JSON") from None
        if not isinstance(parsed, dict):
            raise InvalidValueError("the request body is not a JSON object")
        values.update(parsed)
    return Fields(values)


def error_response(exc: Exception) -> Response:
    """MLflow's JSON error for ``exc``; an unexpected one is logged, not shown."""
    if isinstance(exc, ClientDisconnect):
        # A client that hung up mid-body (a process exiting as it sends) is nobody's error;
        # nobody reads this, the status names the case in the access log.
        return Response(status_code=CLIENT_CLOSED)
    if isinstance(exc, TooLarge):
        status, code = 413, "RESOURCE_LIMIT_EXCEEDED"
    elif isinstance(exc, NotFoundError):
        status, code = 404, "RESOURCE_DOES_NOT_EXIST"
    elif isinstance(exc, RunGoneError):
        status, code = 410, "RESOURCE_DOES_NOT_EXIST"
    elif isinstance(exc, AlreadyExistsError):
        status, code = 400, "RESOURCE_ALREADY_EXISTS"
    elif isinstance(exc, InvalidValueError):
        status, code = 400, INVALID_PARAMETER_VALUE
    elif isinstance(exc, NbtrackError):
        status, code = 503, "TEMPORARILY_UNAVAILABLE"
    else:
        log.exception("nbtrack server: an unexpected error")
        return Response(error_body(500, "internal error; see the server's log"), 500,
                        media_type=JSON)  # fmt: skip
    return Response(error_body(status, str(exc), code), status, media_type=JSON)


def _artifact_routes(proxy: ArtifactProxy) -> list[BaseRoute]:
    async def upload(request: Request) -> Response:
        try:
            sha256 = await proxy.upload(request, request.path_params["path"])
        except Exception as exc:
            return error_response(exc)
        return Response(b"{}", media_type=JSON, headers={SHA256_HEADER: sha256})

    async def download(request: Request) -> Response:
        try:
            return await run_in_threadpool(proxy.download, request.path_params["path"])
        except Exception as exc:
            return error_response(exc)

    async def listing(request: Request) -> Response:
        try:
            found = await run_in_threadpool(proxy.list, request.query_params.get("path"))
        except Exception as exc:
            return error_response(exc)
        return Response(json.dumps(found), media_type=JSON)

    return [
        Route(PREFIX + "/{path:path}", upload, methods=["PUT"]),
        Route(PREFIX + "/{path:path}", download, methods=["GET"]),
        Route(PREFIX, listing, methods=["GET"]),
    ]
