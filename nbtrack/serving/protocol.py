"""MLflow's scoring protocol: a request body in, the model's input out; predictions back.

A body is JSON holding exactly one of ``dataframe_split``, ``dataframe_records``,
``instances`` or ``inputs`` (plus optional ``params``), or CSV with a header row; the answer
is ``{"predictions": [...]}``. Errors carry MLflow's JSON shape,
``{"error_code": "BAD_REQUEST", "message": "..."}``, so MLflow's clients print the message.

No message repeats the request: a body may hold personal data, and an error message ends up
in client logs. Messages name what is accepted instead.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

JSON = "application/json"
CSV = "text/csv"
SPLIT = "dataframe_split"
RECORDS = "dataframe_records"
INSTANCES = "instances"
INPUTS = "inputs"
PARAMS = "params"
INPUT_KEYS = (SPLIT, RECORDS, INSTANCES, INPUTS)
_ACCEPTED_KEYS = ", ".join(INPUT_KEYS)
_SPLIT_KEYS = frozenset({"columns", "data", "index"})
_MAX_DETAIL = 200

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


class ScoringError(Exception):
    """A request that gets an error answer: its HTTP status and a message safe to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> bytes:
        """MLflow's error JSON for this error."""
        return error_body(self.status, self.message)


def error_body(status: int, message: str) -> bytes:
    """``{"error_code": ..., "message": ...}`` as MLflow's scoring server answers errors."""
    code = ERROR_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR")
    return json.dumps({"error_code": code, "message": message}).encode()


def body_format(content_type: str | None) -> str:
    """``JSON`` or ``CSV`` from a Content-Type header; 415 for anything else.

    Only ``charset=utf-8`` may follow the media type, as in MLflow (whose legacy
    ``format=pandas-split`` parameter is refused the same way).
    """
    if not content_type:
        raise ScoringError(415, f"no Content-Type; send {JSON} or {CSV}")
    media, _, rest = content_type.partition(";")
    media = media.strip().lower()
    if media not in (JSON, CSV):
        raise ScoringError(415, f"the Content-Type is not accepted; send {JSON} or {CSV}")
    for parameter in rest.split(";"):
        if not parameter.strip():
            continue
        key, _, value = parameter.partition("=")
        if key.strip().lower() != "charset":
            raise ScoringError(
                415,
                f"a Content-Type parameter is not accepted; only charset=utf-8 may follow {media}",
            )
        if value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise ScoringError(415, "the only charset accepted is utf-8")
    return media


