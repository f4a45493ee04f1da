"""Inference parameters: the ``params`` part of a signature, read, written and enforced.

In MLmodel they are one JSON string, written exactly as MLflow writes it::

    params: '[{"name": "k", "default": 3, "shape": null, "type": "long"}]'

A param is one value (``shape`` null) or a list (``shape`` ``[-1]``) of one MLflow type.
``enforce_params`` follows MLflow's rules: a value is taken when its Python or numpy type is
the param's own or a narrower one (an int for a double), datetimes are read from ISO 8601
text, a value may be missing (None, also an item of a list), params not given get their
default, and params the signature does not name are dropped. One difference: an int too large
for a float to hold exactly is refused, where MLflow rounds it.

A prediction's params go through ``check_params``, which is stricter than MLflow in one more
way: a param the signature does not declare is refused, where MLflow drops it with a line in
the server's log — the caller would otherwise believe it had an effect. Messages name a param
only when the signature declares it, and never repeat a value: they end up in a server's
answers.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from nbtrack.errors import InvalidValueError

# Beyond this an int is rounded by a float (53 bits of mantissa).
_EXACT_IN_FLOAT = 2**53
_HINT = (
    "a prediction method (predict_proba, ...) is chosen when the model is logged: "
    "log_model(..., pyfunc_predict_fn='predict_proba')"
)


@dataclass(frozen=True)
class ParamSpec:
    """One inference parameter: its name, MLflow type, default and shape.

    ``default`` is kept as MLmodel holds it (datetimes as ISO 8601 text), so that it is
    written back unchanged; ``enforce_params`` converts it like a value given. ``shape`` is
    None for one value and ``(-1,)`` for a list. An ``object`` param keeps MLflow's
    ``properties`` as written; nbtrack checks only that its value is a dict.

    Examples
    --------
    >>> ParamSpec("labels", "string", ["a", "b"], (-1,)).shape
    (-1,)
    """

    name: str
    type: str
    default: Any
    shape: tuple[int, ...] | None = None
    properties: Mapping[str, Any] | None = field(default=None, hash=False)


def dumps_params(specs: tuple[ParamSpec, ...] | None) -> str | None:
    """The ``params`` JSON string of MLmodel, key for key as MLflow's ``ParamSchema`` writes it.

    Examples
    --------
    >>> dumps_params((ParamSpec("k", "long", 3),))
    '[{"name": "k", "default": 3, "shape": null, "type": "long"}]'
    """
    if specs is None:
        return None
    items = []
    for spec in specs:
        shape = None if spec.shape is None else list(spec.shape)
        item = {"name": spec.name, "default": spec.default, "shape": shape, "type": spec.type}
        items.append(item if spec.properties is None else {**item, "properties": spec.properties})
    return json.dumps(items)


def loads_params(text: object) -> tuple[ParamSpec, ...] | None:
    """The specs in MLmodel's ``params`` string (MLflow also wrote ``dtype`` for ``type``),
    defaults as written.

    Examples
    --------
    >>> loads_params('[{"name": "k", "default": 3, "shape": null, "type": "long"}]')
    (ParamSpec(name='k', type='long', default=3, shape=None, properties=None),)
    """
    if text is None:
        return None
    try:
        items = json.loads(text) if isinstance(text, str) else None
        if not isinstance(items, list):
            raise TypeError("not a list of params")
        return tuple(
            ParamSpec(
                str(item["name"]),
                str(item.get("type") or item["dtype"]),
                item["default"],
                None if item.get("shape") is None else tuple(int(n) for n in item["shape"]),
                item.get("properties"),
            )
            for item in items
        )
    except KeyError:
        raise _unreadable(text, "each param needs a name, a type and a default") from None
    except (TypeError, ValueError) as exc:
        raise _unreadable(text, str(exc)) from None


def param_specs(signature_entry: object) -> tuple[ParamSpec, ...]:
    """The params MLmodel's ``signature`` entry declares (none without ``params``); a default
    that its own type cannot hold makes the entry unreadable, as it does for MLflow.

    Examples
    --------
    >>> param_specs({"params": '[{"name": "k", "type": "long", "default": 3, "shape": null}]'})
    (ParamSpec(name='k', type='long', default=3, shape=None, properties=None),)
    """
    text = signature_entry.get("params") if isinstance(signature_entry, Mapping) else None
    specs = loads_params(text) or ()
    for spec in specs:
        try:
            _value(spec, spec.default)
        except InvalidValueError as exc:
            raise _unreadable(text, str(exc)) from None
    return specs


def _unreadable(text: object, reason: str) -> InvalidValueError:
    # The text is MLmodel's, not a request's: quoting its start helps find it.
    return InvalidValueError(f"MLmodel params {text!r:.80} cannot be read: {reason}")


def infer_params(values: Mapping[str, Any]) -> tuple[ParamSpec, ...]:
    """Param specs whose defaults are ``values``, typed as MLflow's ``infer_signature`` types them.

    Examples
    --------
    >>> [(spec.type, spec.shape) for spec in infer_params({"k": 3, "labels": ["a", "b"]})]
    [('long', None), ('string', (-1,))]
    """
    return tuple(_inferred(str(name), value) for name, value in values.items())


def check_params(specs: tuple[ParamSpec, ...], params: object) -> dict[str, Any]:
    """A prediction's ``params`` as ``enforce_params`` brings them to ``specs``, but a param
    the signature does not declare is refused (MLflow drops it); its name is not repeated.

    Examples
    --------
    >>> check_params(infer_params({"k": 3}), {})
    {'k': 3}
    >>> check_params(infer_params({"k": 3}), {"K": 4})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    nbtrack.errors.InvalidValueError: 1 param that the model's signature does not declare; ...
    """
    given = _as_dict(params)
    declared = {spec.name for spec in specs}
    undeclared = sum(1 for name in given if name not in declared)
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
            f"{', '.join(_describe(spec) for spec in specs)}"
        )
    return enforce_params(specs, given)


def _describe(spec: ParamSpec) -> str:
    return f"{spec.name} ({'list of ' if spec.shape else ''}{spec.type})"


def enforce_params(specs: tuple[ParamSpec, ...] | None, params: object) -> dict[str, Any]:
    """``params`` as the signature's param specs describe them, defaults filled in.

    Without specs the model takes no params and the result is empty, as in MLflow (which
    logs a warning; the caller decides whether to). Names the specs do not have are dropped.
    Every param that does not fit is named in one error, with its type and never its value.

    Examples
    --------
    >>> enforce_params(infer_params({"k": 3, "scale": 1.0}), {"scale": 2})
    {'k': 3, 'scale': 2.0}
    """
    if specs is None:
        return {}
    given = _as_dict(params)
    result: dict[str, Any] = {}
    errors = []
    for spec in specs:
        try:
            result[spec.name] = _value(spec, given.get(spec.name, spec.default))
        except InvalidValueError as exc:
            errors.append(str(exc))
    if errors:
        raise InvalidValueError("; ".join(errors))
    return result


def _as_dict(params: object) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidValueError(
            f"params must be a dict of parameter names to values; got {_type_name(params)}"
        )
    # MLflow takes keys that are not text as their str().
    return {str(name): value for name, value in params.items()}


def _value(spec: ParamSpec, value: Any) -> Any:
    import numpy as np

    if spec.shape is not None:
        if not isinstance(value, list | np.ndarray) or not _flat(value):
            raise InvalidValueError(
                f"param {spec.name!r} takes a list of {spec.type} values (shape (-1,)); "
                f"it is {_type_name(value)}"
            )
        return [_scalar(spec, item, f"param {spec.name!r} holds") for item in value]
    if spec.type == "object":
        if value is not None and not isinstance(value, Mapping):
            raise InvalidValueError(
                f"param {spec.name!r} is {_type_name(value)}; it takes a dict (an object)"
            )
        return value
    return _scalar(spec, value, f"param {spec.name!r} is")


def _flat(value: Any) -> bool:
    import numpy as np

    try:
        return bool(np.ndim(value) == 1)
    except ValueError:  # rows of different lengths
        return False


def _scalar(spec: ParamSpec, value: Any, subject: str) -> Any:
    """One value of ``spec``'s type; ``subject`` ("param 'k' is") begins an error."""
    import numpy as np

    if value is None:  # a missing value, as in MLflow
        return None
    if spec.type == "datetime":
        return _datetime(value, subject)
    if not np.isscalar(value):
        raise InvalidValueError(f"{subject} {_type_name(value)}; it takes one {spec.type} value")
    # The exact type, as MLflow checks it: a bool is not an int, an np.float64 not a float32.
    if type(value) not in _accepted().get(spec.type, ()):
        raise InvalidValueError(f"{subject} {_type_name(value)}, which cannot become {spec.type}")
    if spec.type in ("float", "double") and _beyond_exact(value):
        raise InvalidValueError(
            f"{subject} an int beyond ±2**53, which a {spec.type} cannot hold exactly"
        )
    convert: type = _PYTHON[spec.type]
    return convert(value)


