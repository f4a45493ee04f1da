"""nbtrack.compare(): the run table, its selection driving the chart, and refreshing by itself.

Widgets need no front end here: ipywidgets keeps their state in Python without a kernel, and
the browser's clicks are the same trait changes the tests make on ``view.table``.
"""

from __future__ import annotations

import gc
import json
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbtrack
from nbtrack.widgets import poller
from nbtrack.widgets.compare import CompareWidget, compare

Factory = Callable[..., CompareWidget]


def log_runs(n: int, experiment: str = "sweep", steps: int = 3) -> list[str]:
    """Runs named r00, r01, ... with acc rising with the index and a short loss curve."""
    nbtrack.set_experiment(experiment)
    ids = []
    for i in range(n):
        with nbtrack.start_run(name=f"r{i:02d}") as run:
            nbtrack.log_params({"lr": round(0.001 * (i + 1), 6), "optimizer": "sgd"})
            for step in range(steps):
                nbtrack.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            nbtrack.log_metric("acc", 0.5 + i / 1000)
            ids.append(run.id)
    return ids


def names(view: CompareWidget) -> list[str]:
    return [row["run_name"] for row in view.table.rows]


def spec_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every data row of a Vega-Lite spec, inline or consolidated into ``datasets``."""
    rows = list(spec.get("data", {}).get("values", []))
    for values in spec.get("datasets", {}).values():
        rows.extend(values)
    return rows


def charted_runs(view: CompareWidget) -> set[str]:
    return {row["run"] for row in spec_rows(view.chart_spec()) if "run" in row}


def test_compare_shows_an_experiments_runs_in_a_table(open_view: Factory) -> None:
    log_runs(3)
    view = open_view("sweep")
    assert view.table.total == 3
    assert names(view) == ["r02", "r01", "r00"]  # newest first, as search_runs
    assert view.table.columns[:4] == ["run_name", "status", "start_time", "duration"]
    assert {"metrics.acc", "metrics.loss", "params.lr", "params.optimizer"} <= set(
        view.table.columns
    )
    assert not [c for c in view.table.columns if c.startswith("tags.nbtrack.")]
    assert "3 runs" in view.children[1].value
    assert all(row["status"] == "FINISHED" for row in view.table.rows)


def test_the_chart_shows_the_first_five_runs_until_the_user_selects(open_view: Factory) -> None:
    log_runs(7)
    view = open_view("sweep")
    assert view.selected == list(view.runs["run_id"][:5])
    assert charted_runs(view) == {"r06", "r05", "r04", "r03", "r02"}
    assert view.chart_spec()["mark"]["type"] == "line"
    assert "loss" in json.dumps(view.chart_spec()["title"])  # the metric with a curve


def test_selecting_rows_changes_the_charted_runs(open_view: Factory) -> None:
    ids = log_runs(6)
    view = open_view("sweep")
    view.select([ids[0], ids[3]])
    assert view.selected == [ids[0], ids[3]]
    assert charted_runs(view) == {"r00", "r03"}
    assert view.table.selected == [ids[0], ids[3]]

    view.table.selected = [ids[5]]  # a click in the browser
    assert view.selected == [ids[5]]
    assert charted_runs(view) == {"r05"}

    with pytest.raises(nbtrack.InvalidValueError, match="not among"):
        view.select(["0" * 32])


def test_sorting_by_a_metric_orders_the_rows(open_view: Factory) -> None:
    log_runs(5)
    view = open_view("sweep")
    view.sort("metrics.acc", descending=True)
    assert names(view) == ["r04", "r03", "r02", "r01", "r00"]
    view.sort("metrics.acc")
    assert names(view) == ["r00", "r01", "r02", "r03", "r04"]
    assert view.table.sort_by == "metrics.acc"
    assert not view.table.sort_desc
    assert list(view.runs["run_name"]) == names(view)

    view.table.sort_desc = True  # a second click on the header
    assert names(view)[0] == "r04"
    with pytest.raises(nbtrack.InvalidValueError, match=r"no column 'metrics\.nope'"):
        view.sort("metrics.nope")


def test_sorting_moves_the_automatic_selection_but_not_a_chosen_one(open_view: Factory) -> None:
    ids = log_runs(8)
    view = open_view("sweep")
    view.sort("metrics.acc")
    assert view.selected == ids[:5]
    view.select([ids[7]])
    view.sort("metrics.acc", descending=True)
    assert view.selected == [ids[7]]


def test_sixty_runs_make_three_pages_of_twenty_five(open_view: Factory) -> None:
    log_runs(60, steps=1)
    view = open_view("sweep")
    view.sort("run_name")
    assert view.table.total == 60
    assert len(view.table.rows) == 25
    view.go_to_page(2)
    assert view.table.page == 2
    assert names(view) == [f"r{i:02d}" for i in range(25, 50)]  # runs 26 to 50
    view.table.page = 3  # the next-page button
    assert names(view) == [f"r{i:02d}" for i in range(50, 60)]
    view.go_to_page(9)
    assert view.table.page == 3
    view.sort("run_name", descending=True)
    assert view.table.page == 1
    assert names(view)[0] == "r59"


def test_a_filter_narrows_the_runs_and_a_bad_one_is_shown_not_raised(open_view: Factory) -> None:
    log_runs(6)
    view = open_view("sweep")
    view.set_filter("metrics.acc > 0.5025")
    assert sorted(view.runs["run_name"]) == ["r03", "r04", "r05"]
    assert "3 runs match the filter" in view.children[1].value

    view.children[0].value = "metrics.acc >"  # typed into the filter box
    status = view.children[1].value
    assert "invalid filter" in status
    assert "color" in status
    assert len(view.runs) == 3  # the last good filter still applies

    view.set_filter("params.optimizer = 'adam'")
    assert view.runs.empty
    assert view.table.empty_message == "No run matches this filter."
    assert "no run" in json.dumps(view.chart_spec()).lower()

    view.set_filter("")
    assert len(view.runs) == 6
    assert "invalid" not in view.children[1].value


def test_a_bad_filter_given_to_compare_is_shown_in_the_widget(open_view: Factory) -> None:
    log_runs(2)
    view = open_view("sweep", filter="metrics.acc >>> 1")
    assert "invalid filter" in view.children[1].value
    assert view.children[0].value == "metrics.acc >>> 1"
    assert len(view.runs) == 2


def test_chart_kinds_switch(open_view: Factory) -> None:
    log_runs(4)
    view = open_view("sweep")
    assert view.chart_spec()["mark"]["type"] == "line"
    view.set_chart(kind="bar", metric="acc")
    assert view.chart_spec()["mark"]["type"] == "bar"
    view.set_chart(kind="scatter", param="lr")
    spec = view.chart_spec()
    assert spec["mark"]["type"] == "point"
    assert spec["encoding"]["x"]["title"] == "lr"
    view.children[3].children[0].value = "history"  # the toggle buttons
    assert view.chart_spec()["mark"]["type"] == "line"
    with pytest.raises(nbtrack.InvalidValueError, match="pie"):
        view.set_chart(kind="pie")
    with pytest.raises(nbtrack.InvalidValueError, match="'f1' is not one of: acc, loss"):
        view.set_chart(metric="f1")


def test_refresh_shows_a_new_run_and_the_new_points_of_a_running_run(
    open_view: Factory,
) -> None:
    log_runs(2)
    running = nbtrack.start_run(name="live")
    for step in range(3):
        nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
    nbtrack.flush()
    view = open_view("sweep")
    view.sort("metrics.loss", descending=True)
    view.set_filter("metrics.loss > 0")
    view.select([running.id])
    view.go_to_page(1)
    assert len(spec_rows(view.chart_spec())) == 3

    for step in range(3, 6):
        nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
    nbtrack.end_run()
    with nbtrack.start_run(name="late"):
        nbtrack.log_metric("loss", 0.5)
    nbtrack.flush()
    view.refresh()

    assert len(view.runs) == 4
    assert "late" in names(view)
    assert view.selected == [running.id]
    assert len(spec_rows(view.chart_spec())) == 6  # the curve grew
    assert view.table.sort_by == "metrics.loss"
    assert view.table.sort_desc
    assert view.children[0].value == "metrics.loss > 0"


def test_the_poller_refreshes_a_view_by_itself(open_view: Factory) -> None:
    log_runs(2)
    view = open_view("sweep")
    with nbtrack.start_run(name="arrives-later"):
        nbtrack.log_metric("acc", 0.9)
    nbtrack.flush()
    deadline = time.monotonic() + 5
    while "arrives-later" not in names(view) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "arrives-later" in names(view)
    assert poller.running()


def test_compare_takes_run_ids_and_run_objects(open_view: Factory) -> None:
    ids = log_runs(4)
    nbtrack.set_experiment("other")
    with nbtrack.start_run(name="elsewhere") as run:
        nbtrack.log_metric("acc", 0.1)
    elsewhere = nbtrack.get_run(run.id)
    view = open_view(runs=[ids[1], elsewhere, run])
    assert sorted(names(view)) == ["elsewhere", "r01"]
    assert "experiment" in view.table.columns  # two experiments: say which is which
    assert "the runs given" in view.children[1].value
    with pytest.raises(nbtrack.InvalidValueError, match="is not a run"):
        compare(runs=["not-a-run"])


def test_table_rows_are_plain_json(open_view: Factory) -> None:
    log_runs(2)
    with nbtrack.start_run(name="odd"):
        nbtrack.log_metric("acc", float("nan"))
        nbtrack.log_metric("loss", float("inf"))
        nbtrack.log_param("layers", [64, 32])
    running = nbtrack.start_run(name="still-running")
    nbtrack.log_metric("acc", 0.123456789)
    nbtrack.flush()
    view = open_view("sweep")
    rows = json.loads(json.dumps(view.table.rows, allow_nan=False))
    by_name = {row["run_name"]: row for row in rows}
    assert by_name["odd"]["metrics.acc"] is None
    assert by_name["odd"]["metrics.loss"] == "inf"
    assert by_name["still-running"]["metrics.acc"] == 0.123457
    assert by_name["still-running"]["status"] == "RUNNING"
    assert isinstance(by_name["still-running"]["duration"], float)
    assert len(by_name["r00"]["start_time"]) == len("2025-01-01 12:00:00")
    assert all(row["run_id"] for row in rows)
    running.end()


def test_an_empty_experiment_says_there_are_no_runs_yet(open_view: Factory) -> None:
    nbtrack.create_experiment("empty")
    view = open_view("empty")
    assert view.runs.empty
    assert view.table.rows == []
    assert "No runs yet" in view.table.empty_message
    assert "0 runs" in view.children[1].value
    assert "no runs" in json.dumps(view.chart_spec()).lower()


def test_runs_without_metrics_have_a_table_and_no_chart(open_view: Factory) -> None:
    nbtrack.set_experiment("params-only")
    with nbtrack.start_run(name="p"):
        nbtrack.log_param("lr", 0.1)
    view = open_view("params-only")
    assert names(view) == ["p"]
    assert "no metrics" in json.dumps(view.chart_spec()).lower()


def test_an_unknown_experiment_raises_at_the_call(store_path: Path) -> None:
    with pytest.raises(nbtrack.NotFoundError, match="nope"):
        compare("nope")


def test_closed_views_leave_the_poller_and_are_freed(store_path: Path) -> None:
    log_runs(1)
    views = [compare("sweep") for _ in range(5)]
    refs = [weakref.ref(view) for view in views]
    assert set(poller.watched()) >= set(views)
    for view in views:
        view.close()
    del views, view
    gc.collect()
    assert [ref for ref in refs if ref() is not None] == []
    assert poller.watched() == []
    deadline = time.monotonic() + 5
    while poller.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not poller.running()  # the thread ends with the last widget


def test_running_a_cell_again_closes_the_view_it_made_before(open_view: Factory) -> None:
    log_runs(1)
    shell = InteractiveShell.instance()
    shell.user_ns["compare"] = compare
    try:
        shell.run_cell("view = compare('sweep')", store_history=True, cell_id="cell-1")
        first = shell.user_ns["view"]
        shell.run_cell("view = compare('sweep')", store_history=True, cell_id="cell-1")
        second = shell.user_ns["view"]
        shell.run_cell("other = compare('sweep')", store_history=True, cell_id="cell-2")
        assert first.marker is None  # closed
        assert second.marker is not None
        assert set(poller.watched()) == {second, shell.user_ns["other"]}
    finally:
        for name in ("view", "other"):
            shell.user_ns.pop(name).close()


def test_runs_picked_in_the_chart_come_back_to_python(open_view: Factory) -> None:
    ids = log_runs(3)
    view = open_view("sweep")
    assert view.picked == []
    chart = view.children[4]
    # What the front end sends when a line is clicked.
    chart._vl_selections = {
        "pick": {"value": {"vlPoint": {"or": [{"run_id": ids[1]}]}}, "store": []}
    }
    assert view.picked == [ids[1]]


def test_a_refresh_that_cannot_read_says_so_and_keeps_the_runs(
    open_view: Factory, store_path: Path
) -> None:
    log_runs(2)
    view = open_view("sweep")
    nbtrack.set_tracking_uri(store_path.with_name("elsewhere.duckdb"))
    view.refresh()
    assert "not refreshed: the tracking URI changed" in view.children[1].value
    assert len(view.runs) == 2

    nbtrack.set_tracking_uri(None)  # back to the store the view was made on
    view.refresh()
    assert "not refreshed" not in view.children[1].value
    nbtrack.delete_experiment("sweep")
    view.refresh()
    assert view.runs.empty
