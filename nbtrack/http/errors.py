"""MLflow's JSON error shape, which every nbtrack server answers errors with.

``{"error_code": "BAD_REQUEST", "message": "...", "error_class": ..., "sqlstate": ...}``: MLflow's
clients (its scoring client, its tracking client's REST store) read ``error_code`` and print
``message``.
"""

from __future__ import annotations

import json

JSON = "application/json"

BAD_REQUEST = "BAD_REQUEST"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
# MLflow's error class of an input its signature refuses (a missing column, a wrong shape).
SCHEMA_ENFORCEMENT_FAILED = "SCHEMA_ENFORCEMENT_FAILED"

# MLflow's error codes (mlflow.protos.databricks_pb2), by HTTP status.
ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "BAD_REQUEST",
    413: "RESOURCE_LIMIT_EXCEEDED",
    415: "BAD_REQUEST",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
}


# What MLflow 3's exceptions add to an error code (mlflow.error_classification): the error
# class and the SQLSTATE its dashboards group by. Codes it does not map get neither.
_CLASSIFICATION = {
    BAD_REQUEST: (INVALID_PARAMETER_VALUE, "KAM00"),
    INVALID_PARAMETER_VALUE: (INVALID_PARAMETER_VALUE, "KAM00"),
    "ENDPOINT_NOT_FOUND": ("RESOURCE_NOT_FOUND", "KAM00"),
    "PERMISSION_DENIED": ("PERMISSION_DENIED", "KAM00"),
    "INTERNAL_ERROR": ("CLIENT_INTERNAL_ERROR", "XXM00"),
    "TEMPORARILY_UNAVAILABLE": ("CLIENT_INTERNAL_ERROR", "XXM00"),
}
_SQLSTATES = {SCHEMA_ENFORCEMENT_FAILED: "KAM01"}


def error_body(
    status: int, message: str, code: str | None = None, error_class: str | None = None
) -> bytes:
    """``{"error_code": ..., "message": ..., "error_class": ..., "sqlstate": ...}`` as MLflow's
    scoring server answers errors; the code follows from ``status`` unless given."""
    if code is None:
        code = ERROR_CODES.get(status, BAD_REQUEST if status < 500 else "INTERNAL_ERROR")
    error: dict[str, str] = {"error_code": code, "message": message}
    default_class, sqlstate = _CLASSIFICATION.get(code, (None, None))
    error_class = error_class or default_class
    sqlstate = _SQLSTATES.get(error_class or "", sqlstate)
    if sqlstate is not None:
        error["sqlstate"] = sqlstate
    if error_class is not None:
        error["error_class"] = error_class
    return json.dumps(error).encode()