def _beyond_exact(value: object) -> bool:
    import numpy as np

    # (A bool never gets here: it is refused for a number param.)
    return isinstance(value, int | np.integer) and abs(int(value)) > _EXACT_IN_FLOAT


def _datetime(value: Any, subject: str) -> dt.date | None:
    import numpy as np

    refused = InvalidValueError(
        f"{subject} {_type_name(value)} that is not a date or datetime; "
        "give a datetime, a date or ISO 8601 text (to the microsecond)"
    )
    try:
        with warnings.catch_warnings():
            # numpy warns that it drops a time zone offset; MLflow converts such text to UTC too.
            warnings.simplefilter("ignore", UserWarning)
            converted = np.datetime64(value).item()
    except (ValueError, TypeError):
        raise refused from None
    # NaT ("" or "NaT" sent) is a missing value, as in MLflow; an int is a time in nanoseconds,
    # which no datetime holds.
    if converted is not None and not isinstance(converted, dt.date):
        raise refused
    return converted


def _inferred(name: str, value: Any) -> ParamSpec:
    import numpy as np

    if isinstance(value, list | np.ndarray):
        if not _flat(value):
            raise InvalidValueError(f"param {name!r}: a list param must be flat (one dimension)")
        if len(value) and all(_is_datetime(item) for item in value):
            return ParamSpec(name, "datetime", [_iso(item) for item in value], (-1,))
        items = np.asarray(value)
        return ParamSpec(name, _type_of(name, items.dtype), items.tolist(), (-1,))
    if _is_datetime(value):
        return ParamSpec(name, "datetime", _iso(value))
    if np.isscalar(value):
        array = np.asarray(value)
        return ParamSpec(name, _type_of(name, array.dtype), array.item())
    raise InvalidValueError(
        f"param {name!r} is {_type_name(value)}; a param is a string, number, bool, datetime "
        "or a flat list of one of them"
    )


