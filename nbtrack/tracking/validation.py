"""Checks run at the call that received the input: bad input never reaches the journal."""

from __future__ import annotations

import json
import numbers
from typing import Any

from nbtrack.errors import InvalidValueError

MAX_KEY_LENGTH = 250
MAX_VALUE_BYTES = 64 * 1024
_INT64 = (-(2**63), 2**63 - 1)


def check_name(value: object, what: str) -> str:
    """A key or name: a non-empty str of at most 250 characters, no NUL, valid unicode."""
    if not isinstance(value, str):
        raise InvalidValueError(f"{what} must be a str, got {type(value).__name__}: {value!r}")
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
    """A metric value as a float: real numbers only; NaN and ±inf are kept as they are."""
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):
        raise InvalidValueError(
            f"metric {key!r}: {value!r} is a bool; metric values are real numbers "
            "(log it as a param or a tag, or as 0/1)"
        )
    if isinstance(value, numbers.Real):
        return float(value)
    to_float = getattr(type(value), "__float__", None)
    if to_float is not None and not isinstance(value, (str, bytes, complex)):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(
                f"metric {key!r}: {type(value).__name__} {value!r} has no single real value "
                f"({exc}); metric values are real numbers"
            ) from None
    raise InvalidValueError(
        f"metric {key!r}: {value!r} ({type(value).__name__}) is not a real number; "
        "metric values are int or float (NaN and ±inf accepted)"
    )


def step_value(key: str, step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidValueError(
            f"metric {key!r}: step {step!r} ({type(step).__name__}) is not an int"
        )
    result = int(step)
    if not _INT64[0] <= result <= _INT64[1]:
        raise InvalidValueError(f"metric {key!r}: step {result} is outside the 64-bit range")
    return result


def param_value(key: str, value: object) -> tuple[str, str]:
    """A param value as (text, json): text as MLflow shows it, json to give it back as logged."""
    plain = _plain(key, value)
    try:
        encoded = json.dumps(plain, ensure_ascii=False, allow_nan=True, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(f"param {key!r}: {value!r} cannot be stored: {exc}") from None
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


def _plain(key: str, value: object) -> object:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        _check_text(value, f"param {key!r} value")
        return value
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__.startswith("numpy"):
        return _plain(key, item())
    if isinstance(value, (list, tuple)):
        return [_plain(key, element) for element in value]
    if isinstance(value, dict):
        if not all(isinstance(name, str) for name in value):
            raise InvalidValueError(f"param {key!r}: dict keys must be str, got {value!r}")
        return {name: _plain(key, element) for name, element in value.items()}
    raise InvalidValueError(
        f"param {key!r}: {type(value).__name__} {value!r:.80} is not accepted; params are "
        "numbers, strings, bools, None, or lists and dicts of them (log str(value) for its text)"
    )


def tag_value(key: str, value: object) -> str:
    """A tag value as str; numbers and bools are turned into their text, as MLflow does."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (bool, int, float)):
        text = str(value)
    else:
        raise InvalidValueError(
            f"tag {key!r}: {type(value).__name__} {value!r:.80} is not accepted; tags are "
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
            f"{what} takes a dict of name -> value, got {type(values).__name__}: {values!r:.80}"
        )
    return values
