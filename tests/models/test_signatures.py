"""Signatures are inferred from examples and read and written in MLflow's MLmodel format."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from nbtrack.errors import InvalidValueError
from nbtrack.models import ColSpec, Signature, TensorSpec, infer_signature
from nbtrack.models.signatures import as_signature


def test_dataframe_columns_get_mlflow_type_names() -> None:
    frame = pd.DataFrame(
        {
            "double": np.array([1.5], dtype="float64"),
            "float": np.array([1.5], dtype="float32"),
            "long": np.array([1], dtype="int64"),
            "integer": np.array([1], dtype="int32"),
            "boolean": [True],
            "string": ["a"],
            "object_string": pd.Series(["a"], dtype=object),
            "binary": [b"\x00"],
            "datetime": [dt.datetime(2024, 1, 1)],
        }
    )
    inputs = infer_signature(frame).inputs
    assert inputs is not None
    assert {spec.name: spec.type for spec in inputs if isinstance(spec, ColSpec)} == {
        "double": "double",
        "float": "float",
        "long": "long",
        "integer": "integer",
        "boolean": "boolean",
        "string": "string",
        "object_string": "string",
        "binary": "binary",
        "datetime": "datetime",
    }


def test_a_numpy_array_is_a_tensor_with_any_number_of_rows() -> None:
    signature = infer_signature(np.zeros((3, 4)), np.array([0, 1, 1]))
    assert signature.inputs == (TensorSpec("float64", (-1, 4)),)
    assert signature.outputs == (TensorSpec("int64", (-1,)),)


def test_records_are_read_as_a_table() -> None:
    signature = infer_signature([{"x": 1.0, "s": "a"}, {"x": 2.0, "s": "b"}])
    assert signature.inputs == (ColSpec("double", "x"), ColSpec("string", "s"))
    assert signature.outputs is None


def test_a_named_series_output_is_one_named_column() -> None:
    signature = infer_signature(pd.DataFrame({"x": [1.0]}), pd.Series([0.5], name="score"))
    assert signature.outputs == (ColSpec("double", "score"),)


def test_a_column_of_mixed_values_is_refused_naming_it() -> None:
    with pytest.raises(InvalidValueError, match="column 'bad' holds mixed-integer values"):
        infer_signature(pd.DataFrame({"bad": pd.Series([1, "a"], dtype=object)}))


def test_to_mlmodel_writes_mlflows_json_strings() -> None:
    signature = Signature(
        inputs=(ColSpec("double", "x"), ColSpec("long", "n", required=False)),
        outputs=(TensorSpec("int64", (-1,)),),
    )
    assert signature.to_mlmodel() == {
        "inputs": '[{"type": "double", "name": "x", "required": true}, '
        '{"type": "long", "name": "n", "required": false}]',
        "outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
        "params": None,
    }
    assert Signature.from_mlmodel(signature.to_mlmodel()) == signature


def test_from_mlmodel_reads_what_mlflow_writes() -> None:
    entry = {
        "inputs": '[{"type": "string", "name": "s"}, {"type": "array", "items": '
        '{"type": "double"}, "name": "v", "required": true}]',
        "outputs": '[{"type": "long", "required": true}]',
        "params": None,
    }
    signature = Signature.from_mlmodel(entry)
    assert signature.inputs == (ColSpec("string", "s"), ColSpec("array", "v"))
    assert signature.outputs == (ColSpec("long"),)


def test_an_unreadable_signature_says_so() -> None:
    with pytest.raises(InvalidValueError, match=r"signature .* cannot be read"):
        Signature.from_mlmodel({"inputs": "[{'type': 1}"})


def test_a_signature_is_taken_as_mlmodel_writes_it_or_refused() -> None:
    signature = Signature(inputs=(ColSpec("double", "x"),))
    assert as_signature(signature) is signature
    assert as_signature(signature.to_mlmodel()) == signature
    with pytest.raises(
        InvalidValueError, match="signature 'x' is a str; give an nbtrack Signature"
    ):
        as_signature("x")
