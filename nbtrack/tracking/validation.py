"""Checks run at the call that received the input: bad input never reaches the journal.

Nothing a user logs is changed on the way in: a metric is a float64, so a number beyond its
range is refused rather than stored as ±inf; a param or a dict nests lists and dicts at most
``MAX_NESTING`` levels and never holds itself; a numpy array is taken as the (nested) list of
its values, and a numpy value Python has no type for is refused.
"""

from __future__ import annotations

import json
import math
import numbers
import reprlib
import sys
from typing import Any

from nbtrack.errors import InvalidValueError

MAX_KEY_LENGTH = 250
MAX_VALUE_BYTES = 64 * 1024
# Deep enough for any config; shallow enough that JSON, YAML and repr never exhaust the stack.
MAX_NESTING = 100
_INT64 = (-(2**63), 2**63 - 1)
_SHOWN = 80
NESTING_RULE = f"lists and dicts nest at most {MAX_NESTING} levels and never contain themselves"


class _ShortRepr(reprlib.Repr):
    # reprlib's own repr_int calls repr(), which raises for an int of more than 4300 digits.
    def repr_int(self, x: int, level: int) -> str:
        return _shown_int(x)


_REPR = _ShortRepr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = _SHOWN
_REPR.maxlevel = 3


def shown(value: object, limit: int = _SHOWN) -> str:
    """``value`` for a message: its repr cut to about ``limit`` characters (both ends kept),
    whatever the value is (an int too long to print, a list that holds itself, a million
    items, a repr that fails)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _shown_int(value)
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = _REPR.repr(value)
        except Exception:  # a broken __repr__ must not hide the error being reported
            text = f"<{type(value).__name__} object>"
    if len(text) <= limit:
        return text
    head = (limit - 3) // 2
    return text[:head] + "..." + text[len(text) - (limit - 3 - head) :]


def _shown_int(value: int) -> str:
    try:
        text = int.__repr__(value)
    except ValueError:  # more digits than sys.get_int_max_str_digits() lets Python print
        return f"an int of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    if len(text) <= _SHOWN:
        return text
    return f"{text[:12]}...{text[-4:]} ({len(text.lstrip('-'))} digits)"


def int_text(value: int, what: str) -> str:
    """``str(value)``, or an error when the int has more digits than Python prints."""
    try:
        return str(value)
    except ValueError:
        raise InvalidValueError(
            f"{what}: {_shown_int(value)} is stored as text, and it has more digits than "
            f"Python writes out (at most {sys.get_int_max_str_digits()}; see "
            "sys.set_int_max_str_digits)"
        ) from None


def float64(value: object, what: str) -> float:
    """``float(value)`` for a real number, refused when float64 cannot hold it: a value beyond
    ±1.8e308 would become ±inf, which is not what was logged (an infinity is kept)."""
    try:
        result = float(value)  # type: ignore[arg-type]
    except OverflowError:
        raise _beyond_float64(value, what) from None
    if math.isinf(result):
        _check_infinite(value, result, what)
    return result


def _check_infinite(value: object, result: float, what: str) -> None:
    """Refuse ``value`` unless it was itself infinite before it became ``result``, ±inf."""
    try:
        infinite = bool(value == result)
    except Exception:  # a type that cannot compare: trust its own conversion
        infinite = True
    if not infinite:
        raise _beyond_float64(value, what)


def _beyond_float64(value: object, what: str) -> InvalidValueError:
    return InvalidValueError(
        f"{what}: {shown(value)} is beyond the range of float64 (±1.8e308), in which numbers "
        "are stored; it is refused rather than stored as ±inf (log it scaled, or its log10)"
    )


def check_name(value: object, what: str) -> str:
    """A key or name: a non-empty str of at most 250 characters, no NUL, valid unicode."""
    if not isinstance(value, str):
        raise InvalidValueError(f"{what} must be a str, got {type(value).__name__}: {shown(value)}")
    if not value:
        raise InvalidValueError(f"{what} must not be empty")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidValueError(
            f"{what} {value[:40]!r}... is {len(value)} characters; the limit is {MAX_KEY_LENGTH}"
        )
    _check_text(value, what)
    return value


def _check_text(value: str, what: str) -> None:
    if "\x00" in value:
        raise InvalidValueError(f"{what} {value[:60]!r} contains a NUL byte, which is not accepted")
    try:
        value.encode()
    except UnicodeEncodeError as exc:
        raise InvalidValueError(
            f"{what} {value[:60]!r} is not valid unicode text ({exc.reason})"
        ) from None


def metric_value(key: str, value: object) -> float:
    """A metric value as a float64: real numbers only; NaN and ±inf are kept as they are,
    a finite number beyond float64's range is refused."""
    # The common cases first: an int, then a float (numpy's float64 is a float subclass, so a
    # float64 already and never out of range).
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            raise _beyond_float64(value, f"metric {key!r}") from None
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):
        raise InvalidValueError(
            f"metric {key!r}: {value!r} is a bool; metric values are real numbers "
            "(log it as a param or a tag, or as 0/1)"
        )
    to_float = getattr(type(value), "__float__", None)
    if isinstance(value, numbers.Real) or (
        to_float is not None and not isinstance(value, (str, bytes, complex))
    ):
        try:
            result = float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise _beyond_float64(value, f"metric {key!r}") from None
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(
                f"metric {key!r}: {type(value).__name__} {shown(value)} has no single real "
                f"value ({exc}); metric values are real numbers"
            ) from None
        if math.isinf(result):
            _check_infinite(value, result, f"metric {key!r}")
        return result
    raise InvalidValueError(
        f"metric {key!r}: {shown(value)} ({type(value).__name__}) is not a real number; "
        "metric values are int or float (NaN and ±inf accepted)"
    )


