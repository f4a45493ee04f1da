"""Inference params: a signature's ``params`` declare them; a prediction's are checked against
them and reach a model whose ``predict`` takes ``params``, with defaults for those not sent."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from nbtrack.errors import InvalidValueError
from nbtrack.models import load_model, save_model
from nbtrack.models.params import ParamSpec, check_params, param_specs
from nbtrack.models.signatures import ColSpec, Signature

SPECS = (
    ParamSpec("k", "long", 3),
    ParamSpec("cut", "double", 0.5),
    ParamSpec("label", "string", "a"),
    ParamSpec("on", "boolean", False),
    ParamSpec("since", "datetime", "2023-07-01"),
    ParamSpec("ks", "long", [1, 2], (-1,)),
)
PARAMS_JSON = json.dumps(
    [
        {"name": "k", "type": "long", "default": 3, "shape": None},
        {"name": "cut", "type": "double", "default": 0.5, "shape": None},
        {"name": "label", "type": "string", "default": "a", "shape": None},
        {"name": "on", "type": "boolean", "default": False, "shape": None},
        {"name": "since", "type": "datetime", "default": "2023-07-01", "shape": None},
        {"name": "ks", "type": "long", "default": [1, 2], "shape": [-1]},
    ]
)


def test_mlmodels_params_are_read_with_their_defaults_as_written() -> None:
    # As written, so that MLmodel is written back unchanged; a prediction gets them converted.
    assert param_specs({"inputs": "[]", "params": PARAMS_JSON}) == SPECS
    assert param_specs({"inputs": "[]", "params": None}) == ()
    assert param_specs(None) == ()


def test_a_params_entry_that_cannot_be_read_is_an_error_naming_it() -> None:
    with pytest.raises(InvalidValueError, match=r"MLmodel params .* cannot be read: each param"):
        param_specs({"params": '[{"type": "long"}]'})
    with pytest.raises(InvalidValueError, match="cannot be read: param 'k' is a str, which"):
        param_specs({"params": '[{"name": "k", "type": "long", "default": "x"}]'})
    with pytest.raises(InvalidValueError, match="cannot be read: param 'ks' takes a list"):
        param_specs({"params": '[{"name": "ks", "type": "long", "default": null, "shape": [-1]}]'})


def test_params_not_sent_take_their_defaults_converted() -> None:
    defaults = {spec.name: spec.default for spec in SPECS}
    assert check_params(SPECS, None) == {**defaults, "since": dt.date(2023, 7, 1)}
    assert check_params(SPECS, {"k": 7})["k"] == 7


@pytest.mark.parametrize(
    ("name", "sent", "expected"),
    [
        ("k", 7, 7),
        ("cut", 1, 1.0),
        ("cut", 0.25, 0.25),
        ("label", "b", "b"),
        ("on", True, True),
        ("since", "2024-02-03", dt.date(2024, 2, 3)),
        ("since", "2024-02-03T04:05:06", dt.datetime(2024, 2, 3, 4, 5, 6)),
        ("ks", [4, 5, 6], [4, 5, 6]),
        ("k", None, None),
        ("ks", [4, None], [4, None]),
    ],
)
def test_values_convert_as_mlflow_converts_them(name: str, sent: object, expected: object) -> None:
    assert check_params(SPECS, {name: sent})[name] == expected


@pytest.mark.parametrize(
    ("name", "sent", "message"),
    [
        ("k", 1.5, "param 'k' is a float, which cannot become long"),
        ("k", True, "param 'k' is a bool, which cannot become long"),
        ("k", "SECRET", "param 'k' is a str, which cannot become long"),
        ("cut", [1.0], "param 'cut' is a list; it takes one double value"),
        ("label", 1, "param 'label' is an int, which cannot become string"),
        ("on", 1, "param 'on' is an int, which cannot become boolean"),
        ("since", "SECRET", "param 'since' is a str that is not a date or datetime; give"),
        ("ks", 1, "param 'ks' takes a list of long values (shape (-1,)); it is an int"),
        ("ks", None, "param 'ks' takes a list of long values (shape (-1,)); it is None"),
        ("ks", [1, "SECRET"], "param 'ks' holds a str, which cannot become long"),
    ],
)
def test_a_value_of_another_type_is_refused_without_repeating_it(
    name: str, sent: object, message: str
) -> None:
    with pytest.raises(InvalidValueError) as raised:
        check_params(SPECS, {name: sent})
    assert str(raised.value).startswith(message)
    assert "SECRET" not in str(raised.value)


def test_every_param_that_does_not_fit_is_named_in_one_error() -> None:
    with pytest.raises(InvalidValueError) as raised:
        check_params(SPECS, {"k": "SECRET", "on": "SECRET"})
    assert str(raised.value) == (
        "param 'k' is a str, which cannot become long; "
        "param 'on' is a str, which cannot become boolean"
    )


def test_params_the_signature_does_not_declare_are_refused_and_counted_not_named() -> None:
    with pytest.raises(InvalidValueError) as raised:
        check_params(SPECS, {"k": 1, "SECRET": 1})
    assert str(raised.value) == (
        "1 param that the model's signature does not declare; it declares k (long), "
        "cut (double), label (string), on (boolean), since (datetime), ks (list of long)"
    )
    with pytest.raises(InvalidValueError, match=r"^2 params sent, but the model's signature"):
        check_params((), {"method": "predict_proba", "SECRET": 1})
    assert check_params((), {}) == {}


def test_params_that_are_not_a_dict_are_refused_naming_only_their_type() -> None:
    with pytest.raises(InvalidValueError, match=r"^params must be a dict .*; got a list$"):
        check_params(SPECS, ["SECRET"])


class Echo:
    """Returns the params it was given, one row per input row."""

    def predict(self, data: pd.DataFrame, params: dict[str, Any] | None = None) -> list[str]:
        return [repr(sorted((params or {}).items()))] * len(data)


class EchoByAnotherName:
    """The same, from a method chosen with pyfunc_predict_fn."""

    def predict(self, data: pd.DataFrame) -> list[int]:
        return [0] * len(data)

    def echo(self, data: pd.DataFrame, params: dict[str, Any] | None = None) -> list[str]:
        return Echo().predict(data, params)


class NoParams:
    def predict(self, data: pd.DataFrame) -> list[int]:
        return [0] * len(data)


def with_params(model: object, folder: Path, pyfunc_predict_fn: str | None = None) -> Path:
    """A model folder whose signature declares ``SPECS`` (a double column ``x``); saved outside
    a run, it loads only as trusted."""
    signature = Signature(inputs=(ColSpec("double", "x"),), params=SPECS)
    save_model(model, folder, signature=signature, pyfunc_predict_fn=pyfunc_predict_fn)
    return folder


def test_a_models_params_are_written_as_mlflow_writes_them(tmp_path: Path) -> None:
    folder = with_params(NoParams(), tmp_path / "model")
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
    assert json.loads(mlmodel["signature"]["params"]) == json.loads(PARAMS_JSON)


def test_a_model_whose_predict_takes_params_gets_them_checked_and_completed(
    tmp_path: Path,
) -> None:
    model = load_model(with_params(Echo(), tmp_path / "model"), trusted=True)
    assert model.params == SPECS
    predicted = model.predict(pd.DataFrame({"x": [1.0]}), {"k": 9, "since": "2024-01-02"})
    assert predicted == [repr(sorted({**check_params(SPECS, {}), "k": 9,
                                      "since": dt.date(2024, 1, 2)}.items()))]  # fmt: skip


def test_a_model_whose_predict_takes_none_still_has_its_params_checked(tmp_path: Path) -> None:
    model = load_model(with_params(NoParams(), tmp_path / "model"), trusted=True)
    assert model.predict(pd.DataFrame({"x": [1.0]}), {"k": 9}) == [0]
    with pytest.raises(InvalidValueError, match="param 'k' is a str, which cannot become long"):
        model.predict(pd.DataFrame({"x": [1.0]}), {"k": "x"})


# Values as JSON sends them; a kind ending in [] is a list param (shape (-1,)).
MLFLOW_CASES = [
    ("integer", 1), ("integer", 1.0), ("integer", True), ("integer", "1"), ("integer", 2**40),
    ("long", 1), ("long", 2.5), ("float", 1), ("float", 1.5), ("float", "1.5"),
    ("double", 1), ("double", 1.5), ("double", False), ("boolean", True), ("boolean", 1),
    ("boolean", "true"), ("string", "a"), ("string", 1), ("datetime", "2023-07-01"),
    ("datetime", "2023-07-01T01:02:03+02:00"), ("datetime", "2023-07-01T01:02:03.123456789"),
    ("datetime", "x"), ("datetime", ""), ("datetime", "NaT"), ("datetime", 5), ("double", None),
    ("long", [1]), ("long[]", [1, 2]), ("long[]", [1, None]), ("long[]", None), ("long[]", 1),
    ("long[]", [[1], [2]]), ("double[]", [1, 2.5]), ("string[]", ["a", 1]),
    ("datetime[]", ["2023-07-01", None]),
]  # fmt: skip
LIST_DEFAULTS = {"long": [1], "double": [1.0], "string": ["a"], "datetime": ["2023-07-01"]}


@pytest.mark.parametrize(("kind", "value"), MLFLOW_CASES)
def test_each_conversion_is_mlflows(kind: str, value: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's import-time warnings
        pytest.importorskip("mlflow")
        from mlflow.exceptions import MlflowException
        from mlflow.models.utils import _enforce_params_schema
        from mlflow.types import DataType, ParamSchema
        from mlflow.types import ParamSpec as MlflowParamSpec
    # MLflow refuses a list param without a default, so each has one.
    name, listed = kind.removesuffix("[]"), kind.endswith("[]")
    default, shape = (LIST_DEFAULTS[name], (-1,)) if listed else (None, None)
    schema = ParamSchema([MlflowParamSpec("p", getattr(DataType, name), default, shape)])
    try:
        with warnings.catch_warnings():
            # numpy warns that it drops a time zone; as errors, MLflow would refuse the value.
            warnings.simplefilter("ignore", UserWarning)
            theirs: object = _enforce_params_schema({"p": value}, schema)["p"]
    except MlflowException:
        theirs = InvalidValueError
    try:
        ours: object = check_params((ParamSpec("p", name, default, shape),), {"p": value})["p"]
    except InvalidValueError:
        ours = InvalidValueError
    # repr: 1 and 1.0, 1 and True are equal to ==, not to MLflow's conversion.
    assert (repr(ours), type(ours)) == (repr(theirs), type(theirs))


def test_a_method_chosen_with_pyfunc_predict_fn_gets_params_when_it_takes_them(
    tmp_path: Path,
) -> None:
    folder = with_params(EchoByAnotherName(), tmp_path / "model", pyfunc_predict_fn="echo")
    model = load_model(folder, trusted=True)
    assert model.predict(pd.DataFrame({"x": [1.0]}), {"k": 9}) == [
        repr(sorted({**check_params(SPECS, {}), "k": 9}.items()))
    ]
