"""Model signatures: the columns (or tensor) a model takes and returns, in MLflow's format.

In MLmodel a signature is ``inputs`` and ``outputs``, each a JSON string of specs::

    inputs: '[{"type": "double", "name": "x", "required": true}]'
    outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbtrack.errors import InvalidValueError
from nbtrack.models.inputs import as_model_input

if TYPE_CHECKING:
    import pandas as pd

# MLflow's names for column types.
COLUMN_TYPES = ("boolean", "integer", "long", "float", "double", "string", "binary", "datetime")


@dataclass(frozen=True)
class ColSpec:
    """One column: its MLflow type name (``double``, ``long``, ``string``, ...) and name."""

    type: str
    name: str | None = None
    required: bool = True


@dataclass(frozen=True)
class TensorSpec:
    """An array: numpy dtype name and shape, ``-1`` where any length goes (the batch)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None


Spec = ColSpec | TensorSpec


@dataclass(frozen=True)
class Signature:
    """What a model takes (``inputs``) and returns (``outputs``); either may be unknown."""

    inputs: tuple[Spec, ...] | None = None
    outputs: tuple[Spec, ...] | None = None

    def to_mlmodel(self) -> dict[str, str | None]:
        """The ``signature`` entry of MLmodel."""
        return {"inputs": _dumps(self.inputs), "outputs": _dumps(self.outputs), "params": None}

    @classmethod
    def from_mlmodel(cls, entry: Mapping[str, Any]) -> Signature:
        """Read the ``signature`` entry of an MLmodel (nbtrack's or MLflow's)."""
        return cls(inputs=_loads(entry.get("inputs")), outputs=_loads(entry.get("outputs")))


def as_signature(value: object) -> Signature:
    """A ``Signature`` from itself, MLmodel's ``signature`` entry, or MLflow's ModelSignature."""
    if isinstance(value, Signature):
        return value
    # MLflow's ModelSignature.to_dict() is the MLmodel entry.
    to_dict = getattr(value, "to_dict", None)
    entry = to_dict() if callable(to_dict) else value
    if isinstance(entry, Mapping) and {"inputs", "outputs"} & set(entry):
        return Signature.from_mlmodel(entry)
    raise InvalidValueError(
        f"signature {value!r:.60} is a {type(value).__name__}; give an nbtrack Signature "
        "(see infer_signature), MLflow's ModelSignature or a dict with inputs and outputs"
    )


def infer_signature(input_example: object, output: object = None) -> Signature:
    """The signature that ``input_example`` and the model's ``output`` on it show.

    Examples
    --------
    >>> infer_signature(pd.DataFrame({"x": [1.0]}), np.array([0])).inputs
    (ColSpec(type='double', name='x', required=True),)
    """
    outputs = None if output is None else _schema(output, "output")
    return Signature(inputs=_schema(input_example, "input_example"), outputs=outputs)


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


def _dumps(specs: tuple[Spec, ...] | None) -> str | None:
    if specs is None:
        return None
    return json.dumps([_spec_json(spec) for spec in specs])


def _spec_json(spec: Spec) -> dict[str, Any]:
    if isinstance(spec, TensorSpec):
        shaped = {"type": "tensor", "tensor-spec": {"dtype": spec.dtype, "shape": list(spec.shape)}}
        return shaped if spec.name is None else {"name": spec.name, **shaped}
    named = {"type": spec.type} if spec.name is None else {"type": spec.type, "name": spec.name}
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
    # MLflow's nested types (array, object, map, any) are kept by name and not enforced.
    return ColSpec(str(item["type"]), item.get("name"), bool(item.get("required", True)))
