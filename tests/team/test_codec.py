"""What a store call's arguments and results become on the wire, and back: nothing changed,
nothing outside the allowlist built."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nbtrack.entities import Experiment, ModelVersion, Run, RunSpan
from nbtrack.errors import InvalidValueError
from nbtrack.store.remote import codec
from nbtrack.store.runs import ResumeState

UTC = dt.UTC
WHEN = dt.datetime(2026, 12, 5, 23, 30, 1, 123456, tzinfo=UTC)


def _round_trip(value: object) -> Any:
    return codec.loads(codec.dumps(value))


@pytest.mark.parametrize(
    "value",
    [
        None, True, False, 0, -(2**70), 1.5, -0.0, 1e308, "täst", b"\x00\xff",
        [1, "a", None], (1, (2, 3)), {1: "int key", "1": "str key", (1, 2): [3]},
        WHEN, dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        {"nested": [{"$": "looks like a tag"}]},
    ],
)  # fmt: skip
def test_plain_values_come_back_equal_and_of_the_same_type(value: object) -> None:
    back = _round_trip(value)
    assert back == value
    assert type(back) is type(value)


def test_nan_and_the_infinities_are_kept_as_they_are() -> None:
    back = _round_trip([math.nan, math.inf, -math.inf])
    assert math.isnan(back[0])
    assert back[1:] == [math.inf, -math.inf]


def test_numpy_numbers_travel_as_python_numbers() -> None:
    assert _round_trip([np.int64(3), np.float64(0.25)]) == [3, 0.25]


def test_entities_come_back_equal_with_their_nested_values() -> None:
    run = Run(
        "a" * 32, "bright-fox", "1", "FINISHED", WHEN, WHEN + dt.timedelta(seconds=3),
        params={"lr": 0.1, "layers": [64, 32], "on": True}, metrics={"loss": math.inf},
        tags={"team": "x"}, spans=(RunSpan(WHEN, None),),
    )  # fmt: skip
    state = ResumeState(run, {"lr": "0.1"}, 7, {"loss": 3})
    back = _round_trip(state)
    assert isinstance(back, ResumeState)
    assert back.run.metrics == {"loss": math.inf}
    assert back == state
    version = ModelVersion("m", 2, None, "runs:/x/model", "READY", ("champion",), WHEN, "/p")
    assert _round_trip([version, Experiment("1", "e", "active", WHEN, "/a")])[0] == version


def test_a_dataframe_keeps_its_dtypes_time_zones_missing_values_and_index() -> None:
    frame = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "start_time": pd.to_datetime([WHEN, WHEN, None], utc=True),
            "params.epochs": pd.array([1, None, 3], dtype="Int64"),
            "params.on": pd.array([True, None, False], dtype="boolean"),
            "metrics.loss": [0.5, math.nan, math.inf],
            "tags.team": ["x", None, "y"],
        },
        index=pd.Index([10, 20, 30]),
    )
    back = _round_trip(frame)
    pd.testing.assert_frame_equal(back, frame)


def test_an_empty_dataframe_keeps_its_columns() -> None:
    frame = pd.DataFrame({"run_id": pd.Series([], dtype="str"), "value": []})
    back = _round_trip(frame)
    assert list(back.columns) == ["run_id", "value"]
    assert len(back) == 0


@pytest.mark.parametrize("value", [{1, 2}, Path("/etc/passwd"), object(), dt.date(2026, 1, 1)])
def test_a_value_of_another_type_is_refused_naming_it_and_what_is_accepted(value: object) -> None:
    with pytest.raises(InvalidValueError, match=rf"{type(value).__name__}.*accepted: None"):
        codec.dumps(value)


@pytest.mark.parametrize(
    ("document", "refusal"),
    [
        ({"$": "entity", "type": "Run", "v": {"id": "x"}}, "needs exactly the fields"),
        ({"$": "entity", "type": "Path", "v": {}}, "'Path' is not one of"),
        ({"$": "float", "v": "1e999"}, "cannot be read"),
        ({"$": "bytes", "v": "not base64!"}, "cannot be read"),
        ({"$": "datetime", "v": "yesterday"}, "cannot be read"),
        ({"$": "frame", "v": "AAAA"}, "not an Arrow IPC stream"),
        ({"$": "__import__", "v": "os"}, "is not one of"),
        ({"no": "tag"}, "not in nbtrack's call format"),
    ],
)
def test_a_document_of_another_shape_is_refused(document: object, refusal: str) -> None:
    with pytest.raises(InvalidValueError, match=refusal):
        codec.loads(json.dumps(document).encode())


def test_a_document_nested_too_deeply_is_refused_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidValueError, match=r"JSON|deeply"):
        codec.loads(deep.encode())
