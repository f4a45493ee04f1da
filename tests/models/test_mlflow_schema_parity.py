"""MLflow's own schema-enforcement tests, run on nbtrack and on MLflow side by side.

Each case comes from MLflow's ``tests/pyfunc/test_pyfunc_schema_enforcement.py`` (the MLflow
test it comes from starts its id) or from issue 18. It gives both the same MLmodel signature
and the same input: ``nbtrack.models.enforcement.enforce`` against
``mlflow.models.utils._enforce_schema`` (what MLflow's ``PyFuncModel.predict`` runs), and
``enforce_params`` against ``_enforce_params_schema``. Both must refuse, or both accept with
equal values and dtypes. A case where nbtrack differs on purpose says how and why (the
README's "nbtrack and MLflow" gives the reasons); one where it still differs says so.
``test_the_tally_is_the_one_reported`` keeps the counts in step with the report.

Not ported: MLflow's scoring-server tests (the request protocol, ported with the server's
tests), ``ParamSpec`` construction (MLflow's Python classes), logging with an
``(input_example, params)`` tuple and tracing, which nbtrack does not have.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nbtrack.errors import InvalidValueError
from nbtrack.models.enforcement import enforce
from nbtrack.models.params import enforce_params
from nbtrack.models.signatures import Signature


@dataclass(frozen=True)
class Differs:
    """nbtrack ``accepts``, ``refuses`` or ``reads`` (accepts, as other values) on purpose."""

    nbtrack: str
    why: str


@dataclass(frozen=True)
class Still:
    """A difference not fixed yet: what nbtrack does, and why it is left."""

    nbtrack: str
    why: str


Expected = Differs | Still | None


@dataclass(frozen=True)
class Case:
    inputs: list[dict[str, Any]]
    data: Callable[[], object]
    expected: Expected = None


@dataclass(frozen=True)
class ParamsCase:
    params_schema: list[dict[str, Any]] | None
    params: Callable[[], object]
    expected: Expected = None


# The reasons, as the README words them.
BY_VALUE = "nbtrack converts by value when nothing is lost; MLflow's predict refuses by dtype"
ROWS = "rows without names of the signature's width are its columns, in order"
LISTS = "a list is an array (as JSON sends one); MLflow's predict wants a numpy array"
TEXT = "a string or binary column takes text or bytes only; MLflow lets any object through"
COLUMNS = "a dict of lists is columns; MLflow reads a dict whose lists hold text as one row"
ISO = "ISO 8601 text becomes a datetime (JSON has no datetime); MLflow's predict refuses it"
PRECISION = "a value a double holds only approximately is refused, never rounded"
NESTED = "nbtrack reads nested types (array, object, map) but does not check their values"


def col(kind: str, name: str | None = None, required: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": kind, "required": required}
    return spec if name is None else {**spec, "name": name}


def tensor(dtype: str, shape: tuple[int, ...], name: str | None = None) -> dict[str, Any]:
    spec = {"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": list(shape)}}
    return spec if name is None else {"name": name, **spec}


def entry(inputs: list[dict[str, Any]], params: list[dict[str, Any]] | None = None) -> dict:
    """The MLmodel ``signature`` entry both sides read."""
    dumped = None if params is None else json.dumps(params)
    return {"inputs": json.dumps(inputs), "outputs": None, "params": dumped}


# -- test_column_schema_enforcement -------------------------------------------------------------

ALL_TYPES = [
    col("integer", "a"),
    col("long", "b"),
    col("float", "c"),
    col("double", "d"),
    col("boolean", "e"),
    col("string", "g"),
    col("binary", "f"),
    col("datetime", "h"),
]


def all_types(extra: bool = True, **changes: Any) -> Callable[[], pd.DataFrame]:
    """MLflow's frame for every column type (b=1, d=2, a=3, c=4), with columns changed."""

    def make() -> pd.DataFrame:
        row = [1, 2, 3, 4, True, "x", bytes([1]), "2021-01-01 00:00:00.1234567"]
        names = ["b", "d", "a", "c", "e", "g", "f", "h"]
        frame = pd.DataFrame(data=[row], columns=names, dtype=object)
        dtypes = {"a": np.int32, "b": np.int64, "c": np.float32, "d": np.float64}
        frame = frame.astype(dtypes | {"h": np.dtype("datetime64[ns]")})
        if extra:
            frame["x"] = 1
        for name, change in changes.items():
            frame[name] = change(frame[name]) if callable(change) else change
        return frame

    return make


def astype(dtype: Any) -> Callable[[pd.Series], pd.Series]:
    return lambda column: column.astype(dtype)


def signature_wide_array() -> np.ndarray:
    return all_types(extra=False)()[list("abcdegfh")].to_numpy()


def three_values() -> dict[str, Any]:
    arr = np.array([1, 2, 3])
    return {
        "a": arr.astype("int32"),
        "b": arr.astype("int64"),
        "c": arr.astype("float32"),
        "d": arr.astype("float64"),
        "e": [True, False, True],
        "g": ["a", "b", "c"],
        "f": [bytes(0), bytes(1), bytes(1)],
        "h": np.array(["2020-01-01", "2020-02-02", "2020-03-03"], dtype=np.datetime64),
        "i": np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
        "j": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
    }


