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
    assert "3 runs" in view.status_text
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
    assert "3 runs match the filter" in view.status_text

    view.filter_box.value = "metrics.acc >"  # typed into the filter box
    status = view.status_text
    assert "invalid filter" in status
    assert "color" in view._status.value
    assert len(view.runs) == 3  # the last good filter still applies

    view.set_filter("params.optimizer = 'adam'")
    assert view.runs.empty
    assert view.table.empty_message == "No run matches this filter."
    assert "no run" in json.dumps(view.chart_spec()).lower()

    view.set_filter("")
    assert len(view.runs) == 6
    assert "invalid" not in view.status_text


def test_a_bad_filter_given_to_compare_is_shown_in_the_widget(open_view: Factory) -> None:
    log_runs(2)
    view = open_view("sweep", filter="metrics.acc >>> 1")
    assert "invalid filter" in view.status_text
    assert view.filter_box.value == "metrics.acc >>> 1"
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
    view._views.kind_box.value = "history"  # the toggle buttons
    assert view.chart_spec()["mark"]["type"] == "point"  # acc: logged once, a point per run
    view.set_chart(metric="loss")
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
    assert view.filter_box.value == "metrics.loss > 0"


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
    assert "the runs given" in view.status_text
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
    assert by_name["still-running"]["duration"].endswith(("ms", " s"))
    assert len(by_name["r00"]["start_time"]) == len("2025-01-01 12:00:00")
    assert all(row["run_id"] for row in rows)
    running.end()


def test_an_empty_experiment_says_there_are_no_runs_yet(open_view: Factory) -> None:
    nbtrack.create_experiment("empty")
    view = open_view("empty")
    assert view.runs.empty
    assert view.table.rows == []
    assert "No runs yet" in view.table.empty_message
    assert "0 runs" in view.status_text
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
    chart = view._views.chart
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
    assert "not refreshed: the tracking URI changed" in view.status_text
    assert len(view.runs) == 2

    nbtrack.set_tracking_uri(None)  # back to the store the view was made on
    view.refresh()
    assert "not refreshed" not in view.status_text
    nbtrack.delete_experiment("sweep")
    view.refresh()
    assert view.runs.empty


# -- what goes wrong is said, and the widget stays usable ------------------------------------------


def log_two_families() -> dict[str, list[str]]:
    """Four runs with auc (C over decades) and two without it (a forest with acc only)."""
    nbtrack.set_experiment("families")
    ids: dict[str, list[str]] = {"logreg": [], "forest": []}
    for i, c in enumerate((0.003, 0.03, 1.0, 10.0)):
        with nbtrack.start_run(name=f"lr-{i}") as run:
            nbtrack.log_params({"model": "logreg", "C": c})
            nbtrack.log_metric("auc", 0.99 + i / 1000)
        ids["logreg"].append(run.id)
    for n in (100, 200):
        with nbtrack.start_run(name=f"rf-{n}") as run:
            nbtrack.log_params({"model": "forest", "n_estimators": n})
            nbtrack.log_metric("acc", 0.9)
        ids["forest"].append(run.id)
    return ids


def test_a_sort_key_the_filter_removes_falls_back_to_the_default_order(
    open_view: Factory,
) -> None:
    ids = log_two_families()
    view = open_view("families")
    view.table.sort_by = "metrics.auc"  # a click on the header
    assert names(view)[0] == "lr-0"

    view.filter_box.value = "params.model = 'forest'"  # runs without auc

    assert names(view) == ["rf-200", "rf-100"]  # newest first: the default order
    assert "not sorted by metrics.auc" in view.status_text
    assert "failed" not in view.status_text
    assert view.table.sort_by == ""  # no arrow on a column that is not there
    assert set(charted_runs(view)) == {"rf-200", "rf-100"}

    view.filter_box.value = "params.model = 'logreg'"  # later filters still work...
    assert sorted(view.runs["run_id"]) == sorted(ids["logreg"])
    assert names(view) == ["lr-0", "lr-1", "lr-2", "lr-3"]  # ...and the sort comes back
    assert "not sorted" not in view.status_text


