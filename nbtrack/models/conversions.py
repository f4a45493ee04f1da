"""Conversions that lose nothing: a value changes type only when it survives the change exactly.

MLflow decides by dtype, two ways: its ``predict`` refuses int64 for a double column and
float64 for a float one whatever the values, and its scoring server casts request columns with
``astype``, so 2.5 sent for a long becomes 2 and 0.1 sent for a float becomes 0.10000000149.
nbtrack looks at the values, the same way in a notebook and behind ``nbtrack serve``: 3 and
3.0 fit a long, 2.5 does not; an int fits a double up to 2**53; a float32 takes a float64 only
when it holds the same number. What does not fit is refused, naming the types and the reason.
"""

from __future__ import annotations

import decimal
from typing import Any

import numpy as np
import pandas as pd

from nbtrack.errors import InvalidValueError

Array = np.ndarray[Any, Any]


def cast_numeric(values: Array, target: np.dtype[Any], label: str, source: str, to: str) -> Array:
    """``values`` as ``target`` when every value survives the conversion; else an error.

    ``label`` names what holds them (``column 'x'``, ``input``), ``source`` their type and
    ``to`` the signature's name for ``target``; the error says which and why, never a value.
    """

    def refuse(reason: str) -> InvalidValueError:
        return InvalidValueError(
            f"{label} holds {source} values, which cannot become {to}: {reason}"
        )

    kind = values.dtype.kind
    if values.dtype == target or (kind == "b" and target.kind in "biuf"):
        return values.astype(target)
    if kind in "iuf" and target.kind in "iu":
        if kind == "f" and not np.all(np.isfinite(values)):
            raise refuse("some are missing (NaN) or infinite")
        if kind == "f" and np.any(values != np.floor(values)):
            raise refuse("at least one has a fractional part")
        if not _fits(values, target):
            raise refuse(f"they do not fit in {target}")
        return values.astype(target)
    if kind in "iu" and target.kind == "f":
        exact = 2 ** (np.finfo(target).nmant + 1)
        if values.size and (values.min() < -exact or values.max() > exact):
            raise refuse(f"beyond ±{exact} a {target} loses digits")
        return values.astype(target)
    if kind == "f" and target.kind == "f":
        if values.dtype.itemsize <= target.itemsize:
            return values.astype(target)
        with np.errstate(over="ignore"):
            narrowed = values.astype(target)
        if np.any(np.isfinite(values) & ~np.isfinite(narrowed)):
            raise refuse(f"some are too large for {target}")
        # 0.1 as a float32 is 0.100000001490116..., another number: refused, not rounded.
        kept = (narrowed.astype(values.dtype) == values) | np.isnan(values)
        if not np.all(kept):
            raise refuse(f"no conversion from {values.dtype} to {target} keeps every value")
        return narrowed
    raise refuse(f"no conversion from {values.dtype} to {target} keeps every value")


def _fits(values: Array, target: np.dtype[Any]) -> bool:
    if not values.size:
        return True
    info = np.iinfo(target)
    if values.dtype.kind == "f":
        # Compared as floats, the upper bound is exclusive: float(2**63 - 1) is 2**63.
        low, high = float(info.min), float(info.max) + 1
        return bool(values.min() >= low and values.max() < high)
    return bool(values.min() >= info.min and values.max() <= info.max)


def exact_floats(values: Array, label: str, to: str) -> Array:
    """Decimals (and missing values) as float64 when each float is the same number.

    MLflow converts decimals to double whatever is lost (its comment says so); nbtrack
    takes Decimal("2.5") and refuses Decimal("0.1"), which no float holds.
    """
    floats = np.array([np.nan if _missing(v) else float(v) for v in values], dtype="float64")
    for value, number in zip(values, floats, strict=True):
        if not _missing(value) and decimal.Decimal(number) != value:
            raise InvalidValueError(
                f"{label} holds decimal values, which cannot become {to}: a float holds at "
                "least one of them only approximately; convert the column (astype(float)) if "
                "that rounding is intended"
            )
    return floats


def as_datetimes(column: pd.Series[Any], label: str, source: str) -> pd.Series[Any]:
    """``column`` as timezone-naive ``datetime64[ns]``, the one datetime MLflow gives a model.

    Datetimes of any resolution, dates, and ISO 8601 text (JSON has no datetime) are taken;
    a time zone is refused, as in MLflow: dropping it would move the instants.
    """
    text = column.dtype != object and pd.api.types.is_string_dtype(column.dtype)
    text = text or pd.api.types.infer_dtype(column, skipna=True) == "string"
    try:
        if text:
            parsed = pd.to_datetime(column, format="ISO8601")
        elif pd.api.types.is_datetime64_any_dtype(column.dtype):
            parsed = column
        else:
            parsed = pd.to_datetime(column)
    except (ValueError, TypeError):
        reason = "values that are not ISO 8601 dates" if text else "values that are not dates"
        raise InvalidValueError(
            f"{label} holds {source} {reason}; the model expects datetime"
        ) from None
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        raise InvalidValueError(
            f"{label} holds {parsed.dtype} values, which cannot become datetime: the model "
            "takes datetimes without a time zone (convert them, e.g. tz_convert(None))"
        )
    try:
        return parsed.dt.as_unit("ns")
    except (ValueError, OverflowError):
        raise InvalidValueError(
            f"{label} holds {source} values, which cannot become datetime: they do not fit "
            "in datetime64[ns]"
        ) from None


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))