def lists_of_three() -> dict[str, Any]:
    arr = np.array([1, 2, 3])
    dates = np.array(["2020-01-01", "2020-02-02", "2020-03-03"], dtype=np.datetime64)
    return {
        "a": [arr.astype("int32")],
        "b": [arr.astype("int64")],
        "c": [arr.astype("float32")],
        "d": [arr.astype("float64")],
        "e": [[True, False, True]],
        "g": np.array([["a", "b", "c"]]),
        "f": [[bytes(0), bytes(1), bytes(1)]],
        "h": [dates],
    }


COLUMN_CASES = {
    "column_schema: a required column missing": Case(
        ALL_TYPES, lambda: all_types(extra=False)()[["b", "d", "a", "e", "g", "f", "h"]]
    ),
    "column_schema: an extra column dropped, the rest put in order": Case(ALL_TYPES, all_types()),
    "column_schema: long for integer": Case(
        ALL_TYPES, all_types(a=astype(np.int64)), Differs("accepts", BY_VALUE)
    ),
    "column_schema: integer for long": Case(ALL_TYPES, all_types(b=astype(np.int32))),
    "column_schema: uint32 for long": Case(ALL_TYPES, all_types(b=astype(np.uint32))),
    "column_schema: uint32 for integer": Case(
        ALL_TYPES, all_types(a=astype(np.uint32)), Differs("accepts", BY_VALUE)
    ),
    "column_schema: double for float": Case(
        ALL_TYPES, all_types(c=astype(np.float64)), Differs("accepts", BY_VALUE)
    ),
    "column_schema: float for double": Case(ALL_TYPES, all_types(d=astype(np.float32))),
    "column_schema: integer for float": Case(
        ALL_TYPES, all_types(c=astype(np.int32)), Differs("accepts", BY_VALUE)
    ),
    "column_schema: integer for double": Case(ALL_TYPES, all_types(d=astype(np.int32))),
    "column_schema: long for double": Case(
        ALL_TYPES, all_types(d=astype(np.int64)), Differs("accepts", BY_VALUE)
    ),
    "column_schema: float for integer": Case(
        ALL_TYPES, all_types(a=astype(np.float32)), Differs("accepts", BY_VALUE)
    ),
    "column_schema: double for integer": Case(
        ALL_TYPES, all_types(a=astype(np.float64)), Differs("accepts", BY_VALUE)
    ),
    "column_schema: double for long": Case(
        ALL_TYPES, all_types(b=astype(np.float64)), Differs("accepts", BY_VALUE)
    ),
    "column_schema: object columns": Case(
        ALL_TYPES, all_types(**{name: astype(object) for name in "bdefg"})
    ),
    "column_schema: datetime64[D] becomes ns": Case(
        ALL_TYPES, all_types(h=lambda column: column.values.astype("datetime64[D]"))
    ),
    "column_schema: datetime64[s] becomes ns": Case(
        ALL_TYPES, all_types(h=astype("datetime64[s]"))
    ),
    "column_schema: an array of another width": Case(ALL_TYPES, lambda: all_types()().to_numpy()),
    "column_schema: an array of the signature's width": Case(
        ALL_TYPES,
        signature_wide_array,
        Differs("accepts", ROWS),
    ),
    "column_schema: a dict of arrays and lists, extra 2-D ones dropped": Case(
        ALL_TYPES, three_values
    ),
    "column_schema: a dict of lists of arrays": Case(ALL_TYPES, lists_of_three),
    "column_schema: a dict of columns of different lengths": Case(
        ALL_TYPES, lambda: {"a": [1], "b": [1, 2], "c": [1, 2, 3]}
    ),
    "column_schema: a whole Decimal for double": Case(ALL_TYPES, all_types(d=[decimal.Decimal(1)])),
}

# -- tensors ------------------------------------------------------------------------------------

MULTI_NAMED = [
    tensor("uint64", (-1, 5), "a"),
    tensor("int16", (-1, 2), "b"),
    tensor("float32", (2, -1, 2), "c"),
]


