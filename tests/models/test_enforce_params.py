"""Inference params are brought to the signature's params: defaults filled, types as MLflow's."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from nbtrack.errors import InvalidValueError
from nbtrack.models import ParamSpec
from nbtrack.models.params import enforce_params

SPECS = (
    ParamSpec("k", "long", 3),
    ParamSpec("scale", "double", 1.0),
    ParamSpec("since", "datetime", "2024-01-01T00:00:00"),
    ParamSpec("labels", "string", ["a"], (-1,)),
)


def test_missing_params_get_their_defaults_as_python_values() -> None:
    assert enforce_params(SPECS, None) == {
        "k": 3,
        "scale": 1.0,
        "since": dt.datetime(2024, 1, 1),
        "labels": ["a"],
    }


def test_given_params_are_converted_as_mlflow_converts_them() -> None:
    given = {"k": np.int32(5), "scale": 2, "since": "2024-02-03", "labels": np.array(["x", "y"])}
    assert enforce_params(SPECS, given) == {
        "k": 5,
        "scale": 2.0,
        "since": dt.date(2024, 2, 3),
        "labels": ["x", "y"],
    }


def test_unknown_params_are_dropped_and_a_model_without_params_takes_none() -> None:
    assert enforce_params(SPECS, {"unknown": 1})["k"] == 3
    assert enforce_params(None, {"k": 1}) == {}


def test_every_wrong_param_is_named_with_its_type_but_not_its_value() -> None:
    with pytest.raises(InvalidValueError) as refused:
        enforce_params(SPECS, {"k": 2.5, "labels": "SECRET", "since": 7})
    message = str(refused.value)
    assert "param 'k' is a float, which cannot become long" in message
    assert "param 'labels' takes a list of string values (shape (-1,)); it is a str" in message
    assert "param 'since' is an int that is not a date or datetime" in message
    assert "SECRET" not in message and "2.5" not in message


def test_an_int_a_double_cannot_hold_exactly_is_refused_not_rounded() -> None:
    with pytest.raises(InvalidValueError, match="beyond ±2\\*\\*53"):
        enforce_params(SPECS, {"scale": 2**53 + 1})


def test_params_that_are_not_a_dict_are_refused() -> None:
    with pytest.raises(InvalidValueError, match=r"params must be a dict .*; got a list"):
        enforce_params(SPECS, [1, 2])
