"""The arguments and results of store operations as JSON, both ways, without pickle.

JSON holds None, bools, ints, finite floats, strings and lists as themselves; everything else
is an object tagged with ``"$"``: a float that JSON cannot hold (NaN and the infinities, kept as
they are), a tuple, a dict (its items as pairs, so keys keep their type), bytes (base64), a
datetime (ISO 8601, its time zone kept), one of nbtrack's frozen dataclasses (by name, from the
allowlist below, built again field by field) and a pandas DataFrame (Arrow IPC, base64, so
dtypes, time zones and the index survive). Decoding accepts exactly those shapes: anything
else is an ``InvalidValueError`` naming what was found, before any operation runs.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import math
import numbers
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from nbtrack.entities import (
    ChildRun,
    Experiment,
    Metric,
    ModelVersion,
    RegisteredModel,
    Run,
    RunSpan,
)
from nbtrack.errors import InvalidValueError
from nbtrack.store.runs import Purged, ResumeState, RunMatch
from nbtrack.store.whole_runs import FullRun

if TYPE_CHECKING:
    import pandas as pd

# The dataclasses a value may be decoded as: nbtrack's entities and what store operations
# return. A name not here is refused, so no message can make the decoder build anything else.
ENTITIES: Final[dict[str, type]] = {
    cls.__name__: cls
    for cls in (
        Experiment, Metric, RunSpan, ChildRun, Run, ModelVersion, RegisteredModel,
        ResumeState, Purged, RunMatch, FullRun,
    )
}  # fmt: skip
_FLOATS: Final = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def dumps(value: object) -> bytes:
    """``value`` as the JSON document this module describes."""
    return json.dumps(encode(value), allow_nan=False, separators=(",", ":")).encode()


def loads(data: bytes) -> Any:
    """The value ``dumps`` made of it; InvalidValueError for any other document."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidValueError(f"the body is not a JSON document: {exc}") from None
    try:
        return decode(document)
    except RecursionError:
        raise InvalidValueError("the body nests values too deeply") from None


def encode(value: object) -> Any:
    """``value`` as JSON-able data (see the module docstring)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, float | numbers.Real) and not isinstance(value, numbers.Integral):
        number = float(value)
        if math.isfinite(number):
            return number
        return {"$": "float", "v": "nan" if math.isnan(number) else repr(number)}
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, list):
        return [encode(item) for item in value]
    encoder = _encoder_for(value)
    if encoder is None:
        raise InvalidValueError(
            f"a value of type {type(value).__name__} cannot be sent to or from an nbtrack "
            "server (accepted: None, bool, int, float, str, bytes, list, tuple, dict, "
            f"datetime, pandas DataFrame, {', '.join(ENTITIES)})"
        )
    return encoder(value)


def _encoder_for(value: object) -> Callable[[Any], Any] | None:
    if isinstance(value, tuple) and not dataclasses.is_dataclass(value):
        return lambda v: {"$": "tuple", "v": [encode(item) for item in v]}
    if isinstance(value, dict):
        return lambda v: {"$": "dict", "v": [[encode(k), encode(x)] for k, x in v.items()]}
    if isinstance(value, bytes):
        return lambda v: {"$": "bytes", "v": base64.b64encode(v).decode("ascii")}
    if isinstance(value, dt.datetime):
        return lambda v: {"$": "datetime", "v": v.isoformat()}
    if type(value).__name__ in ENTITIES and type(value) is ENTITIES[type(value).__name__]:
        return _encode_entity
    if type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas"):
        return lambda v: {"$": "frame", "v": base64.b64encode(frame_to_arrow(v)).decode("ascii")}
    return None


def _encode_entity(value: Any) -> dict[str, Any]:
    fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return {"$": "entity", "type": type(value).__name__, "v": fields}


def decode(data: Any) -> Any:
    """The value ``encode`` made ``data`` of; InvalidValueError for any other shape."""
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [decode(item) for item in data]
    if not isinstance(data, dict) or not isinstance(data.get("$"), str):
        raise InvalidValueError(f"a value that is not in nbtrack's call format: {_short(data)}")
    decoder = _DECODERS.get(data["$"])
    if decoder is None:
        raise InvalidValueError(
            f"the tag {_short(data['$'])} is not one of {', '.join(sorted(_DECODERS))}"
        )
    try:
        return decoder(data.get("v"), data)
    except InvalidValueError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidValueError(
            f"a {data['$']} value that cannot be read ({exc}): {_short(data)}"
        ) from None


def _float(value: Any, _: dict[str, Any]) -> float:
    return _FLOATS[value]


def _pairs(value: Any, _: dict[str, Any]) -> dict[Any, Any]:
    return {decode(key): decode(item) for key, item in value}


def _bytes(value: Any, _: dict[str, Any]) -> bytes:
    return base64.b64decode(value, validate=True)


def _datetime(value: Any, _: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _entity(value: Any, data: dict[str, Any]) -> object:
    cls = ENTITIES.get(data.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise InvalidValueError(
            f"the type {_short(data.get('type'))} is not one of {', '.join(ENTITIES)}"
        )
    expected = {f.name for f in dataclasses.fields(cls)}
    if not isinstance(value, dict) or set(value) != expected:
        raise InvalidValueError(f"a {cls.__name__} needs exactly the fields {sorted(expected)}")
    return cls(**{name: decode(item) for name, item in value.items()})


def _frame(value: Any, _: dict[str, Any]) -> pd.DataFrame:
    return frame_from_arrow(base64.b64decode(value, validate=True))


_DECODERS: Final[dict[str, Callable[[Any, dict[str, Any]], Any]]] = {
    "float": _float,
    "tuple": lambda value, _: tuple(decode(item) for item in value),
    "dict": _pairs,
    "bytes": _bytes,
    "datetime": _datetime,
    "entity": _entity,
    "frame": _frame,
}


def frame_to_arrow(frame: pd.DataFrame) -> bytes:
    """A DataFrame as one Arrow IPC stream (schema, then its batches)."""
    import pyarrow as pa

    with warnings.catch_warnings():
        # pyarrow reads a time-zone column through Series.values, which pandas 3.1 warns
        # about; the zone is taken from the dtype, so nothing is lost.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray that drops")
        table = pa.Table.from_pandas(frame)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def frame_from_arrow(data: bytes) -> pd.DataFrame:
    """The DataFrame of an Arrow IPC stream ``frame_to_arrow`` wrote."""
    import pyarrow as pa

    try:
        table = pa.ipc.open_stream(data).read_all()
    except pa.ArrowInvalid as exc:
        raise InvalidValueError(f"a DataFrame that is not an Arrow IPC stream: {exc}") from None
    frame: pd.DataFrame = table.to_pandas()
    return frame


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