def multi(**changes: Any) -> Callable[[], dict[str, Any]]:
    def make() -> dict[str, Any]:
        arrays: dict[str, Any] = {
            "a": np.array([[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=np.uint64),
            "b": np.array([[0, 0], [1, 1], [2, 2]], dtype=np.short),
            "c": np.array([[[0, 0], [1, 1]], [[2, 2], [3, 3]]], dtype=np.float32),
        }
        return arrays | changes

    return make


def scalars_frame() -> pd.DataFrame:
    frame = pd.DataFrame(data=[[1, 2, 3]], columns=["a", "b", "c"])
    return frame.astype({"a": np.uint64, "b": np.short, "c": np.float32})


ONE_NAMED = [tensor("uint64", (-1, 2, 3), "a")]
ONE_UNNAMED = [tensor("uint64", (-1, 3))]
NAMED_1D = [tensor("uint64", (-1,), "a"), tensor("float32", (-1,), "b")]
NAMED_3D = [tensor("uint64", (-1, 2, 3), "a"), tensor("float32", (-1, 3, 4), "b")]
FLOAT32_ROWS = [tensor("float32", (-1, 3))]


def frame_1d() -> pd.DataFrame:
    frame = pd.DataFrame(data=[[0, 0], [1, 1]], columns=["a", "b"])
    frame["a"] = frame["a"].astype(np.uint64)
    frame["b"] = frame["a"].astype(np.float32)
    return frame


def frame_3d(arrays: bool = False, a_width: int = 6) -> Callable[[], pd.DataFrame]:
    def make() -> pd.DataFrame:
        data_a = np.array(range(12 if a_width == 6 else 16), dtype=np.uint64)
        data_b = np.array(range(24), dtype=np.float32) + 10.0
        a, b = data_a.reshape(-1, a_width), data_b.reshape(-1, 3 * 4)
        return pd.DataFrame(
            {"a": list(a), "b": list(b)} if arrays else {"a": a.tolist(), "b": b.tolist()}
        )

    return make


def float32_rows(dtype: Any = np.float32) -> np.ndarray:
    return np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32).astype(dtype)


TENSOR_CASES = {
    "single_column_2d_array: a one-column frame for shape (-1, 1)": Case(
        [tensor("int64", (-1, 1))], lambda: pd.DataFrame(np.array([[1], [2], [3]]))
    ),
    "tensor_multi_named: one array for three names": Case(MULTI_NAMED, lambda: multi()()["b"]),
    "tensor_multi_named: an extra name dropped": Case(MULTI_NAMED, multi(x=1)),
    "tensor_multi_named: any length along -1": Case(
        MULTI_NAMED,
        multi(
            a=np.array([[0] * 5, [1] * 5, [2] * 5], dtype=np.uint64),
            b=np.array([[0, 0], [1, 1]], dtype=np.short),
            c=np.array([[[0, 0]], [[2, 2]]], dtype=np.float32),
        ),
    ),
    "tensor_multi_named: int32 for uint64": Case(
        MULTI_NAMED,
        lambda: multi()() | {"a": multi()()["a"].astype(np.int32)},
        Differs("accepts", BY_VALUE),
    ),
    "tensor_multi_named: a wrong shape": Case(
        MULTI_NAMED,
        multi(
            a=np.array([[0, 0, 0, 0]], dtype=np.uint),
            b=np.array([[0, 0], [1, 1]], dtype=np.short),
            c=np.array([[[0, 0]]], dtype=np.float32),
        ),
    ),
    "tensor_multi_named: a list of arrays": Case(MULTI_NAMED, lambda: list(multi()().values())),
    "tensor_multi_named: an empty array": Case(MULTI_NAMED, multi(a=np.array([]))),
    "tensor_multi_named: a dict of lists": Case(
        MULTI_NAMED,
        lambda: {name: list(value) for name, value in multi()().items()},
        Differs("accepts", LISTS),
    ),
    "tensor_multi_named: a frame of scalars": Case(MULTI_NAMED, scalars_frame),
    "single_named_tensor: a dict": Case(
        ONE_NAMED, lambda: {"a": np.array(range(12), dtype=np.uint64).reshape((2, 2, 3))}
    ),
    "single_named_tensor: the array alone": Case(
        ONE_NAMED, lambda: np.array(range(12), dtype=np.uint64).reshape((2, 2, 3))
    ),
    "single_named_tensor: a list": Case(
        ONE_NAMED, lambda: np.array(range(12), dtype=np.uint64).reshape((2, 2, 3)).tolist()
    ),
    "single_unnamed_tensor: an array": Case(
        ONE_UNNAMED, lambda: np.array(range(6), dtype=np.uint64).reshape((2, 3))
    ),
    "single_unnamed_tensor: a frame": Case(
        ONE_UNNAMED,
        lambda: pd.DataFrame(
            np.array(range(6), dtype=np.uint64).reshape((2, 3)), columns=["c1", "c2", "c3"]
        ),
    ),
    "single_unnamed_tensor: a frame one column short": Case(
        ONE_UNNAMED,
        lambda: pd.DataFrame(
            np.array(range(6), dtype=np.uint64).reshape((2, 3)), columns=["c1", "c2", "c3"]
        ).drop("c3", axis=1),
    ),
    "named_tensor_1d: a frame": Case(NAMED_1D, frame_1d),
    "named_tensor_1d: a frame for shape (-1, 2)": Case(
        [tensor("uint64", (-1, 2), "a"), tensor("float32", (-1,), "b")], frame_1d
    ),
    "named_tensor_1d: a frame for shape (2, -1)": Case(
        [tensor("uint64", (2, -1), "a"), tensor("float32", (-1,), "b")], frame_1d
    ),
    "named_tensor_1d: a dict": Case(
        NAMED_1D,
        lambda: {
            "a": np.array(frame_1d()["a"], dtype=np.uint64),
            "b": np.array(frame_1d()["b"], dtype=np.float32),
        },
    ),
    "named_tensor_multidimensional: a frame of lists": Case(NAMED_3D, frame_3d()),
    "named_tensor_multidimensional: a frame of arrays": Case(NAMED_3D, frame_3d(arrays=True)),
    "named_tensor_multidimensional: lists that do not reshape": Case(NAMED_3D, frame_3d(a_width=8)),
    "named_tensor_multidimensional: a dict": Case(
        NAMED_3D,
        lambda: {
            "a": np.array(range(12), dtype=np.uint64).reshape((-1, 2, 3)),
            "b": (np.array(range(24), dtype=np.float32) + 10.0).reshape((-1, 3, 4)),
        },
    ),
    "tensor_no_col_names: an array": Case(FLOAT32_ROWS, float32_rows),
    "tensor_no_col_names: a frame": Case(FLOAT32_ROWS, lambda: pd.DataFrame(float32_rows())),
    "tensor_no_col_names: a list": Case(
        FLOAT32_ROWS, lambda: float32_rows().tolist(), Differs("accepts", LISTS)
    ),
    "tensor_no_col_names: a dict": Case(FLOAT32_ROWS, lambda: {"blah": float32_rows()}),
    "tensor_no_col_names: a wrong shape": Case(
        FLOAT32_ROWS, lambda: np.array([[1.0, 2.0], [4.0, 5.0]])
    ),
    "tensor_no_col_names: uint32 for float32": Case(
        FLOAT32_ROWS, lambda: float32_rows(np.uint32), Differs("accepts", BY_VALUE)
    ),
    "tensor_no_col_names: more rows": Case(
        FLOAT32_ROWS, lambda: np.arange(1.0, 10.0, dtype=np.float32).reshape(3, 3)
    ),
    "tensor_no_col_names: an empty array": Case(FLOAT32_ROWS, lambda: np.ndarray([])),
    # Issue 18: float64 -> float32 rounded 0.1 to 0.10000000149 silently.
    "issue 18: 0.1 for a float32 tensor": Case(FLOAT32_ROWS, lambda: np.array([[0.1, 0.2, 0.3]])),
    "issue 18: float64 a float32 holds exactly, for a float32 tensor": Case(
        FLOAT32_ROWS, lambda: np.array([[0.5, 1.0, 2.0]]), Differs("accepts", BY_VALUE)
    ),
}

# -- missing values, unnamed columns ------------------------------------------------------------

NO_NAMES = [col("double"), col("double"), col("double")]
OPTIONAL = [
    col("double", "a"),
    col("double", "b"),
    col("string", "c", False),
    col("long", "d", False),
]

MORE_COLUMN_CASES = {
    "missing_value_hint: an integer with a missing value": Case(
        [col("integer", "a")], lambda: pd.DataFrame(data=[[1], [None]], columns=["a"])
    ),
    "missing_value_hint: a fraction and a missing value": Case(
        [col("integer", "a")], lambda: pd.DataFrame(data=[[1.5], [None]], columns=["a"])
    ),
    "missing_value_hint: whole doubles for an integer": Case(
        [col("integer", "a")],
        lambda: pd.DataFrame(data=[[1], [2]], columns=["a"], dtype=np.float64),
        Differs("accepts", BY_VALUE),
    ),
    "no_col_names: a list": Case(NO_NAMES, lambda: [[1.0, 2.0, 3.0]]),
    "no_col_names: a frame": Case(NO_NAMES, lambda: pd.DataFrame([[1.0, 2.0, 3.0]])),
    "no_col_names: an array": Case(NO_NAMES, lambda: np.array([[1.0, 2.0, 3.0]])),
    "no_col_names: a frame with names": Case(
        NO_NAMES, lambda: pd.DataFrame([[1.0, 2.0, 3.0]], columns=["a", "b", "c"])
    ),
    "no_col_names: too few columns": Case(NO_NAMES, lambda: [[1.0, 2.0]]),
    "no_col_names: ints for doubles": Case(
        NO_NAMES, lambda: [[1, 2, 3]], Differs("accepts", BY_VALUE)
    ),
    "no_col_names: a set": Case(NO_NAMES, lambda: {1, 2, 3}),
    "no_col_names: a dict of lists": Case(NO_NAMES, lambda: {"a": [1.0], "b": [2.0], "c": [3.0]}),
    "no_col_names: extra columns dropped": Case(NO_NAMES, lambda: [[1.0, 2.0, 3.0, 4.0]]),
    "no_col_names: text for a double": Case(NO_NAMES, lambda: [[1.0, "2", 3.0]]),
    "optional_columns: all columns": Case(
        OPTIONAL,
        lambda: pd.DataFrame({"a": [1.0], "b": [1.0], "c": ["something"], "d": [2]}),
    ),
    "optional_columns: the required ones": Case(
        OPTIONAL,
        lambda: pd.DataFrame({"a": [1.0], "b": [1.0]}),
    ),
    "optional_columns: one optional one": Case(
        OPTIONAL,
        lambda: pd.DataFrame({"a": [1.0], "b": [1.0], "d": [2]}),
    ),
    "optional_columns: a wrong type in an optional one": Case(
        OPTIONAL,
        lambda: pd.DataFrame({"a": [1.0], "b": [1.0], "d": ["not the right type"]}),
    ),
    "optional_columns: a required one missing": Case(
        OPTIONAL,
        lambda: pd.DataFrame({"b": [2.0], "c": ["something"]}),
    ),
    "all_feature_types_pandas: nullable bool, string and double": Case(
        [
            col("long", "long"),
            col("boolean", "bool"),
            col("string", "string"),
            col("datetime", "datetime"),
            col("boolean", "bool_nullable", False),
            col("string", "string_nullable", False),
            col("double", "double_nullable", False),
        ],
        lambda: pd.DataFrame(
            {
                "long": [1, 2, 3],
                "bool": [True, False, False],
                "string": ["a", "b", "c"],
                "datetime": [pd.Timestamp("2020-07-14 00:00:00")] * 3,
                "bool_nullable": [True, None, False],
                "string_nullable": ["a", "b", None],
                "double_nullable": [1.0, 2.0, None],
            }
        ),
    ),
    # Issue 18: datetimes kept their resolution; precision and time zones.
    "issue 18: datetime64[us] becomes ns": Case(
        [col("datetime", "t")],
        lambda: pd.DataFrame({"t": np.array(["2024-05-01T10:00:00.123456"], "datetime64[us]")}),
    ),
    "issue 18: dates become datetime64[ns]": Case(
        [col("datetime", "t")], lambda: pd.DataFrame({"t": [dt.date(2024, 1, 2)]})
    ),
    "issue 18: a time zone is refused": Case(
        [col("datetime", "t")], lambda: pd.DataFrame({"t": [pd.Timestamp("2024-01-01", tz="UTC")]})
    ),
    "issue 18: ISO 8601 text for a datetime": Case(
        [col("datetime", "t")],
        lambda: pd.DataFrame({"t": ["2024-05-01T10:00:00"]}),
        Differs("accepts", ISO),
    ),
    "issue 18: 0.1 for a float column": Case(
        [col("float", "x")], lambda: pd.DataFrame({"x": [0.1]})
    ),
    "issue 18: a Decimal a double holds approximately": Case(
        [col("double", "x")],
        lambda: pd.DataFrame({"x": [decimal.Decimal("0.1")]}),
        Differs("refuses", PRECISION),
    ),
    "issue 18: text for a number column": Case(
        [col("double", "x")], lambda: pd.DataFrame({"x": ["1.0"]})
    ),
    "issue 18: missing values for a double": Case(
        [col("double", "x")], lambda: [{"x": None}, {"x": 1.5}]
    ),
}

# -- dicts, records, text and bytes -------------------------------------------------------------

A_LONG_B_STRING = [col("long", "a"), col("string", "b")]
TWO_STRINGS = [col("string", "a"), col("string", "b")]
AUDIO = [col("binary", "audio")]
ENCODED = base64.b64encode(b"Hi I am a bytes string").decode("ascii")


def both_orients(
    prefix: str,
    inputs: list[dict[str, Any]],
    data: Callable[[], Any],
    as_dict: Expected = None,
    as_records: Expected = None,
) -> dict[str, Case]:
    """The data as given, and as the records of ``pd.DataFrame`` of it (MLflow tests both)."""

    def records() -> Any:
        value = data()
        frame = pd.DataFrame([value] if _one_row(value) else value)
        return frame.to_dict(orient="records")

    return {
        f"inputs_style_orientation: {prefix}": Case(inputs, data, as_dict),
        f"inputs_style_orientation: {prefix}, as records": Case(inputs, records, as_records),
    }


def _one_row(value: Any) -> bool:
    return isinstance(value, dict) and all(np.ndim(v) == 0 for v in value.values())


RECORD_CASES = {
    **both_orients("a dict of lists", A_LONG_B_STRING, lambda: {"a": [4, 5, 6], "b": list("abc")}),
    **both_orients("a dict of one text", [col("string", "a")], lambda: {"a": "Hi there!"}),
    "inputs_style_orientation: records holding a list of text": Case(
        [col("string", "query"), col("string", "inputs")],
        lambda: [{"query": ["test_query1", "test_query2"], "inputs": "test input"}],
        Differs("refuses", TEXT),
    ),
    **both_orients("a list of text", [col("string")], lambda: ["a", "b", "c"]),
    **both_orients(
        "a dict of arrays",
        A_LONG_B_STRING,
        lambda: {"a": np.array([1, 2, 3]), "b": np.array(["a", "b", "c"])},
    ),
    **both_orients("a dict of scalars", A_LONG_B_STRING, lambda: {"a": 12, "b": "a"}),
    **both_orients(
        "a dict of one-item arrays",
        A_LONG_B_STRING,
        lambda: {"a": np.array([12]), "b": np.array(["a"])},
    ),
    **both_orients(
        "a dict of 0-d text arrays",
        TWO_STRINGS,
        lambda: {"a": np.array("a"), "b": np.array("b")},
        Differs("refuses", TEXT),
        Differs("refuses", TEXT),
    ),
    **both_orients(
        "a dict of 0-d number arrays",
        [col("long", "a"), col("long", "b")],
        lambda: {"a": np.array(1), "b": np.array(2)},
    ),
    **both_orients("bytes", AUDIO, lambda: {"audio": b"Hi I am a bytes string"}),
    **both_orients(
        "base64 text for binary",
        AUDIO,
        lambda: {"audio": ENCODED},
        Differs("refuses", TEXT),
        Differs("refuses", TEXT),
    ),
    "list_inputs_back_compatibility: a text and a list of text": Case(
        [col("string", "prompt"), col("string", "stop")],
        lambda: {"prompt": "this is the prompt", "stop": ["a", "b"]},
        Differs("reads", COLUMNS),
    ),
    "list_inputs_back_compatibility: lists of text of different lengths": Case(
        TWO_STRINGS,
        lambda: {"a": ["Hi there!"], "b": ["Hello there", "Bye!"]},
        Differs("refuses", COLUMNS),
    ),
    "list_inputs_back_compatibility: a frame holding a list of bytes": Case(
        AUDIO,
        lambda: pd.DataFrame([{"audio": [b"Hi I am a bytes string"]}]),
        Differs("refuses", TEXT),
    ),
    "list_inputs_back_compatibility: a frame holding a list of base64 text": Case(
        AUDIO, lambda: pd.DataFrame([{"audio": [ENCODED]}]), Differs("refuses", TEXT)
    ),
    "list_inputs_back_compatibility: a dict of lists": Case(
        A_LONG_B_STRING, lambda: {"a": [4, 5, 6], "b": ["a", "b", "c"]}
    ),
    "list_inputs_back_compatibility: a frame's lists": Case(
        A_LONG_B_STRING,
        lambda: pd.DataFrame({"a": np.array([1, 2, 3]), "b": np.array(list("abc"))}).to_dict(
            orient="list"
        ),
    ),
    "list_inputs_back_compatibility: a frame's one-item lists": Case(
        A_LONG_B_STRING,
        lambda: pd.DataFrame({"a": np.array([12]), "b": np.array(["a"])}).to_dict(orient="list"),
    ),
    "list_inputs_back_compatibility: lists of 0-d text arrays": Case(
        TWO_STRINGS,
        lambda: pd.DataFrame([{"a": np.array("a"), "b": np.array("b")}]).to_dict(orient="list"),
        Differs("refuses", TEXT),
    ),
    "with_dicts_and_lists: a dict of a long array": Case(
        [col("long", "a")], lambda: {"a": np.array([1, 2, 3])}
    ),
    "with_dicts_and_lists: a dict of one text": Case(
        [col("string", "query")], lambda: {"query": "sentence"}
    ),
    "with_dicts_and_lists: a dict of a list of text": Case(
        [col("string", "query")],
        lambda: {"query": ["sentence_1", "sentence_2"]},
        Differs("reads", COLUMNS),
    ),
    "with_dicts_and_lists: a frame holding a list of text": Case(
        [col("string", "query")],
        lambda: pd.DataFrame([{"query": ["sentence_1", "sentence_2"]}]),
        Differs("refuses", TEXT),
    ),
    "with_dicts_and_lists: a dict of a list of text and a text": Case(
        [col("string", "query"), col("string", "table")],
        lambda: {"query": ["sentence_1", "sentence_2"], "table": "some_table"},
        Differs("reads", COLUMNS),
    ),
    "with_dicts_and_lists: records of text": Case(
        [col("string", "query")], lambda: [{"query": "sentence"}, {"query": "sentence"}]
    ),
    "with_dicts_and_lists: records holding lists of text": Case(
        [col("string", "query"), col("string", "table")],
        lambda: [{"query": ["sentence_1", "sentence_2"], "table": "some_table"}] * 2,
        Differs("refuses", TEXT),
    ),
}

# -- nested types (read, passed on unchecked) ---------------------------------------------------

STRING_ARRAY = {"type": "array", "items": {"type": "string"}}
LONG_ARRAY = {"type": "array", "items": {"type": "long"}}


def nested(kind: dict[str, Any], name: str | None, required: bool = True) -> dict[str, Any]:
    return {**kind, **({} if name is None else {"name": name}), "required": required}


LONG_MAP = {"type": "map", "values": {"type": "long"}}
NAME_AGE = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "required": True},
        "age": {"type": "long", "required": False},
    },
}