def _type_of(name: str, dtype: Any) -> str:
    # MLflow's _infer_numpy_dtype, for the types a param may have (binary is not one).
    size: int = dtype.itemsize
    if dtype.kind == "b":
        return "boolean"
    if dtype.kind in "iu" and (size < 4 or (dtype.kind == "i" and size == 4)):
        return "integer"
    if dtype.kind in "iu" and (size < 8 or dtype.kind == "i"):
        return "long"
    if dtype.kind == "f":
        return "float" if size <= 4 else "double"
    if dtype.kind == "U":
        return "string"
    raise InvalidValueError(
        f"param {name!r} holds {dtype} values; a param is a string, number, bool or datetime"
    )


def _is_datetime(value: Any) -> bool:
    import numpy as np

    return isinstance(value, dt.date | np.datetime64)


def _iso(value: Any) -> str:
    import numpy as np

    # MLflow keeps datetime defaults as datetime.date/datetime and writes their isoformat().
    converted = np.datetime64(value).item() if isinstance(value, np.datetime64) else value
    text: str = converted.isoformat()
    return text


def _type_name(value: Any) -> str:
    if value is None:
        return "None"
    name = type(value).__name__
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


@cache
def _accepted() -> dict[str, tuple[type, ...]]:
    import numpy as np

    # MLflow's DataType.check_type plus its allowed conversions (int -> long, float, double;
    # long -> float, double; float -> double), by exact type.
    ints: tuple[type, ...] = (int, np.int32)
    longs = (*ints, np.int64)
    return {
        "string": (str, np.str_),
        "boolean": (bool, np.bool_),
        "integer": ints,
        "long": longs,
        "float": (float, np.float32, *longs),
        "double": (float, np.float64, np.float32, *longs),
    }


_PYTHON: dict[str, type] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
}
