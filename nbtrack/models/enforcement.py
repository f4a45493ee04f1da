"""Bring input to what a model's signature promises it, or say exactly why not.

Missing columns are named; extra columns are dropped; the rest are put in the signature's
order (scikit-learn checks feature order). A value changes type only when nothing is lost:
int → float while exact, float → int while whole, narrower → wider. Everything else (text
into a number column, 2.5 into a long column) is refused, naming the column and both types.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types

from nbtrack.errors import InvalidValueError
from nbtrack.models.inputs import as_model_input
from nbtrack.models.signatures import ColSpec, Signature, TensorSpec

_NUMERIC = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32"}
# pandas' infer_dtype names for object columns, grouped into the kinds the rules below use.
_KINDS = {
    "string": "string",
    "bytes": "bytes",
    "boolean": "boolean",
    "integer": "integer",
    "floating": "floating",
    "mixed-integer-float": "floating",
    "empty": "empty",
    "datetime": "datetime",
    "datetime64": "datetime",
    "date": "datetime",
}

Array = np.ndarray[Any, Any]


def enforce(signature: Signature | None, data: object) -> pd.DataFrame | Array:
    """``data`` as the model's signature describes its input; unchanged without one.

    Examples
    --------
    >>> enforce(signature, [{"x": 1, "unused": "a"}])  # doctest: +SKIP
         x
    0  1.0
    """
    specs = signature.inputs if signature is not None else None
    if specs and isinstance(specs[0], TensorSpec) and len(specs) == 1:
        return _tensor(specs[0], data)
    columns = [spec for spec in specs or () if isinstance(spec, ColSpec)]
    # Unchecked: no signature, MLflow's dicts of tensors, and its unnamed columns.
    if not columns or any(spec.name is None for spec in columns):
        return as_model_input(data, "input")
    return _columns(columns, data)


def _columns(specs: list[ColSpec], data: object) -> pd.DataFrame:
    frame = as_model_input(data, "input")
    names = [spec.name for spec in specs]
    if isinstance(frame, np.ndarray):
        frame = _positional(frame, names)
    missing = [spec.name for spec in specs if spec.required and spec.name not in frame.columns]
    if missing:
        expected = ", ".join(f"{spec.name} ({spec.type})" for spec in specs)
        raise InvalidValueError(
            f"input is missing column {', '.join(map(repr, missing))}; the model takes {expected}"
        )
    converted = {spec.name: _column(frame[spec.name], spec) for spec in specs if spec.name in frame}
    return pd.DataFrame(converted, index=frame.index)


def _positional(array: Array, names: list[str | None]) -> pd.DataFrame:
    # A plain 2-D array has no column names: its columns are taken in the signature's order.
    if array.ndim != 2 or array.shape[1] != len(names):
        raise InvalidValueError(
            f"input is an array of shape {array.shape}; the model takes {len(names)} columns "
            f"({', '.join(map(str, names))}): give a DataFrame or records with those names"
        )
    return pd.DataFrame(array, columns=names)


def _column(column: pd.Series[Any], spec: ColSpec) -> pd.Series[Any]:
    kind = _kind(column)
    source = str(column.dtype) if column.dtype != object else kind
    label = f"column {spec.name!r}"
    if spec.type in _NUMERIC and kind in ("boolean", "integer", "floating", "empty"):
        cast = cast_numeric(
            _numbers(column, kind), np.dtype(_NUMERIC[spec.type]), label, source, spec.type
        )
        return pd.Series(cast, index=column.index, name=column.name)
    accepted = _ACCEPTED.get(spec.type, {kind})  # MLflow's nested types are not checked
    if spec.type in _NUMERIC or kind not in {*accepted, "empty"}:
        raise InvalidValueError(f"{label} holds {source} values, which cannot become {spec.type}")
    if spec.type == "datetime" and kind == "string":
        try:
            return pd.to_datetime(column, format="ISO8601")
        except (ValueError, TypeError):
            raise InvalidValueError(
                f"{label} holds {source} values that are not ISO 8601 dates; "
                "the model expects datetime"
            ) from None
    return column


def _numbers(column: pd.Series[Any], kind: str) -> Array:
    if kind == "empty" or column.isna().any():
        # Missing values become NaN: a float column keeps them, an integer column refuses them.
        return column.to_numpy(dtype="float64", na_value=np.nan)
    values = column.to_numpy()
    # An object column of Python numbers: numpy picks bool, int64 or float64 from the values.
    return np.asarray(values.tolist()) if values.dtype == object else values


def cast_numeric(values: Array, target: np.dtype[Any], label: str, source: str, to: str) -> Array:
    """``values`` as ``target`` when every value survives the conversion; else an error."""

    def refuse(reason: str) -> InvalidValueError:
        return InvalidValueError(
            f"{label} holds {source} values, which cannot become {to}: {reason}"
        )

    kind = values.dtype.kind
    if values.dtype == target or kind == "b":
        return values.astype(target)
    if kind in "iuf" and target.kind in "iu":
        if kind == "f" and not np.all(np.isfinite(values)):
            raise refuse("some are missing (NaN) or infinite")
        fractional = values[values != np.floor(values)] if kind == "f" else values[:0]
        if fractional.size:
            raise refuse(f"{float(fractional[0])!r} has a fractional part")
        info = np.iinfo(target)
        if values.size and (values.min() < info.min or values.max() > info.max):
            raise refuse(f"they do not fit in {target}")
        return values.astype(target)
    if kind in "iu" and target.kind == "f":
        exact = 2 ** (np.finfo(target).nmant + 1)
        if values.size and (values.min() < -exact or values.max() > exact):
            raise refuse(f"beyond ±{exact} a {target} loses digits")
        return values.astype(target)
    if kind == "f" and target.kind == "f":
        with np.errstate(over="ignore"):
            narrowed = values.astype(target)
        if np.any(np.isfinite(values) & ~np.isfinite(narrowed)):
            raise refuse(f"some are too large for {target}")
        return narrowed
    raise refuse(f"no conversion from {values.dtype} to {target} keeps every value")


def _tensor(spec: TensorSpec, data: object) -> Array:
    table = as_model_input(data, "input")
    array = table.to_numpy() if isinstance(table, pd.DataFrame) else table
    try:
        target = np.dtype(spec.dtype)
    except TypeError:
        target = array.dtype  # a dtype numpy does not know here: not checked
    if target.kind in "biuf":
        array = cast_numeric(array, target, "input", str(array.dtype), spec.dtype)
    fits = array.ndim == len(spec.shape) and all(
        want in (-1, got) for want, got in zip(spec.shape, array.shape, strict=False)
    )
    if not fits:
        raise InvalidValueError(
            f"input has shape {array.shape}; the model takes shape {spec.shape} (-1: any length)"
        )
    return array


def _kind(column: pd.Series[Any]) -> str:
    dtype = column.dtype
    for check, kind in _BY_DTYPE:
        if check(dtype):
            return kind
    return _KINDS.get(types.infer_dtype(column, skipna=True), "other")


_BY_DTYPE = (
    (types.is_bool_dtype, "boolean"),
    (types.is_integer_dtype, "integer"),
    (types.is_float_dtype, "floating"),
    (types.is_datetime64_any_dtype, "datetime"),
)
# What each non-numeric column type takes (datetimes also as ISO 8601 text, as JSON sends them).
_ACCEPTED = {
    "boolean": {"boolean"},
    "string": {"string"},
    "binary": {"bytes"},
    "datetime": {"datetime", "string"},
}
