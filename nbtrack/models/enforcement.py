"""Bring input to what a model's signature promises it, or say exactly why not.

Named columns, as in MLflow: a missing required column is named, extra columns are dropped,
the rest put in the signature's order (scikit-learn checks feature order). A signature whose
columns have no names takes the input's first columns in order, and refuses fewer. Tensor
signatures are read by ``tensors``.

A value changes type only when nothing is lost (see ``conversions``): int → float while
exact, float → int while whole, narrower → wider, datetimes of any resolution → ns. Text for
a number column, 2.5 for a long column, 0.1 for a float32 column are refused, naming the
column and both types, never the values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types

from nbtrack.errors import InvalidValueError
from nbtrack.models.conversions import as_datetimes, cast_numeric, exact_floats
from nbtrack.models.inputs import as_model_input
from nbtrack.models.signatures import NESTED_TYPES, ColSpec, Signature, TensorSpec
from nbtrack.models.tensors import enforce_tensors

_NUMERIC = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32"}
# pandas' infer_dtype names for object columns, grouped into the kinds the rules below use.
_KINDS = {
    "string": "string",
    "bytes": "bytes",
    "boolean": "boolean",
    "integer": "integer",
    "floating": "floating",
    "mixed-integer-float": "floating",
    "decimal": "decimal",
    "empty": "empty",
    "datetime": "datetime",
    "datetime64": "datetime",
    "date": "datetime",
}
# What each non-numeric column type takes besides missing values. MLflow lets any object
# column through as string, boolean or binary; nbtrack checks what it holds.
_ACCEPTED = {
    "boolean": {"boolean"},
    "string": {"string"},
    "binary": {"bytes"},
    "datetime": {"datetime", "string"},  # dates as ISO 8601 text, as JSON sends them
}

Array = np.ndarray[Any, Any]


def enforce(signature: Signature | None, data: object) -> pd.DataFrame | Array | dict[str, Array]:
    """``data`` as the model's signature describes its input; unchanged without one.

    Examples
    --------
    >>> enforce(signature, [{"x": 1, "unused": "a"}])  # doctest: +SKIP
         x
    0  1.0
    """
    specs = signature.inputs if signature is not None else None
    if not specs:
        return as_model_input(data, "input")
    tensors = tuple(spec for spec in specs if isinstance(spec, TensorSpec))
    if tensors:
        return enforce_tensors(tensors, data)
    columns = [spec for spec in specs if isinstance(spec, ColSpec)]
    if isinstance(data, dict) and any(spec.type in ("array", "object") for spec in columns):
        data = [data]  # a dict for array or object columns is one row, as in MLflow
    table, shape = _table(data)
    if columns[0].name is None:
        return _unnamed(columns, table)
    if shape is not None:
        table = _positional(table, shape, [spec.name for spec in columns])
    return _named(columns, table)


def _table(data: object) -> tuple[pd.DataFrame, tuple[int, ...] | None]:
    """The input as a frame, and the shape it had if its columns carry no names."""
    if isinstance(data, str | bytes | int | float | np.generic):
        return pd.DataFrame([data]), (1,)  # one value: one row of one column, as in MLflow
    if isinstance(data, list | tuple) and data and not any(isinstance(r, dict) for r in data):
        return _rows(list(data))
    table = as_model_input(data, "input")
    if isinstance(table, pd.DataFrame):
        return table, None
    if table.ndim > 2:
        raise InvalidValueError(
            f"input is an array of shape {table.shape}; the model takes columns: give rows of "
            "values or a DataFrame"
        )
    return pd.DataFrame(table), table.shape


def _rows(rows: list[Any]) -> tuple[pd.DataFrame, tuple[int, ...]]:
    # Built by pandas column by column, so [1.0, "a"] keeps a number and a text (numpy would
    # make both text). A flat list is one column.
    nested = [isinstance(row, list | tuple | np.ndarray) for row in rows]
    if not any(nested):
        return pd.DataFrame({0: rows}), (len(rows),)
    widths = {len(row) for row in rows if isinstance(row, list | tuple | np.ndarray)}
    if not all(nested) or len(widths) != 1:
        raise InvalidValueError(
            "input cannot be read as a table or an array: its rows have different lengths"
        )
    return pd.DataFrame([list(row) for row in rows]), (len(rows), widths.pop())


def _positional(
    frame: pd.DataFrame, shape: tuple[int, ...], names: list[str | None]
) -> pd.DataFrame:
    # nbtrack's extension: rows without names (a 2-D array, a list of lists) of exactly the
    # signature's width are its columns in order. MLflow refuses them ("missing inputs").
    if len(shape) != 2 or shape[1] != len(names):
        raise InvalidValueError(
            f"input is an array of shape {shape}; the model takes {len(names)} columns "
            f"({', '.join(map(str, names))}): give a DataFrame or records with those names"
        )
    return frame.set_axis(names, axis="columns")


def _named(specs: list[ColSpec], table: pd.DataFrame) -> pd.DataFrame:
    missing = [spec.name for spec in specs if spec.required and spec.name not in table.columns]
    if missing:
        expected = ", ".join(f"{spec.name} ({spec.type})" for spec in specs)
        raise InvalidValueError(
            f"input is missing column {', '.join(map(repr, missing))}; the model takes {expected}"
        )
    converted = {
        spec.name: _column(table[spec.name], spec, f"column {spec.name!r}")
        for spec in specs
        if spec.name in table.columns
    }
    return pd.DataFrame(converted, index=table.index)


def _unnamed(specs: list[ColSpec], frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame.columns) < len(specs):
        raise InvalidValueError(
            f"input has {len(frame.columns)} columns; the model takes {len(specs)}, in order "
            f"({', '.join(spec.type for spec in specs)}); its signature names none"
        )
    # Taken by position; the input's own labels stay, and columns past the signature's go.
    converted = {
        label: _column(frame[label], spec, f"input column {position}")
        for position, (label, spec) in enumerate(zip(frame.columns, specs, strict=False))
    }
    return pd.DataFrame(converted, index=frame.index)


def _column(column: pd.Series[Any], spec: ColSpec, label: str) -> pd.Series[Any]:
    kind = _kind(column)
    source = str(column.dtype) if column.dtype != object else kind
    if spec.type in _NUMERIC and kind in ("boolean", "integer", "floating", "decimal", "empty"):
        numbers = _numbers(column, kind, label, spec.type)
        target = np.dtype(_NUMERIC[spec.type])
        cast = cast_numeric(numbers, target, label, source, spec.type)
        return pd.Series(cast, index=column.index, name=column.name)
    if spec.type in NESTED_TYPES:
        return column  # not checked (see the README's "nbtrack and MLflow")
    if spec.type in _NUMERIC or kind not in {*_ACCEPTED[spec.type], "empty"}:
        refused = f"{label} holds {source} values, which cannot become {spec.type}"
        if kind == "other":  # lists, arrays, a mix of types: say what pandas sees
            refused += f": pandas infers {types.infer_dtype(column, skipna=True)!r} for them"
        raise InvalidValueError(refused)
    if spec.type == "datetime":
        return as_datetimes(column, label, source)
    if spec.type == "boolean" and column.dtype == object:
        return column.infer_objects()  # bool when nothing is missing, as MLflow gives it
    return column


def _numbers(column: pd.Series[Any], kind: str, label: str, to: str) -> Array:
    if kind == "decimal":
        return exact_floats(column.to_numpy(), label, to)
    if kind == "empty" or column.isna().any():
        # Missing values become NaN: a float column keeps them, an integer column refuses them.
        return column.to_numpy(dtype="float64", na_value=np.nan)
    values = column.to_numpy()
    # An object column of Python numbers: numpy picks bool, int64 or float64 from the values.
    return np.asarray(values.tolist()) if values.dtype == object else values


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
