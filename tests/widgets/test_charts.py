"""Charts are data: each builder is checked through the Vega-Lite spec it produces."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import pytest
import vl_convert

from nbtrack.errors import InvalidValueError
from nbtrack.widgets.alias_chart import alias_history_chart
from nbtrack.widgets.chart_parts import HEIGHT, MAX_ROWS, WIDTH
from nbtrack.widgets.charts import bar_chart, chart_for, history_chart, scatter_chart
from nbtrack.widgets.parallel_chart import MISSING_AT, parallel_chart

NAN, INF = math.nan, math.inf
HISTORY_COLUMNS = ["run_id", "run_name", "key", "step", "value"]


def histories(runs: int, steps: int, key: str = "loss") -> pd.DataFrame:
    """``runs`` runs named run-0, run-1, … each with ``steps`` points of ``key``."""
    rows = [
        (f"id{r:04d}", f"run-{r}", key, s, 1.0 / (s + r + 1))
        for r in range(runs)
        for s in range(steps)
    ]
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def runs_frame(n: int, **columns: Any) -> pd.DataFrame:
    """``n`` finished runs as search_runs returns them, plus ``columns``."""
    frame = pd.DataFrame(
        {
            "run_id": [f"id{r:04d}" for r in range(n)],
            "run_name": [f"run-{r}" for r in range(n)],
            "experiment": ["Default"] * n,
            "status": ["FINISHED"] * n,
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def spec(chart: alt.Chart) -> dict[str, Any]:
    """The Vega-Lite spec, validated against the schema (to_dict's default)."""
    result: dict[str, Any] = chart.to_dict(validate=True)
    return result


def rows(chart: alt.Chart) -> list[dict[str, Any]]:
    """The data rows the spec carries, inline or moved to the top-level datasets."""
    data = spec(chart)
    inline = data["data"]
    values: list[dict[str, Any]] = (
        inline["values"] if "values" in inline else data["datasets"][inline["name"]]
    )
    return values


def fields(chart: alt.Chart) -> set[str]:
    """Every field name the encodings refer to."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("field"), str):
                yield node["field"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    return set(walk(spec(chart)["encoding"]))


def title(chart: alt.Chart) -> tuple[str, str | None]:
    heading = spec(chart)["title"]
    return heading["text"], heading.get("subtitle")


def assert_no_data(chart: alt.Chart, what: str) -> None:
    """A chart titled ``what`` that says once, in its middle, why it draws nothing."""
    data = spec(chart)
    assert data["mark"]["type"] == "text"
    assert data["title"] == {"text": what}
    ((row),) = rows(chart)
    assert row["text"] and row["text"] != what
    assert_pickable(chart)


def reason(chart: alt.Chart) -> str:
    """What a chart with nothing to draw says instead."""
    text: str = rows(chart)[0]["text"]
    return text


def assert_pickable(chart: alt.Chart) -> None:
    data = spec(chart)
    assert data["params"] == [{"name": "pick", "select": {"type": "point", "fields": ["run_id"]}}]
    assert data["width"] == WIDTH


def svg(chart: alt.Chart) -> str:
    text: str = vl_convert.vegalite_to_svg(chart.to_json())
    return text


# -- history ---------------------------------------------------------------------------------------


def test_history_draws_one_line_per_run_coloured_by_run_name() -> None:
    chart = history_chart(histories(50, 10), "loss")

    data = spec(chart)
    assert data["mark"]["type"] == "line"
    assert data["mark"]["point"]["filled"] is True
    encoding = data["encoding"]
    assert encoding["x"]["field"] == "step"
    assert encoding["x"]["type"] == "quantitative"
    assert encoding["y"] == {
        "field": "value",
        "type": "quantitative",
        "title": "loss",
        "scale": {"zero": False},
    }
    assert encoding["color"]["field"] == "run"
    assert encoding["color"]["title"] == "run"
    assert encoding["detail"] == {"field": "run_id", "type": "nominal"}
    assert [t["field"] for t in encoding["tooltip"]] == ["run", "run_id", "step", "value"]
    assert len(rows(chart)) == 500
    assert {row["run"] for row in rows(chart)} == {f"run-{r}" for r in range(50)}
    assert (data["width"], data["height"]) == (WIDTH, HEIGHT)
    assert title(chart) == ("loss", None)


def test_history_of_one_run_carries_its_points_and_only_the_columns_drawn() -> None:
    frame = histories(1, 3).assign(seq=[1, 2, 3], timestamp=[10, 20, 30])

    chart = history_chart(frame, "loss")

    assert rows(chart) == [
        {"run_id": "id0000", "run": "run-0", "step": s, "value": 1.0 / (s + 1)} for s in range(3)
    ]
    assert_pickable(chart)


def test_history_highlights_the_picked_run() -> None:
    opacity = spec(history_chart(histories(2, 2), "loss"))["encoding"]["opacity"]

    assert opacity == {"condition": [{"param": "pick", "value": 1.0}], "value": 0.25}


def test_history_draws_only_the_chosen_metric() -> None:
    frame = pd.concat([histories(3, 4, "loss"), histories(3, 5, "acc")], ignore_index=True)

    chart = history_chart(frame, "acc")

    assert len(rows(chart)) == 15
    assert spec(chart)["encoding"]["y"]["title"] == "acc"


def test_history_without_runs_says_no_data() -> None:
    assert_no_data(history_chart(pd.DataFrame(columns=HISTORY_COLUMNS), "loss"), "loss")
    assert_no_data(history_chart(pd.DataFrame(), "loss"), "loss")
    assert reason(history_chart(pd.DataFrame(), "loss")) == "no run to draw"


def test_history_of_a_metric_no_run_logged_says_no_data() -> None:
    chart = history_chart(histories(3, 4, "loss"), "acc")

    assert_no_data(chart, "acc")
    assert reason(chart) == "none of these runs logged acc"


def test_history_leaves_out_nan_and_inf_and_says_how_many() -> None:
    frame = histories(2, 4)
    frame.loc[[1, 5, 6], "value"] = [NAN, INF, -INF]

    chart = history_chart(frame, "loss")

    assert title(chart) == ("loss", "3 non-finite points not drawn")
    assert len(rows(chart)) == 5
    assert all(math.isfinite(row["value"]) for row in rows(chart))
    json.loads(chart.to_json(), parse_constant=pytest.fail)  # strict JSON: no NaN / Infinity


def test_history_of_only_non_finite_values_says_no_data() -> None:
    frame = histories(1, 2).assign(value=[NAN, INF])

    chart = history_chart(frame, "loss")

    assert_no_data(chart, "loss")
    assert reason(chart) == "all 2 points are non-finite"


def test_history_key_with_dots_quotes_and_unicode_is_a_title_never_a_field() -> None:
    key = 'val.loss "top-1" ü→✓'
    frame = histories(2, 3, key)

    chart = history_chart(frame, key)

    assert fields(chart) == {"run", "run_id", "step", "value"}
    assert spec(chart)["encoding"]["y"]["title"] == key
    assert spec(chart)["encoding"]["tooltip"][-1]["title"] == key
    assert title(chart)[0] == key
    assert len(rows(chart)) == 6


def test_history_tells_apart_runs_sharing_a_name() -> None:
    frame = histories(2, 2).assign(run_name="same")

    chart = history_chart(frame, "loss")

    assert {row["run"] for row in rows(chart)} == {"same (id0000)", "same (id0001)"}


def test_history_of_a_run_without_a_name_shows_its_id() -> None:
    frame = histories(1, 2).assign(run_name=None)

    assert {row["run"] for row in rows(history_chart(frame, "loss"))} == {"id0000"}


def test_history_of_5000_points_is_drawn() -> None:
    assert len(rows(history_chart(histories(5, MAX_ROWS // 5), "loss"))) == MAX_ROWS


def test_history_over_5000_points_asks_to_downsample() -> None:
    with pytest.raises(
        InvalidValueError, match=r"5,001 points .*'loss'.* at most 5,000.*downsample"
    ):
        history_chart(histories(1, MAX_ROWS + 1), "loss")


def test_history_ignores_the_global_data_transformer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with alt.data_transformers.enable("json"):  # would write every dataset to a file
        chart = history_chart(histories(2, 3), "loss")
        assert len(rows(chart)) == 6
    assert list(tmp_path.iterdir()) == []


def test_history_renders_to_svg_with_the_run_names() -> None:
    frame = histories(3, 5)
    frame["run_name"] = frame["run_name"].map(
        {"run-0": "swift-otter", "run-1": "calm-heron", "run-2": "café-ß"}
    )
    frame.loc[0, "value"] = NAN

    image = svg(history_chart(frame, "loss"))

    assert "<svg" in image
    for name in ("swift-otter", "calm-heron", "café-ß", "1 non-finite point not drawn"):
        assert name in image


# -- scatter ---------------------------------------------------------------------------------------


def test_scatter_puts_a_numeric_param_on_a_continuous_axis() -> None:
    runs = runs_frame(50, **{"params.lr": [r / 100 for r in range(50)]})
    runs["metrics.acc"] = [r / 50 for r in range(50)]

    chart = scatter_chart(runs, "lr", "acc")

    data = spec(chart)
    assert data["mark"]["type"] == "point"
    assert data["encoding"]["x"] == {
        "field": "x",
        "type": "quantitative",
        "title": "lr",
        "scale": {"zero": False},
    }
    assert data["encoding"]["y"]["field"] == "y"
    assert data["encoding"]["y"]["title"] == "acc"
    assert data["encoding"]["color"]["field"] == "status"
    assert [t["field"] for t in data["encoding"]["tooltip"]] == ["run", "x", "y", "status"]
    assert len(rows(chart)) == 50
    assert rows(chart)[3] == {
        "run_id": "id0003",
        "run": "run-3",
        "status": "FINISHED",
        "x": 0.03,
        "y": 0.06,
    }
    assert title(chart) == ("acc by lr", None)
    assert_pickable(chart)


def test_scatter_puts_a_text_param_in_categories() -> None:
    runs = runs_frame(3, **{"params.optimizer": ["adam", "sgd", "adam"], "metrics.acc": [1, 2, 3]})

    chart = scatter_chart(runs, "optimizer", "acc")

    x = spec(chart)["encoding"]["x"]
    assert x == {"field": "x", "type": "nominal", "title": "optimizer"}
    assert [row["x"] for row in rows(chart)] == ["adam", "sgd", "adam"]


def test_scatter_puts_a_boolean_param_in_categories() -> None:
    flags = pd.array([True, False], dtype="boolean")
    runs = runs_frame(2, **{"params.shuffle": flags, "metrics.acc": [0.5, 0.7]})

    chart = scatter_chart(runs, "shuffle", "acc")

    assert spec(chart)["encoding"]["x"]["type"] == "nominal"
    assert [row["x"] for row in rows(chart)] == [True, False]


def test_scatter_of_an_integer_param_with_gaps_skips_the_runs_without_it() -> None:
    epochs = pd.array([10, None, 30], dtype="Int64")
    runs = runs_frame(3, **{"params.epochs": epochs, "metrics.acc": [0.5, 0.6, 0.7]})

    chart = scatter_chart(runs, "epochs", "acc")

    assert spec(chart)["encoding"]["x"]["type"] == "quantitative"
    assert [(row["x"], row["y"]) for row in rows(chart)] == [(10, 0.5), (30, 0.7)]
    assert title(chart)[1] == "1 run not drawn (epochs or acc missing or non-finite)"


def test_scatter_of_one_run() -> None:
    runs = runs_frame(1, **{"params.lr": [0.1], "metrics.acc": [0.9]})

    assert rows(scatter_chart(runs, "lr", "acc")) == [
        {"run_id": "id0000", "run": "run-0", "status": "FINISHED", "x": 0.1, "y": 0.9}
    ]


def test_scatter_without_runs_says_no_data() -> None:
    empty = runs_frame(0, **{"params.lr": [], "metrics.acc": []})

    assert_no_data(scatter_chart(empty, "lr", "acc"), "acc by lr")
    assert_no_data(scatter_chart(pd.DataFrame(), "lr", "acc"), "acc by lr")


def test_scatter_of_a_missing_param_or_metric_names_the_column() -> None:
    runs = runs_frame(2, **{"params.lr": [0.1, 0.2], "metrics.acc": [0.5, 0.6]})

    no_param = scatter_chart(runs, "momentum", "acc")
    no_metric = scatter_chart(runs, "lr", "f1")

    assert_no_data(no_param, "acc by momentum")
    assert reason(no_param) == "no run has params.momentum"
    assert_no_data(no_metric, "f1 by lr")
    assert reason(no_metric) == "no run has metrics.f1"


def test_scatter_leaves_out_nan_and_inf_metrics_and_params() -> None:
    runs = runs_frame(
        5, **{"params.lr": [0.1, INF, 0.3, 0.4, 0.5], "metrics.acc": [NAN, 0.2, -INF, 0.4, 0.5]}
    )

    chart = scatter_chart(runs, "lr", "acc")

    assert [row["run"] for row in rows(chart)] == ["run-3", "run-4"]
    assert title(chart)[1] == "3 runs not drawn (lr or acc missing or non-finite)"
    json.loads(chart.to_json(), parse_constant=pytest.fail)


def test_scatter_keys_with_dots_quotes_and_unicode_become_plain_fields() -> None:
    param, metric = 'optim.lr "base"', "val.acc@ü"
    runs = runs_frame(2, **{f"params.{param}": [0.1, 0.2], f"metrics.{metric}": [0.5, 0.6]})

    chart = scatter_chart(runs, param, metric)

    assert fields(chart) == {"run", "x", "y", "status"}
    assert spec(chart)["encoding"]["x"]["title"] == param
    assert spec(chart)["encoding"]["y"]["title"] == metric
    assert [(row["x"], row["y"]) for row in rows(chart)] == [(0.1, 0.5), (0.2, 0.6)]
    assert "params." not in json.dumps(rows(chart))


def test_scatter_accepts_keys_given_with_their_prefix() -> None:
    runs = runs_frame(2, **{"params.lr": [0.1, 0.2], "metrics.acc": [0.5, 0.6]})

    assert len(rows(scatter_chart(runs, "params.lr", "metrics.acc"))) == 2


def test_scatter_colours_each_status_as_the_run_cards_do() -> None:
    runs = runs_frame(2, **{"params.lr": [0.1, 0.2], "metrics.acc": [0.5, 0.6]})
    runs["status"] = ["FAILED", "RUNNING"]

    scale = spec(scatter_chart(runs, "lr", "acc"))["encoding"]["color"]["scale"]

    assert scale["domain"] == ["RUNNING", "FINISHED", "FAILED", "KILLED"]
    assert scale["range"][2] == "rgb(229,57,53)"


def test_scatter_renders_to_svg_with_its_categories() -> None:
    runs = runs_frame(2, **{"params.opt": ["adam", "sgd"], "metrics.acc": [0.5, 0.6]})
    runs["run_name"] = ["swift-otter", "ünïcode-run"]

    image = svg(scatter_chart(runs, "opt", "acc"))

    assert "<svg" in image
    assert "acc by opt" in image
    assert "adam" in image


# -- bar -------------------------------------------------------------------------------------------


def test_bar_draws_one_bar_per_run_sorted_by_value() -> None:
    runs = runs_frame(50, **{"metrics.acc": [(r * 7 % 50) / 50 for r in range(50)]})

    chart = bar_chart(runs, "acc")

    data = spec(chart)
    assert data["mark"]["type"] == "bar"
    assert data["encoding"]["x"] == {"field": "x", "type": "quantitative", "title": "acc"}
    assert data["encoding"]["y"] == {
        "field": "run",
        "type": "nominal",
        "title": "run",
        "sort": "-x",
    }
    assert data["encoding"]["color"]["field"] == "status"
    assert len(rows(chart)) == 50
    assert data["height"] >= 50 * 16
    assert title(chart) == ("acc", None)
    assert_pickable(chart)


def test_bar_of_one_run() -> None:
    chart = bar_chart(runs_frame(1, **{"metrics.acc": [0.9]}), "acc")

    assert rows(chart) == [{"run_id": "id0000", "run": "run-0", "status": "FINISHED", "x": 0.9}]
    assert spec(chart)["height"] == HEIGHT


def test_bar_without_runs_or_metric_says_no_data() -> None:
    assert_no_data(bar_chart(runs_frame(0, **{"metrics.acc": []}), "acc"), "acc")
    assert_no_data(bar_chart(pd.DataFrame(), "acc"), "acc")
    chart = bar_chart(runs_frame(2, **{"metrics.acc": [0.1, 0.2]}), "f1")
    assert_no_data(chart, "f1")
    assert reason(chart) == "no run has metrics.f1"


def test_bar_skips_missing_and_non_finite_values_and_says_so() -> None:
    chart = bar_chart(runs_frame(4, **{"metrics.acc": [0.5, NAN, INF, None]}), "acc")

    assert [row["run"] for row in rows(chart)] == ["run-0"]
    assert title(chart)[1] == "3 runs not drawn (acc missing or non-finite)"


def test_bar_of_a_dotted_unicode_metric_keeps_plain_fields() -> None:
    metric = 'eval.f1 "macro" ✓'
    chart = bar_chart(runs_frame(2, **{f"metrics.{metric}": [0.1, 0.2]}), metric)

    assert fields(chart) == {"run", "x", "status"}
    assert spec(chart)["encoding"]["x"]["title"] == metric


def test_bar_renders_to_svg_with_the_run_names() -> None:
    runs = runs_frame(3, **{"metrics.acc": [0.5, 0.7, 0.6]})
    runs["run_name"] = ["swift-otter", "calm-heron", "jolly-ĳssel"]

    image = svg(bar_chart(runs, "acc"))

    assert "<svg" in image
    for name in runs["run_name"]:
        assert name in image


# -- chart_for -------------------------------------------------------------------------------------


def test_chart_for_builds_the_chart_of_each_kind() -> None:
    runs = runs_frame(2, **{"params.lr": [0.1, 0.2], "metrics.loss": [0.5, 0.6]})
    history = histories(2, 3)

    assert spec(chart_for("history", runs, history, "loss", None)) == spec(
        history_chart(history, "loss")
    )
    assert spec(chart_for("scatter", runs, history, "loss", "lr")) == spec(
        scatter_chart(runs, "lr", "loss")
    )
    assert spec(chart_for("bar", runs, history, "loss", "lr")) == spec(bar_chart(runs, "loss"))


def test_chart_for_scatter_without_a_param_asks_for_one() -> None:
    chart = chart_for(
        "scatter", runs_frame(1, **{"metrics.acc": [1.0]}), histories(1, 1), "acc", None
    )

    assert_no_data(chart, "acc")
    assert reason(chart) == "choose a param to plot it against"


def test_chart_for_an_unknown_kind_names_it_and_the_accepted_ones() -> None:
    with pytest.raises(InvalidValueError, match=r"'pie'.*'history', 'scatter', 'bar'"):
        chart_for("pie", pd.DataFrame(), pd.DataFrame(), "acc", None)


@pytest.mark.parametrize("kind", ["history", "scatter", "bar"])
@pytest.mark.parametrize("n_runs", [0, 1, 50])
def test_every_chart_is_valid_pickable_and_of_the_same_width(kind: str, n_runs: int) -> None:
    runs = runs_frame(n_runs, **{"params.lr": [0.1] * n_runs, "metrics.loss": [0.5] * n_runs})

    chart = chart_for(kind, runs, histories(n_runs, 3), "loss", "lr")

    assert isinstance(chart, alt.Chart)
    assert_pickable(chart)
    assert "<svg" in svg(chart)


# -- alias history -------------------------------------------------------------------------------


def alias_moves(*moves: tuple[str, int | None, int | None, str]) -> pd.DataFrame:
    """Rows of ``get_alias_history``: (alias, version, previous_version, changed_at)."""
    return pd.DataFrame(
        {
            "alias": [m[0] for m in moves],
            "version": pd.array([m[1] for m in moves], dtype="Int64"),
            "previous_version": pd.array([m[2] for m in moves], dtype="Int64"),
            "changed_at": pd.to_datetime([m[3] for m in moves], utc=True),
            "changed_by": ["ada"] * len(moves),
        }
    )


def _alias_rows(chart: alt.LayerChart | alt.Chart) -> list[dict[str, Any]]:
    data = chart.to_dict()
    (rows,) = data["datasets"].values()
    return list(rows)


def test_alias_history_draws_a_step_line_per_alias_up_to_now() -> None:
    history = alias_moves(
        ("champion", 1, None, "2026-01-01T00:00:00"),
        ("champion", 2, 1, "2026-01-02T00:00:00"),
        ("challenger", 3, None, "2026-01-03T00:00:00"),
    )
    chart = alias_history_chart(history, now=pd.Timestamp("2026-01-04", tz="UTC"))
    rows = _alias_rows(chart)
    ends = [(r["alias"], r["version"], r["kind"]) for r in rows if r["kind"] == "now"]
    assert sorted(ends) == [("challenger", 3, "now"), ("champion", 2, "now")]
    assert {r["move"] for r in rows if r["kind"] == "set"} == {
        "set to version 1", "version 1 → 2", "set to version 3"
    }  # fmt: skip
    layers = chart.to_dict()["layer"]
    assert layers[0]["mark"]["interpolate"] == "step-after"
    assert layers[0]["encoding"]["y"]["axis"]["values"] == [1, 2, 3]
    assert "<svg" in svg(chart)


def test_a_removed_alias_ends_its_line_with_a_cross_and_a_new_one_starts_after() -> None:
    history = alias_moves(
        ("champion", 1, None, "2026-01-01T00:00:00"),
        ("champion", None, 1, "2026-01-02T00:00:00"),
        ("champion", 2, None, "2026-01-03T00:00:00"),
    )
    rows = _alias_rows(alias_history_chart(history, now=pd.Timestamp("2026-01-04", tz="UTC")))
    assert [(r["kind"], r["version"], r["stint"]) for r in rows] == [
        ("set", 1, 0), ("removed", 1, 0), ("set", 2, 1), ("now", 2, 1)
    ]  # fmt: skip
    assert rows[1]["move"] == "removed (was version 1)"


def test_an_alias_removed_for_good_is_not_drawn_on_to_now() -> None:
    history = alias_moves(
        ("champion", 1, None, "2026-01-01T00:00:00"), ("champion", None, 1, "2026-01-01T00:00:03")
    )
    chart = alias_history_chart(history)
    assert [r["kind"] for r in _alias_rows(chart)] == ["set", "removed"]
    # seconds apart: the time axis speaks in seconds, not milliseconds
    assert chart.to_dict()["layer"][0]["encoding"]["x"]["axis"]["format"] == "%H:%M:%S"


def test_no_alias_history_says_so() -> None:
    chart = alias_history_chart(alias_moves())
    assert "no alias was ever set" in json.dumps(chart.to_dict())


# -- parallel coordinates and picking -------------------------------------------------------------


def sweep(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": [f"{i:032x}" for i in range(n)],
            "run_name": [f"r{i}" for i in range(n)],
            "status": ["FINISHED"] * n,
            "params.lr": [0.001, 0.01, 0.1, 0.1][:n],
            "params.optimizer": ["adam", "sgd", "adam", "rmsprop"][:n],
            "metrics.acc": [0.7, 0.8, 0.9, NAN][:n],
        }
    )


def _layer_rows(chart: alt.LayerChart | alt.Chart, index: int) -> list[dict[str, Any]]:
    data = chart.to_dict()
    layer = data["layer"][index]
    name = (layer.get("data") or data["data"])["name"]
    return list(data["datasets"][name])


def test_parallel_coordinates_put_each_param_on_its_own_scaled_axis() -> None:
    chart = parallel_chart(sweep(), "acc")
    spec = chart.to_dict()
    lines = spec["layer"][1]
    assert lines["encoding"]["x"]["sort"] == ["lr", "optimizer", "acc"]
    rows = _layer_rows(chart, 1)
    # the run with a NaN acc is left out; lr spans two orders of magnitude: a log axis
    assert {r["run"] for r in rows} == {"r0", "r1", "r2"}
    lr = {r["run"]: r["position"] for r in rows if r["axis"] == "lr"}
    assert lr == pytest.approx({"r0": 0.0, "r1": 0.5, "r2": 1.0})
    optimizer = {r["run"]: r["position"] for r in rows if r["axis"] == "optimizer"}
    assert optimizer == {"r0": 0.0, "r1": 1.0, "r2": 0.0}  # adam, sgd: sorted categories
    labels = {(r["axis"], r["label"]) for r in _layer_rows(chart, 2) + _layer_rows(chart, 3)}
    assert {("lr", "0.001"), ("lr", "0.1"), ("optimizer", "adam"), ("acc", "0.9")} <= labels
    assert "<svg" in svg(chart)


def test_parallel_coordinates_without_the_metric_or_params_say_why() -> None:
    runs = sweep()
    assert "no run has metrics.loss" in json.dumps(parallel_chart(runs, "loss").to_dict())
    bare = runs.drop(columns=["params.lr", "params.optimizer"])
    assert "no run has a param" in json.dumps(parallel_chart(bare, "acc").to_dict())


def test_parallel_coordinates_draw_at_most_eight_params() -> None:
    runs = sweep().assign(**{f"params.p{i}": float(i) for i in range(10)})
    spec = parallel_chart(runs, "acc").to_dict()
    assert len(spec["layer"][1]["encoding"]["x"]["sort"]) == 9
    assert "4 params more not drawn" in spec["title"]["subtitle"]


@pytest.mark.parametrize("kind", ["history", "scatter", "bar", "parallel"])
def test_picked_runs_start_out_selected_in_every_chart(kind: str) -> None:
    runs = sweep(3)
    history = histories(3, 4).assign(run_id=runs["run_id"].repeat(4).to_numpy())
    chart = chart_for(
        kind, runs, history, "acc" if kind != "history" else "loss", "lr", ["0" * 31 + "1"]
    )
    (pick,) = [p for p in chart.to_dict()["params"] if p["name"] == "pick"]
    assert pick["value"] == [{"run_id": "0" * 31 + "1"}]


# -- charts for sweeps -----------------------------------------------------------------------------


def two_families() -> pd.DataFrame:
    """A sweep as search_runs returns it: logistic regression over C (decades) and a solver,
    random forests over n_estimators and max_depth (text: "None" among numbers)."""
    n = 7
    frame = runs_frame(
        n,
        **{
            "params.C": [0.003, 0.03, 1.0, 10.0, NAN, NAN, NAN],
            "params.model": ["logreg"] * 4 + ["forest"] * 3,
            "params.solver": ["lbfgs", "saga", "lbfgs", "saga", NAN, NAN, NAN],
            "params.n_estimators": pd.array([None] * 4 + [50, 100, 200], dtype="Int64"),
            "params.max_depth": [NAN] * 4 + ["None", "5", "10"],
            "metrics.auc": [0.991, 0.994, 0.996, 0.993, 0.997, 0.998, 0.9985],
        },
    )
    # pandas' own text dtype, whose missing values are NaN: what search_runs gives.
    return frame.astype({"params.solver": "str", "params.max_depth": "str", "params.model": "str"})


def test_scatter_puts_a_param_spanning_decades_on_a_log_axis() -> None:
    runs = two_families()
    chart = scatter_chart(runs, "C", "auc")
    assert spec(chart)["encoding"]["x"]["scale"] == {"type": "log"}
    assert title(chart)[1] is not None and "log axis: C spans 3.5 decades" in title(chart)[1]

    linear = spec(scatter_chart(runs, "C", "auc", log=False))
    assert linear["encoding"]["x"]["scale"] == {"zero": False}
    narrow = runs.assign(**{"params.C": [1.0, 2.0, 5.0, 9.0, NAN, NAN, NAN]})
    assert spec(scatter_chart(narrow, "C", "auc"))["encoding"]["x"]["scale"] == {"zero": False}
    assert spec(scatter_chart(narrow, "C", "auc", log=True))["encoding"]["x"]["scale"] == {
        "type": "log"
    }


def test_a_log_axis_is_refused_for_values_at_or_below_zero_and_says_why() -> None:
    runs = runs_frame(3, **{"params.shift": [-1.0, 0.0, 100.0], "metrics.acc": [0.1, 0.2, 0.3]})
    chart = scatter_chart(runs, "shift", "acc", log=True)
    assert spec(chart)["encoding"]["x"]["scale"] == {"zero": False}
    assert "linear axis: shift has values ≤ 0" in str(title(chart)[1])


def test_bars_of_values_crowded_far_from_zero_start_near_them() -> None:
    chart = bar_chart(two_families(), "auc")
    encoding = spec(chart)["encoding"]
    start, end = encoding["x"]["scale"]["domain"]
    assert 0.985 < start < 0.991 and 0.9985 < end < 0.9995
    assert encoding["x2"] == {"datum": start}  # every bar starts there
    assert spec(chart)["mark"] == {"type": "bar", "clip": True}
    assert str(title(chart)[1]).startswith(f"bars start at {start:.4g}, not 0")
    # The shortest bar is still a bar, and well apart from the longest.
    assert (0.991 - start) / (end - start) > 0.1
    assert "<svg" in svg(chart)


def test_bars_of_values_far_apart_or_around_zero_start_at_zero() -> None:
    for values in ([0.2, 0.9], [-0.5, 0.5], [0.99, 0.99], [3.0, 300.0]):
        chart = bar_chart(runs_frame(2, **{"metrics.m": values}), "m")
        assert "scale" not in spec(chart)["encoding"]["x"], values
        assert "x2" not in spec(chart)["encoding"], values


def test_a_metric_logged_once_per_run_is_a_point_per_run() -> None:
    once = histories(4, 1, "acc")
    chart = history_chart(once, "acc")
    data = spec(chart)
    assert data["mark"]["type"] == "point"
    assert data["encoding"]["y"]["field"] == "run"  # a row per run, not a column at step 0
    assert data["encoding"]["x"]["field"] == "value"
    assert len(rows(chart)) == 4
    assert title(chart) == ("acc", "logged once per run: a point each")
    assert_pickable(chart)
    # Some history in one run: lines again.
    mixed = pd.concat([once, histories(1, 3, "acc")], ignore_index=True)
    assert spec(history_chart(mixed, "acc"))["mark"]["type"] == "line"


def parallel_layers(chart: alt.LayerChart | alt.Chart) -> dict[str, list[dict[str, Any]]]:
    """The rows of each layer of a parallel-coordinates chart, by mark and text filter."""
    data = chart.to_dict()
    found: dict[str, list[dict[str, Any]]] = {}
    for index, layer in enumerate(data["layer"]):
        name, rows_ = layer["mark"]["type"], _layer_rows(chart, index)
        if "transform" in layer:  # the label layers share their rows, filtered by side
            side = layer["transform"][0]["filter"].split("===")[-1].strip(" '\")")
            name, rows_ = f"{name}:{side}", [row for row in rows_ if row["side"] == side]
        found[name] = rows_
    return found


def test_parallel_coordinates_of_two_families_group_their_axes_and_mark_what_is_not_set() -> None:
    chart = parallel_chart(two_families(), "auc")
    data = chart.to_dict()
    layers = parallel_layers(chart)
    lines = data["layer"][1]
    # Shared params first, then each family's side by side, the metric last.
    assert lines["encoding"]["x"]["sort"] == [
        "model", "C", "solver", "max_depth", "n_estimators", "auc",
    ]  # fmt: skip
    points = layers["line"]
    assert "nan" not in json.dumps(data, allow_nan=False).lower()  # no "nan" tick, no NaN
    forest_c = [p for p in points if p["axis"] == "C" and p["run"] in ("run-4", "run-5")]
    assert {p["position"] for p in forest_c} == {MISSING_AT}
    assert {p["value"] for p in forest_c} == {"not set"}
    gaps = {row["axis"] for row in layers["text:gap"]}
    assert gaps == {"C", "solver", "max_depth", "n_estimators"}
    assert {row["label"] for row in layers["text:gap"]} == {"not set"}
    assert data["layer"][1]["encoding"]["y"]["scale"]["domain"][0] < MISSING_AT
    assert "<svg" in svg(chart)


def test_parallel_coordinates_put_text_params_on_categorical_axes_in_natural_order() -> None:
    chart = parallel_chart(two_families(), "auc")
    points = parallel_layers(chart)["line"]
    depth = {p["value"]: p["position"] for p in points if p["axis"] == "max_depth"}
    assert depth == {"5": 0.0, "10": 0.5, "None": 1.0, "not set": MISSING_AT}
    labels = {
        (row["axis"], row["label"])
        for name, rows_ in parallel_layers(chart).items()
        if name.startswith("text")
        for row in rows_
    }
    assert {("solver", "lbfgs"), ("solver", "saga"), ("model", "forest"), ("model", "logreg")} <= (
        labels
    )


def test_parallel_coordinates_use_a_log_axis_for_decades_with_a_label_per_decade() -> None:
    runs = two_families()
    chart = parallel_chart(runs, "auc")
    assert chart.to_dict()["title"]["subtitle"] == "log axis: C"
    c_points = {
        p["value"]: p["position"] for p in parallel_layers(chart)["line"] if p["axis"] == "C"
    }
    assert c_points["0.03"] == pytest.approx(1 / math.log10(10 / 0.003))  # evenly by decade
    c_labels = {
        row["label"]
        for name, rows_ in parallel_layers(chart).items()
        if name.startswith("text")
        for row in rows_
        if row["axis"] == "C"
    }
    assert {"0.003", "10", "0.01", "0.1", "1"} <= c_labels

    linear = parallel_chart(runs, "auc", log=False)
    assert "subtitle" not in linear.to_dict()["title"]
    c_linear = {
        p["value"]: p["position"] for p in parallel_layers(linear)["line"] if p["axis"] == "C"
    }
    assert c_linear["0.03"] == pytest.approx((0.03 - 0.003) / (10 - 0.003))
