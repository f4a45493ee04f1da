"""Inference params: the ones a model's signature declares, and a request's checked against them.

MLflow keeps them in MLmodel beside the signature's inputs and outputs::

    signature:
      params: '[{"name": "threshold", "type": "double", "default": 0.5, "shape": null}]'

A declared param may be sent with a prediction; one left out takes its default. Values are
converted as MLflow converts them (an integer may become a long, float or double, a long a
float or double, a float a double; a datetime is read from ISO 8601 text), and nothing else.
Unlike MLflow, which drops a param its signature does not declare with a line in the server's
log, nbtrack refuses it: the caller would otherwise believe it had an effect.

Messages name a param only when the signature declares it, and never repeat a value.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from nbtrack.errors import InvalidValueError

# The conversions MLflow allows for a param value, by the param's type (besides the exact type).
_NUMBERS: dict[str, type] = {
    "integer": numbers.Integral,
    "long": numbers.Integral,
    "float": numbers.Real,
    "double": numbers.Real,
}
_EXACT: dict[str, type] = {"boolean": bool, "string": str}
_HINT = (
    "a prediction method (predict_proba, ...) is chosen when the model is logged: "
    "log_model(..., pyfunc_predict_fn='predict_proba')"
)


@dataclass(frozen=True)
class ParamSpec:
    """One declared param: its name, MLflow type name, default and shape (None: a scalar,
    ``(-1,)``: a list)."""

    name: str
    type: str
    default: Any = None
    shape: tuple[int, ...] | None = None

    def describe(self) -> str:
        """``name (type)``, or ``name (list of type)``."""
        return f"{self.name} ({'list of ' if self.shape else ''}{self.type})"


def param_specs(signature_entry: object) -> tuple[ParamSpec, ...]:
    """The params MLmodel's ``signature`` entry declares; none when it has no ``params``.

    Examples
    --------
    >>> param_specs({"params": '[{"name": "k", "type": "long", "default": 3, "shape": null}]'})
    (ParamSpec(name='k', type='long', default=3, shape=None),)
    """
    text = signature_entry.get("params") if isinstance(signature_entry, Mapping) else None
    if text is None:
        return ()
    try:
        items = json.loads(text) if isinstance(text, str) else text
        if not isinstance(items, list):
            raise TypeError("not a list of params")
        specs = []
        for item in items:
            shape = item.get("shape")
            spec = ParamSpec(
                str(item["name"]),
                str(item["type"]),
                shape=None if shape is None else tuple(int(n) for n in shape),
            )
            # The default as a value sent would become: MLflow converts it when it reads it too.
            specs.append(replace(spec, default=_value(spec, item.get("default"))))
        return tuple(specs)
    except (TypeError, KeyError, ValueError) as exc:  # InvalidValueError is a ValueError
        raise InvalidValueError(
            f"MLmodel signature params {text!r:.80} cannot be read: {exc}"
        ) from None


def check_params(specs: tuple[ParamSpec, ...], params: object) -> dict[str, Any]:
    """``params`` converted to what ``specs`` declare, with the defaults of those not given.

    Examples
    --------
    >>> check_params((ParamSpec("k", "long", 3),), {})
    {'k': 3}
    """
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise InvalidValueError("params must be a mapping of param names to values")
    declared = {spec.name for spec in specs}
    undeclared = sum(1 for name in params if name not in declared)
    if undeclared:
        # The names are the request's own: they are counted, not repeated.
        what = f"{undeclared} param{'s' if undeclared > 1 else ''}"
        if not specs:
            raise InvalidValueError(
                f"{what} sent, but the model's signature declares no params: "
                f"{'it' if undeclared == 1 else 'they'} would change nothing; {_HINT}"
            )
        raise InvalidValueError(
            f"{what} that the model's signature does not declare; it declares "
            f"{', '.join(spec.describe() for spec in specs)}"
        )
    return {
        spec.name: _value(spec, params[spec.name]) if spec.name in params else spec.default
        for spec in specs
    }


def _value(spec: ParamSpec, value: object) -> object:
    if value is None:
        return None
    if spec.shape is None:
        return _scalar(spec, value)
    if not isinstance(value, list) or any(isinstance(item, list | dict) for item in value):
        raise InvalidValueError(
            f"param {spec.name!r} takes a list of {spec.type} values; the value sent is "
            f"{_json_type(value)}"
        )
    return [_scalar(spec, item) for item in value]


def _scalar(spec: ParamSpec, value: object) -> object:
    refusal = InvalidValueError(
        f"param {spec.name!r} takes type {spec.type}; the value sent is {_json_type(value)}"
    )
    if spec.type == "datetime":
        return _datetime(spec, value, refusal)
    if spec.type in _NUMBERS:
        # bool is an int to Python, not a number to JSON.
        if isinstance(value, bool) or not isinstance(value, _NUMBERS[spec.type]):
            raise refusal
        if spec.type in ("float", "double"):
            return float(value)  # type: ignore[arg-type]  # a Real
        return int(value)  # type: ignore[call-overload]  # an Integral
    exact = _EXACT.get(spec.type)
    if exact is not None and type(value) is not exact:
        raise refusal
    # MLflow's object params (and types this version does not know) are passed as sent.
    return value


def _datetime(spec: ParamSpec, value: object, refusal: InvalidValueError) -> object:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise refusal
    import numpy as np

    try:
        converted = np.datetime64(value).item()
    except ValueError:
        converted = None
    if not isinstance(converted, dt.date):
        raise InvalidValueError(
            f"param {spec.name!r} takes type datetime; the text sent is not an ISO 8601 date or "
            "time"
        )
    return converted


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number" if math.isfinite(value) else "a non-finite number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"