def parse_json(body: bytes) -> tuple[Any, dict[str, Any] | None, str]:
    """The model input, the ``params`` and the input key of a JSON body.

    ``dataframe_split`` and ``dataframe_records`` become a DataFrame; ``instances`` and
    ``inputs`` stay as sent (records, a dict of columns, or rows of values) for the model's
    signature to read, as ``nbtrack.load_model(...).predict`` reads them.
    """
    try:
        decoded = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScoringError(400, "the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ScoringError(
            400, f"the body is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError):
        raise ScoringError(400, "the body is not valid JSON") from None
    if not isinstance(decoded, dict):
        what = "a list" if isinstance(decoded, list) else f"a JSON {_json_type(decoded)}"
        raise ScoringError(
            400, f"the body is {what}; send a JSON object with exactly one of {_ACCEPTED_KEYS}"
        )
    present = [key for key in INPUT_KEYS if key in decoded]
    others = len(decoded) - len(present) - (PARAMS in decoded)
    if len(present) != 1 or others:
        held = f"it holds {' and '.join(present) if present else 'none of them'}"
        if others:
            held += f" and {others} other key{'s' if others > 1 else ''}"
        raise ScoringError(
            400,
            f"send a JSON object with exactly one of {_ACCEPTED_KEYS} (and optionally "
            f"{PARAMS}); {held}",
        )
    key = present[0]
    params = decoded.get(PARAMS)
    if params is not None and not isinstance(params, dict):
        raise ScoringError(400, f"{PARAMS} must be a JSON object of parameter names to values")
    value = decoded[key]
    if key == SPLIT:
        return _split(value), params, key
    if key == RECORDS:
        return _records(value), params, key
    return _tensor_input(key, value), params, key


def parse_csv(body: bytes, dtypes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A CSV body with a header row as a DataFrame; ``dtypes`` keeps text columns text."""
    try:
        return pd.read_csv(io.BytesIO(body), dtype=dict(dtypes) if dtypes else None)
    except UnicodeDecodeError:
        raise ScoringError(400, "the body is not UTF-8 text") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        # pandas names lines and field counts here, never values.
        raise ScoringError(400, f"the body is not CSV with a header row: {_short(exc)}") from None
    except (ValueError, TypeError):
        raise ScoringError(400, "the body is not CSV with a header row") from None


def single_column(data: Any, column: str | None) -> Any:
    """A flat list of values as the one column of a model that takes one, as MLflow reads it."""
    if (
        column is not None
        and isinstance(data, list)
        and not any(isinstance(item, dict | list) for item in data)
    ):
        return pd.DataFrame({column: data})
    return data


def _split(value: object) -> pd.DataFrame:
    if not isinstance(value, dict):
        raise ScoringError(
            400, f"{SPLIT} must be an object with data and optionally columns and index"
        )
    if "data" not in value or not set(value) <= _SPLIT_KEYS:
        raise ScoringError(
            400, f"{SPLIT} holds data and optionally columns and index, and nothing else"
        )
    try:
        return pd.DataFrame(value["data"], columns=value.get("columns"), index=value.get("index"))
    except (ValueError, TypeError) as exc:
        raise ScoringError(400, f"{SPLIT} is not a table: {_short(exc)}") from None


def _records(value: object) -> pd.DataFrame:
    if not isinstance(value, list):
        raise ScoringError(400, f"{RECORDS} must be a list of records (objects of column values)")
    try:
        return pd.DataFrame(value)
    except (ValueError, TypeError) as exc:
        raise ScoringError(400, f"{RECORDS} is not a table: {_short(exc)}") from None


def _tensor_input(key: str, value: object) -> object:
    if isinstance(value, dict) and value:
        return value
    if isinstance(value, list) and value:
        if all(isinstance(row, dict) for row in value):
            try:
                return pd.DataFrame(value)
            except (ValueError, TypeError) as exc:
                raise ScoringError(400, f"{key} is not a table: {_short(exc)}") from None
        return value
    raise ScoringError(
        400,
        f"{key} must be a non-empty list (records or rows) or an object of columns; "
        f"it is {'empty' if isinstance(value, list | dict) else 'a JSON ' + _json_type(value)}",
    )


def predictions_json(raw: object) -> bytes:
    """``{"predictions": ...}`` as MLflow writes it: a DataFrame as a list of records."""
    if isinstance(raw, np.ndarray):
        predictions: Any = raw.tolist()
    elif isinstance(raw, pd.DataFrame):
        predictions = raw.to_dict(orient="records")
    elif isinstance(raw, pd.Series):
        predictions = raw.to_frame().to_dict(orient="records")
    else:
        predictions = raw
    try:
        return json.dumps({"predictions": predictions}, default=_jsonable).encode()
    except (TypeError, ValueError) as exc:  # an unknown type, a circular reference
        raise ScoringError(500, f"the model's output cannot be written as JSON: {exc}") from None


def _jsonable(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.date | dt.time):  # pandas Timestamps are datetimes too
        return value.isoformat()
    raise TypeError(f"the model returned a {type(value).__name__}, which JSON cannot hold")


def _json_type(value: object) -> str:
    names = {bool: "boolean", str: "string", int: "number", float: "number", dict: "object"}
    return "null" if value is None else names.get(type(value), "list")


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."