def step_value(key: str, step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidValueError(
            f"metric {key!r}: step {shown(step)} ({type(step).__name__}) is not an int"
        )
    result = int(step)
    if not _INT64[0] <= result <= _INT64[1]:
        raise InvalidValueError(f"metric {key!r}: step {shown(result)} is outside the 64-bit range")
    return result


def param_value(key: str, value: object) -> tuple[str, str]:
    """A param value as (text, json): text as MLflow shows it, json to give it back as logged."""
    plain = _plain(key, value, frozenset())
    try:
        encoded = json.dumps(plain, ensure_ascii=False, allow_nan=True, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(f"param {key!r}: {shown(value)} cannot be stored: {exc}") from None
    text = plain if isinstance(plain, str) else str(plain) if _is_scalar(plain) else encoded
    # The limit is on the value itself: a str by its UTF-8 bytes, anything else by its JSON.
    size = len((plain if isinstance(plain, str) else encoded).encode())
    if size > MAX_VALUE_BYTES:
        raise InvalidValueError(
            f"param {key!r} is {size} bytes; the limit is {MAX_VALUE_BYTES} (64 KiB): "
            "log a value this large as an artifact (log_text / log_dict)"
        )
    return text, encoded


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _plain(key: str, value: object, parents: frozenset[int]) -> object:
    """``value`` as JSON can hold it; ``parents`` are the ids of the containers around it."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        if value.bit_length() > 1000:  # only a long int can have too many digits to print
            int_text(value, f"param {key!r}")
        return value
    if isinstance(value, str):
        _check_text(value, f"param {key!r} value")
        return value
    if type(value).__module__.startswith("numpy") and hasattr(value, "tolist"):
        return _plain(key, numpy_plain(value, f"param {key!r}"), parents)
    if isinstance(value, (list, tuple, dict)):
        inner = nested(value, parents, f"param {key!r}: the value")
        if isinstance(value, dict):
            if not all(isinstance(name, str) for name in value):
                raise InvalidValueError(f"param {key!r}: dict keys must be str, got {shown(value)}")
            return {name: _plain(key, element, inner) for name, element in value.items()}
        return [_plain(key, element, inner) for element in value]
    raise InvalidValueError(
        f"param {key!r}: {type(value).__name__} {shown(value)} is not accepted; params are "
        "numbers, strings, bools, None, or lists and dicts of them (log str(value) for its text)"
    )


def nested(container: object, parents: frozenset[int], what: str) -> frozenset[int]:
    """The ids around the items of ``container``: refused if it holds itself or is too deep."""
    if id(container) in parents:
        raise InvalidValueError(f"{what} contains itself; {NESTING_RULE}")
    if len(parents) >= MAX_NESTING:
        raise InvalidValueError(
            f"{what} is nested deeper than {MAX_NESTING} levels; {NESTING_RULE}"
        )
    return parents | {id(container)}


def numpy_plain(value: Any, what: str) -> object:
    """A numpy scalar as the Python value, an array as the (nested) list of its values.

    Refused: dates and durations (``tolist`` turns some into bare ints of unstated units),
    and scalars Python has no type for: a clongdouble, a longdouble beyond float64.
    """
    kind = getattr(getattr(value, "dtype", None), "kind", "")
    if kind in ("M", "m"):
        raise InvalidValueError(
            f"{what}: numpy {shown(value)} is a date or a duration; log str(value), or a "
            "number with its unit in the key"
        )
    plain = value.tolist()
    if type(plain) is not type(value):
        return plain
    if isinstance(value, numbers.Real):
        return float64(value, what)
    raise InvalidValueError(
        f"{what}: numpy {type(value).__name__} {shown(value)} has no plain Python "
        "equivalent; give a real number, or str(value)"
    )


def tag_value(key: str, value: object) -> str:
    """A tag value as str; numbers and bools are turned into their text, as MLflow does."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, int) and not isinstance(value, bool):
        text = int_text(value, f"tag {key!r}")
    elif isinstance(value, (bool, float)):
        text = str(value)
    else:
        raise InvalidValueError(
            f"tag {key!r}: {type(value).__name__} {shown(value)} is not accepted; tags are "
            "str (numbers and bools are turned into text)"
        )
    _check_text(text, f"tag {key!r} value")
    if len(text.encode()) > MAX_VALUE_BYTES:
        raise InvalidValueError(
            f"tag {key!r} is {len(text.encode())} bytes; the limit is {MAX_VALUE_BYTES} (64 KiB)"
        )
    return text


def mapping(values: object, what: str) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise InvalidValueError(
            f"{what} takes a dict of name -> value, got {type(values).__name__}: {shown(values)}"
        )
    return values
