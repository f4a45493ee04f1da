"""MLflow's scoring protocol: a request body in, the model's input out; predictions back.

A body is JSON holding exactly one of ``dataframe_split``, ``dataframe_records``,
``instances`` or ``inputs`` (plus optional ``params``; any other key is ignored, as MLflow
ignores it), or CSV with a header row; the answer is ``{"predictions": [...]}``. A column the
signature types ``binary`` arrives base64-encoded, as MLflow's client sends bytes. Errors carry
MLflow's JSON shape, ``{"error_code": "BAD_REQUEST", "message": "...", "error_class": ...,
"sqlstate": ...}``, so MLflow's clients print the message.

No message repeats the request: a body may hold personal data, and an error message ends up
in client logs. Messages name what is accepted instead.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from nbtrack.http.errors import (
    JSON,
    error_body,
)

CSV = "text/csv"
SPLIT = "dataframe_split"
RECORDS = "dataframe_records"
INSTANCES = "instances"
INPUTS = "inputs"
PARAMS = "params"
INPUT_KEYS = (SPLIT, RECORDS, INSTANCES, INPUTS)
_ACCEPTED_KEYS = ", ".join(INPUT_KEYS)
_SPLIT_KEYS = frozenset({"columns", "data", "index"})
_CSV_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_CSV_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")

# The MLflow release whose scoring protocol and model format this server is checked against
# (tests/serving/test_mlflow_scoring_parity.py); GET /version answers it, as MLflow's own
# server answers its version, and MLflow's ScoringServerClient.get_version reads it.
MLFLOW_VERSION = "3.17.2"


class ScoringError(Exception):
    """A request that gets an error answer: its HTTP status, a message safe to send, and
    MLflow's error code and class when they are not the status's own."""

    def __init__(
        self, status: int, message: str, code: str | None = None, error_class: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.error_class = error_class

    def body(self) -> bytes:
        """MLflow's error JSON for this error."""
        return error_body(self.status, self.message, self.code, self.error_class)


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
    # Other keys are ignored, as MLflow ignores them: clients send their own beside the input.
    present = [key for key in INPUT_KEYS if key in decoded]
    if len(present) != 1:
        held = f"it holds {' and '.join(present) if present else 'none of them'}"
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
    """A CSV body with a header row as a DataFrame, columns typed by ``dtypes``: ``object``
    keeps a text column text ("007" stays "007"), ``float32`` reads a column's numbers at
    float32, as MLflow's server reads CSV with the signature's types."""
    text = {name: dtype for name, dtype in (dtypes or {}).items() if dtype == "object"}
    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=text or None)
    except UnicodeDecodeError:
        raise ScoringError(400, "the body is not UTF-8 text") from None
    except pd.errors.EmptyDataError:
        raise ScoringError(400, "the body is not CSV with a header row: it is empty") from None
    except (pd.errors.ParserError, ValueError, TypeError) as exc:
        detail = _csv_detail(exc)
        raise ScoringError(400, f"the body is not CSV with a header row{detail}") from None
    for name, dtype in (dtypes or {}).items():
        if dtype == "float32" and name in frame and frame[name].dtype == "float64":
            frame[name] = _float32(frame[name])
    return frame


def _float32(column: pd.Series[Any]) -> pd.Series[Any]:
    # CSV holds decimal text, not float64s: read at float32 (through float64, as pandas reads
    # it for MLflow), "3.1415927" is the float32 that wrote it. A number too large for float32
    # stays float64, for the signature to refuse rather than turn into infinity. Text that is
    # not a number was read as text and is refused by the signature too.
    with np.errstate(over="ignore"):
        narrowed = column.astype("float32")
    overflowed = np.isinf(narrowed.to_numpy()) & np.isfinite(column.to_numpy())
    return column if overflowed.any() else narrowed


def _csv_detail(exc: BaseException) -> str:
    # Only the numbers are taken from pandas' message, and the words are ours: whatever else a
    # parser error may quote would be the body's own text.
    found = _CSV_FIELDS.search(str(exc))
    if found:
        expected, line, saw = found.groups()
        return f": line {line} has {saw} fields; the header has {expected}"
    found = _CSV_QUOTE.search(str(exc))
    if found:
        return f": a quoted field that starts at row {found[1]} is never closed"
    return ""


