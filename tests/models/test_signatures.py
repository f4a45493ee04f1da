"""Signatures are inferred from examples and read and written in MLflow's MLmodel format."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from nbtrack.errors import InvalidValueError
from nbtrack.models import ColSpec, Signature, TensorSpec, infer_signature
from nbtrack.models.params import ParamSpec
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
    array = ColSpec("array", "v", detail={"items": {"type": "double"}})
    assert signature.inputs == (ColSpec("string", "s"), array)
    assert signature.outputs == (ColSpec("long"),)
    # Written back, a nested type keeps what MLflow wrote beside it.
    assert signature.to_mlmodel()["inputs"] == (
        '[{"type": "string", "name": "s", "required": true}, {"type": "array", "items": '
        '{"type": "double"}, "name": "v", "required": true}]'
    )


def test_params_are_read_and_written_as_mlflow_writes_them() -> None:
    params = (
        '[{"name": "k", "default": 3, "shape": null, "type": "long"}, '
        '{"name": "when", "default": "2023-06-26T00:00:00", "shape": null, "type": "datetime"}, '
        '{"name": "labels", "default": ["a", "b"], "shape": [-1], "type": "string"}]'
    )
    signature = Signature.from_mlmodel({"inputs": None, "outputs": None, "params": params})
    assert signature.params == (
        ParamSpec("k", "long", 3),
        ParamSpec("when", "datetime", "2023-06-26T00:00:00"),
        ParamSpec("labels", "string", ["a", "b"], (-1,)),
    )
    assert signature.to_mlmodel()["params"] == params


def test_params_are_inferred_from_their_default_values() -> None:
    signature = infer_signature(
        pd.DataFrame({"x": [1.0]}),
        params={"k": 3, "scale": np.float32(0.5), "when": dt.date(2024, 1, 2), "on": [True]},
    )
    assert signature.params == (
        ParamSpec("k", "long", 3),
        ParamSpec("scale", "float", 0.5),
        ParamSpec("when", "datetime", "2024-01-02"),
        ParamSpec("on", "boolean", [True], (-1,)),
    )
    with pytest.raises(InvalidValueError, match="param 'bad' is a dict"):
        infer_signature(pd.DataFrame({"x": [1.0]}), params={"bad": {"a": 1}})


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ('[{"type": "double", "name": "x"}, {"type": "double"}]', "some specs are named"),
        (
            '[{"type": "double", "name": "x"}, {"type": "tensor", "name": "t", '
            '"tensor-spec": {"dtype": "float64", "shape": [-1]}}]',
            "it mixes columns and tensors",
        ),
        (
            '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}, '
            '{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]',
            "several tensors must each be named",
        ),
        ('[{"type": "double", "required": false}]', "an unnamed column cannot be optional"),
        ("[]", "it has no specs"),
        ('[{"type": "decimal", "name": "x"}]', "'decimal' is not an MLflow column type"),
    ],
)
def test_a_signature_mlflow_would_refuse_is_refused(inputs: str, problem: str) -> None:
    with pytest.raises(InvalidValueError, match=problem):
        Signature.from_mlmodel({"inputs": inputs, "outputs": None})


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
