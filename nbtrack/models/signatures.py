"""Model signatures: the columns (or tensors) a model takes and returns, in MLflow's format.

In MLmodel a signature is ``inputs``, ``outputs`` and ``params``, each a JSON string::

    inputs: '[{"type": "double", "name": "x", "required": true}]'
    outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
    params: '[{"name": "k", "default": 3, "shape": null, "type": "long"}]'

The rules of MLflow's ``Schema`` hold: columns or tensors, not both; every spec named or none;
one unnamed tensor at most; an unnamed column is required.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbtrack.errors import InvalidValueError
from nbtrack.models.inputs import as_model_input
from nbtrack.models.params import ParamSpec, dumps_params, infer_params, loads_params

if TYPE_CHECKING:
    import pandas as pd

# MLflow's names for column types.
COLUMN_TYPES = ("boolean", "integer", "long", "float", "double", "string", "binary", "datetime")
# MLflow's nested column types: read and written back as they are, not checked.
NESTED_TYPES = ("array", "object", "map", "any", "sparkml_vector")
_COLSPEC_KEYS = ("type", "name", "required")


@dataclass(frozen=True)
class ColSpec:
    """One column: its MLflow type name (``double``, ``long``, ``string``, ...) and name.

    ``detail`` holds what MLflow writes beside a nested type (``items`` of an ``array``,
    ``properties`` of an ``object``, ...), kept so that MLmodel is written back unchanged.
    """

    type: str
    name: str | None = None
    required: bool = True
    detail: Mapping[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class TensorSpec:
    """An array: numpy dtype name and shape, ``-1`` where any length goes (the batch)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None


Spec = ColSpec | TensorSpec


@dataclass(frozen=True)
class Signature:
    """What a model takes (``inputs``), returns (``outputs``) and its inference ``params``.

    Any of them may be unknown (None).
    """

    inputs: tuple[Spec, ...] | None = None
    outputs: tuple[Spec, ...] | None = None
    params: tuple[ParamSpec, ...] | None = None

    def __post_init__(self) -> None:
        for what, specs in (("inputs", self.inputs), ("outputs", self.outputs)):
            if specs is not None:
                _check_schema(what, specs)

    def to_mlmodel(self) -> dict[str, str | None]:
        """The ``signature`` entry of MLmodel."""
        return {
            "inputs": _dumps(self.inputs),
            "outputs": _dumps(self.outputs),
            "params": dumps_params(self.params),
        }

    @classmethod
    def from_mlmodel(cls, entry: Mapping[str, Any]) -> Signature:
        """Read the ``signature`` entry of an MLmodel (nbtrack's or MLflow's)."""
        return cls(
            inputs=_loads(entry.get("inputs")),
            outputs=_loads(entry.get("outputs")),
            params=loads_params(entry.get("params")),
        )


def as_signature(value: object) -> Signature:
    """A ``Signature`` from itself, MLmodel's ``signature`` entry, or MLflow's ModelSignature."""
    if isinstance(value, Signature):
        return value
    # MLflow's ModelSignature.to_dict() is the MLmodel entry.
    to_dict = getattr(value, "to_dict", None)
    entry = to_dict() if callable(to_dict) else value
    if isinstance(entry, Mapping) and {"inputs", "outputs", "params"} & set(entry):
        return Signature.from_mlmodel(entry)
    raise InvalidValueError(
        f"signature {value!r:.60} is a {type(value).__name__}; give an nbtrack Signature "
        "(see infer_signature), MLflow's ModelSignature or a dict with inputs and outputs"
    )


def infer_signature(
    input_example: object, output: object = None, params: Mapping[str, Any] | None = None
) -> Signature:
    """The signature that ``input_example``, the model's ``output`` on it and ``params`` show.

    ``params`` are the inference parameters with their default values, as for MLflow's
    ``infer_signature``.

    Examples
    --------
    >>> infer_signature(pd.DataFrame({"x": [1.0]}), np.array([0])).inputs
    (ColSpec(type='double', name='x', required=True),)
    """
    outputs = None if output is None else _schema(output, "output")
    return Signature(
        inputs=_schema(input_example, "input_example"),
        outputs=outputs,
        params=None if params is None else infer_params(params),
    )