def decode_binary(data: Any, columns: tuple[str, ...]) -> Any:
    """``data`` with the base64 text of each of ``columns`` decoded into bytes.

    MLflow's client sends bytes as base64 (with line breaks every 76 characters), and MLflow's
    server decodes them for ``dataframe_split`` and ``dataframe_records``; here every input
    shape with named columns is decoded, since a model never wants the base64 text itself.
    Text that is not base64 is refused, where MLflow decodes what it can and drops the rest.
    """
    if not columns:
        return data
    if isinstance(data, pd.DataFrame):
        decoded = {
            name: [_base64(name, value) for value in data[name].tolist()]
            for name in columns
            if name in data
        }
        return data.assign(**decoded) if decoded else data
    if isinstance(data, dict):
        return {
            name: value if name not in columns
            else [_base64(name, item) for item in value] if isinstance(value, list)
            else _base64(name, value)
            for name, value in data.items()
        }  # fmt: skip
    return data


def _base64(name: str, value: object) -> bytes:
    # Missing values too are refused, as MLflow refuses them.
    try:
        if not isinstance(value, str):
            raise TypeError(value)
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise ScoringError(
            400, f"column {name!r} is binary: each value is sent as base64 text, and some are not"
        ) from None


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
    # Checked here rather than left to pandas, whose messages quote the offending value.
    data, columns, index = value["data"], value.get("columns"), value.get("index")
    if not isinstance(data, list):
        raise ScoringError(400, f"{SPLIT}'s data must be a list of rows (lists of values)")
    if columns is not None and not _labels(columns):
        raise ScoringError(400, f"{SPLIT}'s columns must be a list of column names")
    width = len(columns) if columns is not None else None
    for number, row in enumerate(data):
        if isinstance(row, dict):
            raise ScoringError(
                400, f"{SPLIT}'s row {number} is a JSON object; each row is a list of values"
            )
        # A value that is not a list is a row of one value, as pandas reads a flat list.
        length = len(row) if isinstance(row, list) else 1
        width = length if width is None else width
        if length != width:
            raise ScoringError(
                400,
                f"{SPLIT}'s row {number} has {_count(length, 'value')} for "
                f"{_count(width, 'column')}",
            )
    if index is not None and not _labels(index):
        raise ScoringError(400, f"{SPLIT}'s index must be a list of one label per row")
    if index is not None and len(index) != len(data):
        raise ScoringError(
            400,
            f"{SPLIT}'s index has {_count(len(index), 'label')} for {_count(len(data), 'row')}",
        )
    return _frame(SPLIT, lambda: pd.DataFrame(data, columns=columns, index=index))


def _records(value: object) -> pd.DataFrame:
    if not isinstance(value, list):
        raise ScoringError(400, f"{RECORDS} must be a list of records (objects of column values)")
    _check_records(RECORDS, value)
    return _frame(RECORDS, lambda: pd.DataFrame(value))


def _tensor_input(key: str, value: object) -> object:
    if isinstance(value, dict) and value:
        return value
    if isinstance(value, list) and value:
        if isinstance(value[0], dict):
            _check_records(key, value)
            return _frame(key, lambda: pd.DataFrame(value))
        return value
    raise ScoringError(
        400,
        f"{key} must be a non-empty list (records or rows) or an object of columns; "
        f"it is {'empty' if isinstance(value, list | dict) else 'a JSON ' + _json_type(value)}",
    )


def _labels(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(label, str | int | float) and not isinstance(label, bool) for label in value
    )


def _check_records(key: str, records: list[Any]) -> None:
    for number, record in enumerate(records):
        if not isinstance(record, dict):
            raise ScoringError(
                400,
                f"{key}' item {number} is a JSON {_json_type(record)}; each record is an "
                "object of column values",
            )


def _frame(key: str, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    try:
        return build()
    except (ValueError, TypeError):
        # pandas' message is not passed on: it may quote the request's values.
        raise ScoringError(400, f"{key} cannot be read as a table") from None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


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
