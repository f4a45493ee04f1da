"""Input for a tensor signature: one unnamed array, or named arrays, as MLflow reads them.

An unnamed tensor takes an array, rows (a list, as JSON sends them) or a DataFrame (a column
of scalars for shape ``(-1,)`` or ``(-1, 1)``, a column of lists reshaped, or several columns
as one 2-D array); a dict is refused, as in MLflow. Named tensors take a dict of arrays (or
lists) or a DataFrame with one column per name and become a dict of arrays, extra names
dropped. Values are converted as ``conversions`` allows, never rounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from nbtrack.errors import InvalidValueError
from nbtrack.models.conversions import cast_numeric
from nbtrack.models.inputs import as_model_input
from nbtrack.models.signatures import TensorSpec

Array = np.ndarray[Any, Any]


def enforce_tensors(specs: tuple[TensorSpec, ...], data: object) -> Array | dict[str, Array]:
    """``data`` as the arrays the tensor specs describe: one array, or a dict of them."""
    if specs[0].name is None:
        return _unnamed(specs[0], data)
    return _named(specs, data)


def _unnamed(spec: TensorSpec, data: object) -> Array:
    if isinstance(data, Mapping) or (
        isinstance(data, list | tuple) and data and all(isinstance(row, Mapping) for row in data)
    ):
        raise InvalidValueError(
            f"input is named columns; the model takes one {_describe(spec)}: give an array, "
            "a list of rows or a DataFrame"
        )
    table = as_model_input(data, "input")
    if isinstance(table, pd.DataFrame):
        if len(table.columns) == 1:
            return fit(spec, _column_array(table.iloc[:, 0], spec, "input"), "input")
        return fit(spec, table.to_numpy(), "input")
    return fit(spec, table, "input")


def _named(specs: tuple[TensorSpec, ...], data: object) -> dict[str, Array]:
    if isinstance(data, np.ndarray) and len(specs) == 1:
        data = {specs[0].name: data}  # one named tensor: the array is it
    if not isinstance(data, Mapping | pd.DataFrame):
        what = (
            f"an array of shape {data.shape}"
            if isinstance(data, np.ndarray)
            else _article(type(data).__name__)
        )
        raise InvalidValueError(
            f"input is {what}; the model takes named arrays "
            f"({_names(specs)}): give a dict of arrays or a DataFrame with those columns"
        )
    missing = [repr(spec.name) for spec in specs if spec.name not in data]
    if missing:
        raise InvalidValueError(
            f"input is missing array {', '.join(missing)}; the model takes {_names(specs)}"
        )
    arrays = {}
    for spec in specs:
        label = f"input {spec.name!r}"
        value = data[spec.name]
        if isinstance(value, pd.Series):
            array = _column_array(value, spec, label)
        else:
            try:
                array = np.asarray(value)
            except ValueError:
                raise InvalidValueError(
                    f"{label} is not an array: its rows have different lengths"
                ) from None
        arrays[str(spec.name)] = fit(spec, array, label)
    return arrays


def _column_array(column: pd.Series[Any], spec: TensorSpec, label: str) -> Array:
    """A DataFrame column as the spec's array: scalars as a column, lists stacked."""
    shape = spec.shape
    if not shape or shape[0] != -1 or -1 in shape[1:]:
        raise InvalidValueError(
            f"{label} is a DataFrame column; a column can only hold a tensor whose first "
            f"dimension alone varies, and this one has shape {shape}"
        )
    first = column.iloc[0] if len(column) else None
    if not isinstance(first, list | np.ndarray):
        if shape not in ((-1,), (-1, 1)):
            raise InvalidValueError(
                f"{label} holds one value per row; the model takes shape {shape}: give a "
                "list per row, or an array"
            )
        return column.to_numpy().reshape(shape)
    try:
        stacked = np.vstack(column.tolist()).reshape(shape)
    except ValueError:
        stacked = None
    if stacked is None or len(stacked) != len(column):
        raise InvalidValueError(
            f"{label} holds lists that do not make shape {shape} (-1: any length)"
        )
    return stacked


def fit(spec: TensorSpec, array: Array, label: str) -> Array:
    """``array`` in the spec's dtype and shape, or an error naming both."""
    try:
        target = np.dtype(spec.dtype)
    except TypeError:
        target = array.dtype  # a dtype numpy does not know here: not checked
    if target == np.dtype(object) and spec.shape == (-1,):
        return array  # MLflow's spec for a ragged array: anything goes
    ragged = array.ndim == 1 and array.dtype == np.dtype(object) and -1 in spec.shape[1:]
    if ragged:
        return array  # rows of different lengths, which MLflow lets through unchecked
    if target.kind in "biuf":
        array = cast_numeric(array, target, label, str(array.dtype), spec.dtype)
    elif array.dtype.kind != target.kind or (target.kind not in "US" and array.dtype != target):
        # Text may be any length (<U3 is a str tensor); other dtypes must be the same.
        raise InvalidValueError(
            f"{label} holds {array.dtype} values, which cannot become {spec.dtype}"
        )
    fits = array.ndim == len(spec.shape) and all(
        want in (-1, got) for want, got in zip(spec.shape, array.shape, strict=False)
    )
    if not fits:
        raise InvalidValueError(
            f"{label} has shape {array.shape}; the model takes shape {spec.shape} (-1: any length)"
        )
    return array


def _describe(spec: TensorSpec) -> str:
    return f"array of {spec.dtype}, shape {spec.shape}"


def _names(specs: tuple[TensorSpec, ...]) -> str:
    return ", ".join(f"{spec.name} ({spec.dtype}, shape {spec.shape})" for spec in specs)


def _article(name: str) -> str:
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"
