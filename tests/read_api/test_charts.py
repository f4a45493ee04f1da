"""The pages' charts are Vega-Lite specs as data: checked here without a browser."""

from __future__ import annotations

import pytest

from nbtrack.read_api import charts

RUNS = [
    {
        "run_id": "a" * 32,
        "run_name": "a",
        "params.lr": 0.1,
        "params.opt": "sgd",
        "metrics.acc": 0.8,
    },
    {
        "run_id": "b" * 32,
        "run_name": "b",
        "params.lr": 0.2,
        "params.opt": "adam",
        "metrics.acc": 0.9,
    },
    {"run_id": "c" * 32, "run_name": "c", "params.lr": 0.3, "metrics.acc": float("nan")},
]


def test_history_draws_one_line_per_run_and_leaves_out_text_values() -> None:
    points = [
        {"run_id": "a" * 32, "run_name": "a", "step": 0, "value": 1.0},
        {"run_id": "a" * 32, "run_name": "a", "step": 1, "value": "nan"},
        {"run_id": "b" * 32, "run_name": "b", "step": 0, "value": 2.0},
    ]
    spec = charts.history_spec("loss", points)
    assert spec["mark"]["type"] == "line" and spec["encoding"]["color"]["field"] == "run"
    assert [v["run"] for v in spec["data"]["values"]] == ["a (aaaaaaaa)", "b (bbbbbbbb)"]


def test_scatter_puts_a_numeric_param_on_a_quantitative_axis_and_text_on_a_nominal_one() -> None:
    numeric = charts.scatter_spec("lr", "acc", RUNS)
    text = charts.scatter_spec("opt", "acc", RUNS)
    assert numeric["encoding"]["x"]["type"] == "quantitative"
    assert text["encoding"]["x"]["type"] == "nominal"
    assert len(text["data"]["values"]) == 2  # the run without the param is left out


def test_parallel_scales_each_numeric_axis_from_0_to_1() -> None:
    spec = charts.parallel_spec(["lr", "opt"], "acc", RUNS)
    axes = {v["axis"] for v in spec["data"]["values"]}
    assert axes == {"params.lr", "metrics.acc"}  # opt is text
    lr = sorted(v["scaled"] for v in spec["data"]["values"] if v["axis"] == "params.lr")
    assert lr == pytest.approx([0.0, 0.5, 1.0])
    acc = sorted(v["scaled"] for v in spec["data"]["values"] if v["axis"] == "metrics.acc")
    assert acc == [0.0, 1.0]  # the NaN run is off this axis, not a NaN on it