NESTED_CASES = {
    "list_inputs: a text and an array of text": Case(
        [col("string", "prompt"), nested(STRING_ARRAY, "stop")],
        lambda: {"prompt": "this is the prompt", "stop": ["a", "b"]},
    ),
    "list_inputs: two arrays of text": Case(
        [nested(STRING_ARRAY, "a"), nested(STRING_ARRAY, "b")],
        lambda: {"a": ["Hi there!"], "b": ["Hello there", "Bye!"]},
    ),
    "list_inputs: an array of longs and one of text": Case(
        [nested(LONG_ARRAY, "a"), nested(STRING_ARRAY, "b")],
        lambda: {"a": [4, 5, 6], "b": ["a", "b", "c"]},
    ),
    "list_inputs: named 1-D tensors": Case(
        [tensor("int64", (-1,), "a"), tensor("str", (-1,), "b")],
        lambda: {"a": np.array([1, 2, 3]), "b": np.array(["a", "b", "c"])},
    ),
    "list_inputs: named 1-D tensors of one item": Case(
        [tensor("int64", (-1,), "a"), tensor("str", (-1,), "b")],
        lambda: {"a": np.array([12]), "b": np.array(["a"])},
    ),
    "objects_and_arrays: records with an optional column": Case(
        [nested(STRING_ARRAY, "query"), col("string", "table", False)],
        lambda: [
            {"query": ["sentence_1", "sentence_2"], "table": "some_table"},
            {"query": ["sentence_1", "sentence_2"]},
        ],
    ),
    "objects_and_arrays: an array of objects": Case(
        [nested({"type": "array", "items": NAME_AGE}, "query"), nested(STRING_ARRAY, "table")],
        lambda: {"query": [{"name": "value", "age": 10}, {"name": "value"}], "table": ["t"]},
    ),
    "map_type: a map column": Case(
        [nested(LONG_MAP, "simple_map")],
        lambda: pd.DataFrame({"simple_map": [{"a": 3, "b": 4}, {}, {"c": 5}]}),
    ),
    "map_type: an unnamed map column": Case(
        [nested(LONG_MAP, None)],
        lambda: pd.DataFrame({"simple_map": [{"a": 3, "b": 4}, {}, {"c": 5}]}),
    ),
    "nested_array: an array of arrays of text": Case(
        [nested({"type": "array", "items": STRING_ARRAY}, "netsed_list")],
        lambda: pd.DataFrame({"netsed_list": [[["a", "b"], ["c", "d"]], [["e", "f"], ["g"]]]}),
    ),
    "nested types: text in an array of longs": Case(
        [nested(LONG_ARRAY, "a")],
        lambda: pd.DataFrame({"a": [["x", "y"]]}),
        Still("accepts", NESTED),
    ),
}