def _schema(data: object, what: str) -> tuple[Spec, ...]:
    import pandas as pd

    if isinstance(data, pd.Series):
        name = data.name if isinstance(data.name, str) else None
        return (ColSpec(_column_type(data, name or what), name),)
    table = as_model_input(data, what)
    if isinstance(table, pd.DataFrame):
        for column in table.columns:
            if not isinstance(column, str):
                raise InvalidValueError(
                    f"{what}: column names must be strings to be matched at prediction; "
                    f"{column!r} is a {type(column).__name__}"
                )
        return tuple(ColSpec(_column_type(table[name], name), name) for name in table.columns)
    return (TensorSpec(table.dtype.name, (-1, *table.shape[1:])),)


def _column_type(column: pd.Series[Any], name: str) -> str:
    from pandas.api import types

    dtype = column.dtype
    # Nullable extension types (Int32, Float64) have an itemsize too; the rest are 8 wide.
    size: int = getattr(dtype, "itemsize", 8)
    if types.is_bool_dtype(dtype):
        return "boolean"
    if types.is_integer_dtype(dtype):
        small = size < 4 or (size == 4 and types.is_signed_integer_dtype(dtype))
        return "integer" if small else "long"
    if types.is_float_dtype(dtype):
        return "float" if size <= 4 else "double"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    inferred = types.infer_dtype(column, skipna=True)
    by_values = {"string": "string", "bytes": "binary", "boolean": "boolean", "integer": "long"}
    by_values |= {"floating": "double", "mixed-integer-float": "double", "datetime": "datetime"}
    if inferred in by_values:
        return by_values[inferred]
    raise InvalidValueError(
        f"column {name!r} holds {inferred} values, which have no MLflow column type; "
        f"give one of {', '.join(COLUMN_TYPES)} (strings, numbers, booleans, bytes or datetimes)"
    )


def _check_schema(what: str, specs: tuple[Spec, ...]) -> None:
    named = [spec.name is not None for spec in specs]
    tensors = [isinstance(spec, TensorSpec) for spec in specs]
    problem: str | None = None
    if not specs:
        problem = "it has no specs"
    elif any(named) and not all(named):
        problem = "some specs are named and some are not; name all of them or none"
    elif any(tensors) and not all(tensors):
        problem = "it mixes columns and tensors; use one kind"
    elif all(tensors) and len(specs) > 1 and not all(named):
        problem = "several tensors must each be named"
    elif not any(named) and any(isinstance(s, ColSpec) and not s.required for s in specs):
        problem = "an unnamed column cannot be optional"
    if problem is not None:
        raise InvalidValueError(f"signature {what}: {problem} (as in MLflow's Schema)")


def _dumps(specs: tuple[Spec, ...] | None) -> str | None:
    if specs is None:
        return None
    return json.dumps([_spec_json(spec) for spec in specs])


def _spec_json(spec: Spec) -> dict[str, Any]:
    if isinstance(spec, TensorSpec):
        shaped = {"type": "tensor", "tensor-spec": {"dtype": spec.dtype, "shape": list(spec.shape)}}
        return shaped if spec.name is None else {"name": spec.name, **shaped}
    typed = {"type": spec.type, **(spec.detail or {})}
    named = typed if spec.name is None else {**typed, "name": spec.name}
    return {**named, "required": spec.required}


def _loads(text: object) -> tuple[Spec, ...] | None:
    if text is None:
        return None
    try:
        items = json.loads(text) if isinstance(text, str) else None
        if not isinstance(items, list):
            raise TypeError("not a list of specs")
        return tuple(_spec(item) for item in items)
    except (TypeError, KeyError, ValueError) as exc:
        raise InvalidValueError(f"MLmodel signature {text!r:.80} cannot be read: {exc}") from None


def _spec(item: Mapping[str, Any]) -> Spec:
    if item["type"] == "tensor":
        tensor = item["tensor-spec"]
        return TensorSpec(
            str(tensor["dtype"]), tuple(int(n) for n in tensor["shape"]), item.get("name")
        )
    kind = str(item["type"])
    if kind not in COLUMN_TYPES and kind not in NESTED_TYPES:
        raise ValueError(f"{kind!r} is not an MLflow column type")
    detail = {key: value for key, value in item.items() if key not in _COLSPEC_KEYS}
    return ColSpec(kind, item.get("name"), bool(item.get("required", True)), detail or None)
