"""Input is brought to the signature: names checked, extras dropped, safe conversions only."""

from __future__ import annotations

import datetime as dt

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
        match=r"column 'n' holds float64 values, which cannot become long: at least one has a "
        "fractional part",
    ) as refused:
        enforce(TABLE, pd.DataFrame({"x": [1.0], "n": [2.5]}))
    assert "2.5" not in str(refused.value)  # the value is the caller's data, never repeated


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
    assert result["t"].dtype == np.dtype("datetime64[ns]")


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(np.array(["2024-05-01T10:00:00.123456"], dtype="datetime64[us]")),
        pd.Series(np.array(["2024-05-01"], dtype="datetime64[D]")),
        pd.Series([dt.date(2024, 5, 1)]),
        pd.Series([None], dtype=object),
    ],
    ids=["microseconds", "days", "dates", "missing"],
)
def test_datetimes_of_any_resolution_become_nanoseconds_as_mlflow_gives_them(
    column: pd.Series,
) -> None:
    result = enforce(Signature(inputs=(ColSpec("datetime", "t"),)), pd.DataFrame({"t": column}))
    assert isinstance(result, pd.DataFrame)
    assert result["t"].dtype == np.dtype("datetime64[ns]")


def test_a_time_zone_is_refused_rather_than_dropped() -> None:
    signature = Signature(inputs=(ColSpec("datetime", "t"),))
    with pytest.raises(InvalidValueError, match="the model takes datetimes without a time zone"):
        enforce(signature, pd.DataFrame({"t": [pd.Timestamp("2024-01-01", tz="UTC")]}))
    with pytest.raises(InvalidValueError, match="without a time zone"):
        enforce(signature, [{"t": "2024-05-01T10:00:00+02:00"}])


def test_a_float64_becomes_float32_only_when_it_holds_the_same_number() -> None:
    signature = Signature(inputs=(ColSpec("float", "x"),))
    exact = enforce(signature, pd.DataFrame({"x": [0.5, 2.0, np.nan]}))
    assert isinstance(exact, pd.DataFrame)
    assert exact["x"].dtype == np.dtype("float32")
    with pytest.raises(
        InvalidValueError,
        match="column 'x' holds float64 values, which cannot become float: no conversion from "
        "float64 to float32 keeps every value",
    ):
        enforce(signature, pd.DataFrame({"x": [0.1]}))


def test_a_float64_tensor_is_not_rounded_to_float32_either() -> None:
    signature = Signature(inputs=(TensorSpec("float32", (-1, 2)),))
    result = enforce(signature, np.array([[0.5, 1.0]]))
    assert isinstance(result, np.ndarray) and result.dtype == np.dtype("float32")
    with pytest.raises(InvalidValueError, match="input holds float64 values, which cannot become"):
        enforce(signature, [[0.1, 0.2]])


def test_a_float_beyond_int64_is_refused_not_wrapped() -> None:
    with pytest.raises(InvalidValueError, match="they do not fit in int64"):
        enforce(TABLE, pd.DataFrame({"x": [1.0], "n": [2.0**63]}))


def test_rows_keep_each_columns_own_type() -> None:
    signature = Signature(inputs=(ColSpec("double", "x"), ColSpec("string", "s")))
    result = enforce(signature, [[1.5, "a"], [2.0, "b"]])
    assert isinstance(result, pd.DataFrame)
    assert result.to_dict("list") == {"x": [1.5, 2.0], "s": ["a", "b"]}
    with pytest.raises(InvalidValueError, match="its rows have different lengths"):
        enforce(signature, [[1.5, "a"], [2.0]])


UNNAMED = Signature(inputs=(ColSpec("double"), ColSpec("long")))


def test_unnamed_columns_are_checked_by_position() -> None:
    result = enforce(UNNAMED, [[1, 2, "extra"]])
    assert isinstance(result, pd.DataFrame)
    assert result.dtypes.tolist() == [np.dtype("float64"), np.dtype("int64")]
    assert list(result.columns) == [0, 1]


def test_unnamed_columns_refuse_too_few_columns_and_wrong_types() -> None:
    with pytest.raises(
        InvalidValueError, match=r"input has 1 columns; the model takes 2, in order"
    ):
        enforce(UNNAMED, [[1.0]])
    with pytest.raises(
        InvalidValueError, match="input column 1 holds float64 values, which cannot become long"
    ):
        enforce(UNNAMED, pd.DataFrame({"a": [1.0], "b": [2.5]}))


def test_named_tensors_become_a_dict_of_arrays() -> None:
    signature = Signature(
        inputs=(TensorSpec("float32", (-1, 2), "image"), TensorSpec("int64", (-1,), "label"))
    )
    result = enforce(signature, {"image": [[1.0, 2.0]], "label": np.array([3]), "other": 1})
    assert isinstance(result, dict)
    assert set(result) == {"image", "label"}
    assert result["image"].dtype == np.dtype("float32")
    with pytest.raises(InvalidValueError, match="input is missing array 'label'"):
        enforce(signature, {"image": [[1.0, 2.0]]})


def test_an_unnamed_tensor_refuses_named_columns() -> None:
    signature = Signature(inputs=(TensorSpec("float64", (-1, 2)),))
    with pytest.raises(InvalidValueError, match="input is named columns; the model takes one"):
        enforce(signature, {"a": [1.0], "b": [2.0]})


def test_a_text_tensor_takes_text_of_any_length_and_nothing_else() -> None:
    signature = Signature(inputs=(TensorSpec("str", (-1,)),))
    result = enforce(signature, np.array(["a", "bcd"]))
    assert isinstance(result, np.ndarray)
    with pytest.raises(InvalidValueError, match="input holds int64 values, which cannot become"):
        enforce(signature, np.array([1, 2]))


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