CASES = COLUMN_CASES | TENSOR_CASES | MORE_COLUMN_CASES | RECORD_CASES | NESTED_CASES

# -- params -------------------------------------------------------------------------------------


def param(name: str, kind: str, default: Any, shape: list[int] | None = None) -> dict[str, Any]:
    return {"name": name, "default": default, "shape": shape, "type": kind}


BASIC = [
    param("str_param", "string", "str_a"),
    param("int_param", "integer", 1),
    param("bool_param", "boolean", True),
    param("double_param", "double", 1.0),
    param("float_param", "float", float(np.float32(0.1))),
    param("long_param", "long", 100),
    param("datetime_param", "datetime", "2023-06-26T00:00:00"),
    param("str_list", "string", ["a", "b", "c"], [-1]),
    param("bool_list", "boolean", [True, False], [-1]),
]
ARRAYS = [
    param("double_array", "double", [1.0, 2.0], [-1]),
    param("float_array", "float", [1.0, 2.0], [-1]),
    param("long_array", "long", [1, 2], [-1]),
    param("datetime_array", "datetime", ["2023-06-26T00:00:00"] * 2, [-1]),
    param("int_array", "integer", [1, 2], [-1]),
]
DATE = np.datetime64("2023-06-26 00:00:00")


def given(value: Any) -> Callable[[], Any]:
    return lambda: value


