"""Input is brought to the signature: names checked, extras dropped, safe conversions only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbtrack.errors import InvalidValueError
from nbtrack.models import ColSpec, Signature, TensorSpec
from nbtrack.models.enforcement import enforce

TABLE = Signature(inputs=(ColSpec("double", "x"), ColSpec("long", "n")))


def test_a_missing_column_is_named() -> None:
    with pytest.raises(
        InvalidValueError, match=r"missing column 'n'; the model takes x \(double\)"
    ):
        enforce(TABLE, pd.DataFrame({"x": [1.0]}))


def test_extra_columns_are_dropped_and_the_rest_put_in_order() -> None:
    result = enforce(TABLE, pd.DataFrame({"extra": ["a"], "n": [1], "x": [1.0]}))
    assert isinstance(result, pd.DataFrame)
    assert list(result.columns) == ["x", "n"]


def test_ints_become_floats_and_narrow_types_widen() -> None:
    data = pd.DataFrame(
        {"x": np.array([1, 2], dtype="int32"), "n": np.array([3, 4], dtype="int32")}
    )
    result = enforce(TABLE, data)
    assert isinstance(result, pd.DataFrame)
    assert result.dtypes.to_dict() == {"x": np.dtype("float64"), "n": np.dtype("int64")}
    assert result["x"].tolist() == [1.0, 2.0]


def test_float32_becomes_float64_and_bools_become_numbers() -> None:
    data = pd.DataFrame({"x": np.array([0.5], dtype="float32"), "n": [True]})
    result = enforce(TABLE, data)
    assert isinstance(result, pd.DataFrame)
    assert result.to_dict("records") == [{"x": 0.5, "n": 1}]


def test_whole_floats_fit_an_integer_column() -> None:
    result = enforce(TABLE, [{"x": 1.0, "n": 3.0}])
    assert isinstance(result, pd.DataFrame)
    assert result["n"].dtype == np.dtype("int64")


def test_a_float_with_a_fraction_is_refused_for_a_long_column_naming_both_types() -> None:
    with pytest.raises(
        InvalidValueError,
        match=r"column 'n' holds float64 values, which cannot become long: 2.5 has a fractional",
    ):
        enforce(TABLE, pd.DataFrame({"x": [1.0], "n": [2.5]}))


def test_text_is_refused_for_a_double_column_naming_both_types() -> None:
    with pytest.raises(
        InvalidValueError, match="column 'x' holds str values, which cannot become double"
    ):
        enforce(TABLE, pd.DataFrame({"x": ["1.0"], "n": [1]}))


def test_missing_values_are_refused_for_a_long_column_and_kept_for_a_double_one() -> None:
    result = enforce(TABLE, [{"x": None, "n": 1}])
    assert isinstance(result, pd.DataFrame)
    assert np.isnan(result["x"][0])
    with pytest.raises(InvalidValueError, match=r"column 'n' .* missing"):
        enforce(TABLE, [{"x": 1.0, "n": None}])


def test_records_and_column_dicts_are_accepted() -> None:
    from_records = enforce(TABLE, [{"x": 1, "n": 2}])
    from_columns = enforce(TABLE, {"x": [1], "n": [2]})
    assert isinstance(from_records, pd.DataFrame) and isinstance(from_columns, pd.DataFrame)
    pd.testing.assert_frame_equal(from_records, from_columns)


def test_an_optional_column_may_be_missing() -> None:
    signature = Signature(inputs=(ColSpec("double", "x"), ColSpec("long", "n", required=False)))
    result = enforce(signature, [{"x": 1.0}])
    assert isinstance(result, pd.DataFrame)
    assert list(result.columns) == ["x"]


def test_iso_dates_become_datetimes() -> None:
    signature = Signature(inputs=(ColSpec("datetime", "t"),))
    result = enforce(signature, [{"t": "2024-05-01T10:00:00"}])
    assert isinstance(result, pd.DataFrame)
    assert result["t"][0] == pd.Timestamp("2024-05-01 10:00:00")


def test_a_tensor_is_checked_for_shape_and_converted_safely() -> None:
    signature = Signature(inputs=(TensorSpec("float64", (-1, 2)),))
    result = enforce(signature, [[1, 2], [3, 4]])
    assert isinstance(result, np.ndarray)
    assert result.dtype == np.dtype("float64")
    with pytest.raises(InvalidValueError, match=r"shape \(1, 3\); the model takes shape \(-1, 2\)"):
        enforce(signature, [[1.0, 2.0, 3.0]])


def test_without_a_signature_input_passes_unchanged() -> None:
    frame = pd.DataFrame({"anything": ["goes"]})
    assert enforce(None, frame) is frame
