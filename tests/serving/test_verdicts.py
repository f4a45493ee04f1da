"""The signature's verdicts as the server words them, including forms it does not know."""

from __future__ import annotations

import pytest

from nbtrack.models.signatures import ColSpec, Signature, TensorSpec
from nbtrack.serving.verdicts import verdict, verdict_code

COLUMNS = Signature(inputs=(ColSpec("long", "n"), ColSpec("double", "x")))
TENSOR = Signature(inputs=(TensorSpec("int64", (-1, 2)),))
GENERAL = "the input does not fit the model's signature; the model takes n (long), x (double)"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "column 'n' holds float64 values, which cannot become long: 2.5 has a fractional part",
            "column 'n' holds float64 values, which cannot become long: some have a fractional "
            "part",
        ),
        (
            "column 'x' holds <U12 values, which cannot become double",
            "column 'x' holds str values, which cannot become double",
        ),
        (
            "input is missing column 'x'; the model takes n (long), x (double)",
            "input is missing column 'x'; the model takes n (long), x (double)",
        ),
        (
            "input is an array of shape (1, 3); the model takes 2 columns (n, x): give a "
            "DataFrame or records with those names",
            "input is an array of shape (1, 3); the model takes 2 columns (n, x): give a "
            "DataFrame or records with those names",
        ),
        # A reason of an unknown form is left out; the column and the types stay.
        (
            "column 'n' holds float64 values, which cannot become long: SECRET is odd",
            "column 'n' holds float64 values, which cannot become long",
        ),
    ],
)
def test_known_forms_keep_columns_and_types(message: str, expected: str) -> None:
    assert verdict(message, COLUMNS) == expected


@pytest.mark.parametrize(
    "message",
    [
        "column 'SECRET' holds float64 values, which cannot become long",
        "input is missing column 'SECRET'; the model takes n (long), x (double)",
        "input is an array of shape (1, 3); the model takes 2 columns (SECRET, x): give a "
        "DataFrame or records with those names",
        "column 'n' holds SECRET values that are not ISO 8601 dates; the model expects datetime",
        "the value SECRET is wrong",
    ],
)
def test_anything_else_becomes_what_the_model_takes(message: str) -> None:
    assert verdict(message, COLUMNS) == GENERAL


def test_without_a_signature_the_metadata_endpoint_is_named() -> None:
    assert verdict("input is str ('SECRET'); give a pandas DataFrame", None) == (
        "the input cannot be read as a table or an array; GET /metadata describes the model"
    )
    assert verdict("input cannot be read as a table or an array: SECRET", TENSOR) == (
        "the input cannot be read as a table or an array; the model takes an array of int64, "
        "shape (-1, 2)"
    )


@pytest.mark.parametrize(
    ("message", "code"),
    [
        # A value that does not convert: MLflow's reader refuses it (BAD_REQUEST).
        ("column 'n' holds float64 values, which cannot become long: 2.5 has a fractional part",
         ("BAD_REQUEST", None)),
        ("column 'w' holds str values that are not ISO 8601 dates; the model expects datetime",
         ("BAD_REQUEST", None)),
        ("input cannot be read as a table or an array: ragged", ("BAD_REQUEST", None)),
        # What MLflow's schema enforcement refuses after reading: INVALID_PARAMETER_VALUE.
        ("input is missing column 'x'; the model takes n (long), x (double)",
         ("INVALID_PARAMETER_VALUE", "SCHEMA_ENFORCEMENT_FAILED")),
        ("input has shape (1, 3); the model takes shape (-1, 2) (-1: any length)",
         ("INVALID_PARAMETER_VALUE", "SCHEMA_ENFORCEMENT_FAILED")),
    ],
)  # fmt: skip
def test_each_verdict_carries_mlflows_error_code_for_it(
    message: str, code: tuple[str, str | None]
) -> None:
    assert verdict_code(message) == code