PARAMS_CASES = {
    "params_with_success: every basic type": ParamsCase(
        BASIC,
        given(
            {
                "str_param": "str_a",
                "int_param": np.int32(1),
                "bool_param": True,
                "double_param": 1.0,
                "float_param": np.float32(0.1),
                "long_param": 100,
                "datetime_param": DATE,
                "str_list": ["a", "b", "c"],
                "bool_list": [True, False],
            }
        ),
    ),
    "params_with_success: arrays": ParamsCase(
        ARRAYS,
        given(
            {
                "double_array": np.array([1.0, 2.0]),
                "float_array": np.array([np.float32(1.0), np.float32(2.0)]),
                "long_array": np.array([1, 2]),
                "datetime_array": np.array([DATE, DATE]),
            }
        ),
    ),
    "params_with_success: int32 for double": ParamsCase(
        BASIC, given({"double_param": np.int32(1)})
    ),
    "params_with_success: int32 for float": ParamsCase(BASIC, given({"float_param": np.int32(1)})),
    "params_with_success: int32 for long": ParamsCase(BASIC, given({"long_param": np.int32(1)})),
    **{
        f"params_with_success: int32 items for {name}": ParamsCase(
            ARRAYS, given({name: [np.int32(1), np.int32(2)]})
        )
        for name in ("double_array", "float_array", "long_array")
    },
    **{
        f"params_with_success: an int32 array for {name}": ParamsCase(
            ARRAYS, given({name: np.array([np.int32(1), np.int32(2)])})
        )
        for name in ("double_array", "float_array", "long_array")
    },
    "params_with_success: an int for double": ParamsCase(BASIC, given({"double_param": 1})),
    "params_with_success: an int for float": ParamsCase(BASIC, given({"float_param": 1})),
    "params_with_success: ints for float items": ParamsCase(ARRAYS, given({"float_array": [1, 2]})),
    "params_with_success: an int array for double items": ParamsCase(
        ARRAYS, given({"double_array": np.array([1, 2])})
    ),
    "params_with_success: float32 for double": ParamsCase(
        BASIC, given({"double_param": np.float32(0.1)})
    ),
    "params_with_success: float32 items for double": ParamsCase(
        ARRAYS, given({"double_array": np.array([np.float32(1), np.float32(2)])})
    ),
    "params_with_success: text for datetime": ParamsCase(
        BASIC, given({"datetime_param": "2023-07-01 00:00:00"})
    ),
    "params_with_success: text items for datetime": ParamsCase(
        ARRAYS, given({"datetime_array": np.array(["2023-06-26 00:00:00"] * 2)})
    ),
    "params_with_success: defaults filled in": ParamsCase(
        [param("a", "string", ""), param("b", "long", 1)], given({"a": "str_a"})
    ),
    "params_with_success: an unknown param dropped": ParamsCase(
        [param("a", "string", "")], given({"a": "str_a", "invalid_param": "value"})
    ),
    "params_with_success: a key that is not text": ParamsCase(
        [param("1", "double", 1.0)], given({1: 1.0})
    ),
    "add_default_values: none given": ParamsCase(
        [param("str_param", "string", "string"), param("int_array", "long", [1, 2, 3], [-1])],
        given(None),
    ),
    "add_default_values: some given": ParamsCase(
        [param("str_param", "string", "string"), param("int_array", "long", [1, 2, 3], [-1])],
        given({"str_param": "new_string"}),
    ),
    "add_default_values: all given": ParamsCase(
        [param("str_param", "string", "string"), param("int_array", "long", [1, 2, 3], [-1])],
        given({"str_param": "new_string", "int_array": [4, 5, 6]}),
    ),
    "params_errors: a float for datetime": ParamsCase(BASIC, given({"datetime_param": 1.0})),
    "params_errors: floats for datetime items": ParamsCase(
        ARRAYS, given({"datetime_array": [1.0, 2.0]})
    ),
    "params_errors: text for float": ParamsCase(BASIC, given({"float_param": "a"})),
    "params_errors: a float64 among float items": ParamsCase(
        ARRAYS, given({"float_array": [np.float32(1), np.float32(2), np.float64(3)]})
    ),
    "params_errors: float32 for long": ParamsCase(BASIC, given({"long_param": np.float32(1)})),
    "params_errors: text for long": ParamsCase(BASIC, given({"long_param": "1"})),
    "params_errors: a datetime for long": ParamsCase(
        BASIC, given({"long_param": np.datetime64("2023-06-06")})
    ),
    "params_errors: float32 for string": ParamsCase(BASIC, given({"str_param": np.float32(1)})),
    "params_errors: bytes for string": ParamsCase(BASIC, given({"str_param": b"string"})),
    "params_errors: a datetime for string": ParamsCase(
        BASIC, given({"str_param": np.datetime64("2023-06-06")})
    ),
    "params_errors: params that are not a dict": ParamsCase(BASIC, given(100)),
    "params_errors: a tuple for a list param": ParamsCase(
        [param("a", "boolean", False), param("b", "string", [], [-1]), param("c", "string", "")],
        given({"a": True, "b": (1, 2), "c": b"test"}),
    ),
    "params_errors: a 2-D list for a list param": ParamsCase(
        [param("a", "long", [], [-1])], given({"a": [[1, 2], [3, 4]]})
    ),
    "params_errors: a list for one value": ParamsCase(BASIC, given({"long_param": [1, 2]})),
    "warns_without_params: params for a model without": ParamsCase(
        None, given({"str_param": "string", "int_array": [1, 2, 3], "123": 123})
    ),
    "errors_with_params: a list for params": ParamsCase(
        [param("str_param", "string", "string")], given([1, 2, 3])
    ),
    "errors_with_params: an int key": ParamsCase([param("123", "long", 123)], given({123: 456})),
    "arrays_in_python_model_predict: floats for integer items": ParamsCase(
        ARRAYS, given({"int_array": np.array([1.0, 2.0])})
    ),
    "arrays_in_python_model_predict: bools for float items": ParamsCase(
        ARRAYS, given({"float_array": [True, False]})
    ),
    "arrays_in_python_model_predict: text among double items": ParamsCase(
        ARRAYS, given({"double_array": [1.0, "2.0"]})
    ),
    "arrays_in_python_model_predict: text items for datetime": ParamsCase(
        ARRAYS, given({"datetime_array": ["2023-06-26 00:00:00", "2023-06-26 00:00:00"]})
    ),
    "issue 18: an int beyond 2**53 for double": ParamsCase(
        BASIC, given({"double_param": 2**53 + 1}), Differs("refuses", PRECISION)
    ),
}