def test_an_error_in_a_callback_shows_in_the_status_line_and_the_widget_stays_usable(
    open_view: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_runs(4)
    view = open_view("sweep")
    broken = RuntimeError("the store went away")

    def fail(*args: Any, **kwargs: Any) -> None:
        raise broken

    with monkeypatch.context() as patch:
        patch.setattr(view._state, "sort", fail)
        view.table.sort_by = "metrics.acc"  # raises inside the callback: not to the caller

    assert "sort by metrics.acc failed: RuntimeError: the store went away" in view.status_text
    assert view.table.sort_by == ""  # the table shows the order in force again
    view.filter_box.value = "metrics.acc > 0.5015"  # the next action works...
    assert sorted(names(view)) == ["r02", "r03"]
    assert "failed" not in view.status_text  # ...and clears the message


def test_a_failing_refresh_is_said_in_the_status_line_whatever_the_error(
    open_view: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_runs(2)
    view = open_view("sweep")
    monkeypatch.setattr(view._state, "refresh", lambda: {}["metrics.auc"])
    view.refresh()  # what the poller thread calls
    assert "not refreshed: KeyError: 'metrics.auc'" in view.status_text
    assert len(view.runs) == 2


def test_a_refused_filter_replaces_the_count_and_greys_the_rows(open_view: Factory) -> None:
    log_runs(6)
    view = open_view("sweep")
    view.set_filter("metrics.acc > 0.5015")
    assert "4 runs match the filter" in view.status_text
    assert not view.table.stale

    view.filter_box.value = "metrics.acc >> 2"

    status = view.status_text
    assert "match the filter" not in status  # no count that reads as the bad filter's
    assert "filter not applied" in status
    assert "the greyed rows are the 4 runs of the filter metrics.acc > 0.5015" in status
    assert "invalid filter" in status
    assert view.table.stale  # the front end greys them
    assert "charted" not in status.splitlines()[0]

    view.filter_box.value = "metrics.acc > 0.5035"
    assert not view.table.stale
    assert "2 runs match the filter" in view.status_text


def test_a_filter_on_a_key_no_run_has_names_it_and_its_near_misses(open_view: Factory) -> None:
    log_two_families()
    view = open_view("families")
    view.filter_box.value = "metrics.acu > 0.5"
    assert "0 runs match the filter" in view.status_text
    assert (
        "no run in experiment 'families' has metrics.acu (did you mean metrics.auc or "
        "metrics.acc?)" in view.status_text
    )
    assert "metrics.acu" in view.table.empty_message

    view.filter_box.value = "metrics.nonexistent > 1"
    assert "metrics.nonexistent (metrics logged: acc, auc)" in view.status_text

    view.filter_box.value = "metrics.C > 1 or params.model = 'forest'"  # C is a param
    assert "2 runs match the filter" in view.status_text
    assert "metrics.C (did you mean params.C?)" in view.status_text

    view.filter_box.value = "metrics.auc IS NULL"  # a key some run has: nothing to say
    assert "no run in" not in view.status_text


# -- choosing the charted runs ---------------------------------------------------------------------


def click_row(view: CompareWidget, run_id: str) -> None:
    """What the table's JavaScript sends when a row is clicked."""
    view.table._handle_custom_msg({"event": "toggle", "run_id": run_id}, [])


def test_the_default_selection_is_shown_as_a_default(open_view: Factory) -> None:
    log_runs(7)
    view = open_view("sweep")
    assert view.table.auto_selected
    assert "charted: the first 5 (by default) — click rows to choose" in view.status_text
    view.select(view.selected[:2])
    assert not view.table.auto_selected
    assert "charted: 2 selected" in view.status_text


def test_the_first_click_chooses_that_run_instead_of_removing_it(open_view: Factory) -> None:
    ids = log_runs(7)
    view = open_view("sweep")
    wanted = view.selected[1]  # one of the default five

    click_row(view, wanted)

    assert view.selected == [wanted]  # chosen, not removed
    assert charted_runs(view) == {names_of(ids, wanted)}
    click_row(view, ids[0])  # later clicks add...
    assert view.selected == [wanted, ids[0]]
    click_row(view, wanted)  # ...and remove
    assert view.selected == [ids[0]]
    assert not view.table.auto_selected


def names_of(ids: list[str], run_id: str) -> str:
    return f"r{ids.index(run_id):02d}"


def test_select_all_none_and_the_top_n_by_the_sorted_column(open_view: Factory) -> None:
    ids = log_runs(8)
    view = open_view("sweep")
    bar = {button.description.split()[0]: button for button in view.selection_bar.children[1:4]}

    bar["all"].click()
    assert sorted(view.selected) == sorted(ids)
    assert "charted: 8 selected" in view.status_text

    bar["none"].click()
    assert view.selected == []
    assert "charted: none — click rows to choose" in view.status_text
    assert "no run selected" in json.dumps(view.chart_spec())
    view.refresh()
    assert view.selected == []  # a choice: the default five do not come back

    view.sort("metrics.acc", descending=True)
    top = view.selection_bar.children[3]
    assert top.description == "top 5 by metrics.acc (highest first)"
    view.selection_bar.children[4].value = 3
    assert top.description == "top 3 by metrics.acc (highest first)"
    top.click()
    assert view.selected == [ids[7], ids[6], ids[5]]
    with pytest.raises(nbtrack.InvalidValueError, match="positive int"):
        view.select_top(0)


def test_scatter_and_parallel_coordinates_draw_every_matching_run_by_default(
    open_view: Factory,
) -> None:
    ids = log_runs(16, steps=1)
    view = open_view("sweep")
    assert len(view.selected) == 5
    view.set_chart(kind="scatter", metric="acc", param="lr")
    assert len(charted_runs(view)) == 16
    assert "charted: all 16 matching runs" in view.status_text

    view.set_chart(runs="selected")
    assert len(charted_runs(view)) == 5
    assert "charted: the first 5 (by default)" in view.status_text

    view.set_chart(kind="parallel", runs="all")
    lines = next(layer for layer in view.chart_spec()["layer"] if layer["mark"]["type"] == "line")
    drawn = {row["run_id"] for row in spec_rows(view.chart_spec()) if "run_id" in row}
    assert drawn == set(ids)
    assert lines["encoding"]["detail"]["field"] == "run_id"


def test_the_chart_never_says_no_run_selected_while_runs_are_charted(open_view: Factory) -> None:
    log_two_families()
    view = open_view("families")
    view.sort("metrics.acc", descending=True)
    view.select_top(2)  # the forests: no auc
    view.set_chart(kind="history", metric="auc")
    text = json.dumps(view.chart_spec())
    assert "no run selected" not in text
    assert "none of these runs logged auc" in text
    assert "charted: 2 selected" in view.status_text


def test_the_duration_column_has_a_unit(open_view: Factory) -> None:
    log_runs(2)
    view = open_view("sweep")
    durations = [row["duration"] for row in view.table.rows]
    assert all(isinstance(d, str) and d.endswith((" ms", " s", " min")) for d in durations)
    view.sort("duration", descending=True)  # still sorted as a number of seconds
    assert view.table.sort_by == "duration"