# -- the comparison -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    value: object = None


@pytest.fixture(scope="module")
def mlflow() -> ModuleType:
    with warnings.catch_warnings():
        # Importing MLflow warns about its own type hints; that is not what is compared here.
        warnings.simplefilter("ignore")
        module = pytest.importorskip("mlflow")
        import mlflow.models.utils  # noqa: F401
    return module


def theirs(mlflow: ModuleType, call: Callable[[], object]) -> Outcome:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' and MLflow's own deprecations, in their code
        try:
            return Outcome(True, call())
        except Exception:  # MLflow refuses with its own and pandas' exceptions alike
            return Outcome(False)


def ours(call: Callable[[], object]) -> Outcome:
    # Only nbtrack's refusal counts as one; anything else it raises is a bug and fails the test.
    try:
        return Outcome(True, call())
    except InvalidValueError:
        return Outcome(False)


def equal(a: object, b: object) -> bool:
    if isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame):
        try:
            pd.testing.assert_frame_equal(a, b)
        except AssertionError:
            return False
        return True
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        nan = a.dtype.kind == "f" and b.dtype.kind == "f"
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=nan)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[key], b[key]) for key in a)
    if isinstance(a, list | np.ndarray) and isinstance(b, list | np.ndarray):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def check(name: str, expected: Expected, mine: Outcome, mlflows: Outcome) -> None:
    same = mine.accepted == mlflows.accepted and (
        not mine.accepted or equal(mine.value, mlflows.value)
    )
    told = f"{name}: nbtrack {mine}, MLflow {mlflows}"
    if expected is None:
        assert same, told
        return
    assert not same, f"{name} now behaves as MLflow does: it is no longer a difference"
    if expected.nbtrack == "reads":
        assert mine.accepted and mlflows.accepted, told
    else:
        assert mine.accepted == (expected.nbtrack == "accepts"), told


@pytest.mark.parametrize("name", list(CASES))
def test_input_is_enforced_as_mlflow_enforces_it(mlflow: ModuleType, name: str) -> None:
    from mlflow.models.signature import ModelSignature
    from mlflow.models.utils import _enforce_schema

    case = CASES[name]
    signature = entry(case.inputs)
    mine = ours(lambda: enforce(Signature.from_mlmodel(signature), case.data()))
    schema = ModelSignature.from_dict(signature).inputs
    mlflows = theirs(mlflow, lambda: _enforce_schema(case.data(), schema))
    check(name, case.expected, mine, mlflows)


@pytest.mark.parametrize("name", list(PARAMS_CASES))
def test_params_are_enforced_as_mlflow_enforces_them(mlflow: ModuleType, name: str) -> None:
    from mlflow.models.signature import ModelSignature
    from mlflow.models.utils import _enforce_params_schema

    case = PARAMS_CASES[name]
    signature = entry([col("string")], case.params_schema)
    specs = Signature.from_mlmodel(signature).params
    mine = ours(lambda: enforce_params(specs, case.params()))
    schema = ModelSignature.from_dict(signature).params
    mlflows = theirs(mlflow, lambda: _enforce_params_schema(case.params(), schema) or {})
    check(name, case.expected, mine, mlflows)


def test_the_tally_is_the_one_reported() -> None:
    kinds = Counter(
        "same" if case.expected is None else type(case.expected).__name__.lower()
        for case in [*CASES.values(), *PARAMS_CASES.values()]
    )
    assert kinds == {"same": 144, "differs": 33, "still": 1}
