"""The run table's state on its own: filter, sort, page and select runs of a real store, with no
widget and no browser."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import nbtrack
from nbtrack.tracking.run_table import RunTableState


def log_runs(n: int, experiment: str = "sweep") -> list[str]:
    """Runs r00, r01, ... (newest last) with acc rising with the index; every third run has
    no acc, and the width param is text that only sorts right as numbers."""
    nbtrack.set_experiment(experiment)
    ids = []
    for i in range(n):
        with nbtrack.start_run(name=f"r{i:02d}") as run:
            nbtrack.log_params({"width": str(10 ** (i % 3) + i), "optimizer": "sgd"})
            if i % 3 != 2:
                nbtrack.log_metric("acc", 0.5 + i / 100)
            nbtrack.set_tag("team", "vision")
        ids.append(run.id)
    return ids


def names(table: RunTableState) -> list[str]:
    return [row["run_name"] for row in table.page_rows()]


def test_a_new_table_lists_the_runs_newest_first_and_selects_the_first_five(
    store_path: Path,
) -> None:
    ids = log_runs(7)
    table = RunTableState("sweep")
    assert table.total == 7
    assert list(table.runs["run_name"]) == [f"r{i:02d}" for i in reversed(range(7))]
    assert table.selected == list(reversed(ids))[:5]
    assert table.picked == []
    assert (table.sort_by, table.sort_desc, table.page, table.pages) == ("", False, 1, 1)
    assert table.filter is None and table.filter_error is None


def test_the_current_experiment_is_the_default(store_path: Path) -> None:
    log_runs(2, experiment="mine")
    table = RunTableState()
    assert table.experiment == "mine"
    assert table.total == 2


def test_columns_are_fixed_then_metrics_params_and_tags_without_nbtracks_own(
    store_path: Path,
) -> None:
    log_runs(3)
    table = RunTableState("sweep")
    assert table.columns == [
        "run_name", "status", "start_time", "duration",
        "metrics.acc", "params.optimizer", "params.width", "tags.team",
    ]  # fmt: skip
    assert "duration" in table.sortable and "metrics.acc" in table.sortable


def test_sorting_by_a_metric_puts_missing_values_last_either_way(store_path: Path) -> None:
    log_runs(6)  # r02 and r05 have no acc
    table = RunTableState("sweep")
    table.sort("metrics.acc")
    assert names(table)[:4] == ["r00", "r01", "r03", "r04"]
    assert set(names(table)[4:]) == {"r02", "r05"}
    table.sort("metrics.acc", descending=True)
    assert names(table)[:4] == ["r04", "r03", "r01", "r00"]
    assert set(names(table)[4:]) == {"r02", "r05"}
    assert (table.sort_by, table.sort_desc) == ("metrics.acc", True)
    table.sort("")
    assert names(table) == ["r05", "r04", "r03", "r02", "r01", "r00"]


def test_a_text_param_of_numbers_sorts_as_numbers(store_path: Path) -> None:
    log_runs(4)  # widths "1", "11", "102", "4"
    table = RunTableState("sweep")
    table.sort("params.width")
    assert [row["params.width"] for row in table.page_rows()] == ["1", "4", "11", "102"]


def test_sorting_by_an_unknown_column_raises_and_lists_the_sortable_ones(
    store_path: Path,
) -> None:
    log_runs(2)
    table = RunTableState("sweep")
    with pytest.raises(nbtrack.InvalidValueError, match=r"no column 'metrics\.f1'.*metrics\.acc"):
        table.sort("metrics.f1")
    assert table.sort_by == ""


def test_sorting_moves_the_automatic_selection_but_not_a_chosen_one(store_path: Path) -> None:
    ids = log_runs(8)
    table = RunTableState("sweep")
    table.sort("run_name")
    assert table.selected == ids[:5]
    table.select([ids[7], ids[6], ids[7]])
    assert table.selected == [ids[7], ids[6]]
    table.sort("run_name", descending=True)
    assert table.selected == [ids[7], ids[6]]


def test_pages_hold_page_size_runs_and_out_of_range_pages_clamp(store_path: Path) -> None:
    log_runs(7)
    table = RunTableState("sweep", page_size=3)
    table.sort("run_name")
    assert table.pages == 3
    assert names(table) == ["r00", "r01", "r02"]
    table.go_to_page(3)
    assert names(table) == ["r06"]
    table.go_to_page(99)
    assert table.page == 3
    table.go_to_page(0)
    assert table.page == 1
    table.go_to_page(2)
    table.sort("run_name", descending=True)
    assert table.page == 1  # a new order starts at the top
    with pytest.raises(nbtrack.InvalidValueError, match="page must be an int"):
        table.go_to_page(True)


@pytest.mark.parametrize("page_size", [0, -1, True, 2.5])
def test_a_page_size_that_is_not_a_positive_int_raises(store_path: Path, page_size: object) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match="page_size must be a positive int"):
        RunTableState("sweep", page_size=page_size)  # type: ignore[arg-type]


def test_a_filter_narrows_the_runs_and_goes_back_to_the_first_page(store_path: Path) -> None:
    log_runs(7)
    table = RunTableState("sweep", page_size=2)
    table.go_to_page(3)
    assert table.set_filter("  metrics.acc > 0.53  ")
    assert table.filter == "metrics.acc > 0.53"
    assert sorted(table.runs["run_name"]) == ["r04", "r06"]
    assert table.page == 1

    assert table.set_filter("params.optimizer = 'adam'") is True
    assert table.total == 0 and table.page_rows() == [] and table.pages == 1
    assert table.selected == []
    assert table.empty_message == "No run matches this filter."

    assert table.set_filter("") is True
    assert table.filter is None and table.total == 7


def test_a_bad_filter_changes_nothing_but_the_error(store_path: Path) -> None:
    log_runs(4)
    table = RunTableState("sweep")
    table.set_filter("metrics.acc > 0.5")
    before = list(table.runs["run_id"])
    assert table.set_filter("metrics.acc >") is False
    assert table.filter_error is not None and "invalid filter" in table.filter_error
    assert table.filter == "metrics.acc > 0.5"
    assert list(table.runs["run_id"]) == before
    table.set_filter(None)
    assert table.filter_error is None


def test_a_bad_filter_at_open_is_kept_for_show_and_every_run_listed(store_path: Path) -> None:
    log_runs(3)
    table = RunTableState("sweep", filter="metrics.acc >>> 1")
    assert table.total == 3
    assert table.filter is None
    assert table.filter_error is not None and "invalid filter" in table.filter_error


def test_an_unknown_experiment_or_run_raises_at_open(store_path: Path) -> None:
    log_runs(1)
    with pytest.raises(nbtrack.NotFoundError, match="nope"):
        RunTableState("nope")
    with pytest.raises(nbtrack.InvalidValueError, match="is not a run"):
        RunTableState(runs=["not-a-run"])


def test_given_runs_from_two_experiments_add_the_experiment_column(store_path: Path) -> None:
    ids = log_runs(3)
    nbtrack.set_experiment("other")
    with nbtrack.start_run(name="elsewhere") as run:
        nbtrack.log_metric("acc", 0.1)
    table = RunTableState(runs=[ids[1], nbtrack.get_run(run.id)])
    assert sorted(table.runs["run_name"]) == ["elsewhere", "r01"]
    assert table.columns[4] == "experiment"
    assert table.given_runs == [ids[1], run.id]


def test_empty_messages_say_why_there_are_no_rows(store_path: Path) -> None:
    nbtrack.create_experiment("empty")
    assert RunTableState("empty").empty_message.startswith("No runs yet in experiment 'empty'")
    assert RunTableState(runs=[]).empty_message == "None of the given runs exists any more."


def test_selecting_an_unknown_run_raises_and_keeps_the_selection(store_path: Path) -> None:
    ids = log_runs(3)
    table = RunTableState("sweep")
    table.select([ids[0]])
    with pytest.raises(nbtrack.InvalidValueError, match=r"select\(\): '0+' not among the 3"):
        table.select([ids[1], "0" * 32])
    assert table.selected == [ids[0]]


def test_picking_a_run_selects_it_and_turns_to_its_page(store_path: Path) -> None:
    ids = log_runs(7)
    table = RunTableState("sweep", page_size=3)
    table.sort("run_name")
    table.select([ids[0]])
    table.pick([ids[5]])
    assert table.picked == [ids[5]]
    assert table.selected == [ids[0], ids[5]]
    assert table.page == 2
    table.pick([ids[1], ids[4]])  # r04 is on this page: stay there
    assert table.page == 2
    table.pick([])
    assert table.picked == [] and table.page == 2
    with pytest.raises(nbtrack.InvalidValueError, match=r"pick\(\)"):
        table.pick(["f" * 32])


def test_runs_picked_in_a_chart_leave_the_selection_alone(store_path: Path) -> None:
    ids = log_runs(7)
    table = RunTableState("sweep", page_size=3)
    table.sort("run_name")
    table.select([ids[0], ids[6]])
    table.pick_shown([ids[6], "f" * 32, ids[6]])
    assert table.picked == [ids[6]]
    assert table.selected == [ids[0], ids[6]]
    assert table.page == 3


def test_adding_to_the_selection_keeps_its_order_and_makes_it_a_choice(store_path: Path) -> None:
    ids = log_runs(7)
    table = RunTableState("sweep")
    table.sort("run_name")
    table.add_to_selection([ids[6], ids[0]])
    assert table.selected == [*ids[:5], ids[6]]
    table.sort("run_name", descending=True)
    assert table.selected == [*ids[:5], ids[6]]  # no longer the automatic choice


def test_known_and_labels_answer_only_for_runs_in_the_table(store_path: Path) -> None:
    ids = log_runs(2)
    table = RunTableState("sweep")
    assert table.known([ids[1], "0" * 32, ids[0]]) == [ids[1], ids[0]]
    assert table.labels([ids[0], "0" * 32]) == {ids[0]: f"r00 ({ids[0][:8]})"}


def test_refresh_keeps_filter_order_and_selection_and_shows_new_runs(store_path: Path) -> None:
    ids = log_runs(4)
    table = RunTableState("sweep", page_size=2)
    table.set_filter("params.optimizer = 'sgd'")
    table.sort("run_name", descending=True)
    table.select([ids[1], ids[2]])
    table.go_to_page(2)
    with nbtrack.start_run(name="r99"):
        nbtrack.log_param("optimizer", "sgd")
    nbtrack.delete_run(ids[2])
    nbtrack.flush()

    table.refresh()

    assert names(table) == ["r01", "r00"]
    assert list(table.runs["run_name"]) == ["r99", "r03", "r01", "r00"]
    assert table.selected == [ids[1]]
    assert table.filter == "params.optimizer = 'sgd'" and table.page == 2


def test_a_refresh_that_drops_every_selected_run_selects_automatically_again(
    store_path: Path,
) -> None:
    ids = log_runs(3)
    table = RunTableState("sweep")
    table.select([ids[0]])
    nbtrack.delete_run(ids[0])
    nbtrack.flush()
    table.refresh()
    assert table.selected == [ids[2], ids[1]]


def test_page_rows_are_plain_json(store_path: Path) -> None:
    nbtrack.set_experiment("odd")
    with nbtrack.start_run(name="odd"):
        nbtrack.log_metric("acc", float("nan"))
        nbtrack.log_metric("loss", float("inf"))
        nbtrack.log_metric("f1", 0.123456789)
        nbtrack.log_param("layers", [64, 32])
    table = RunTableState("odd")
    (row,) = json.loads(json.dumps(table.page_rows(), allow_nan=False))
    assert row["metrics.acc"] is None
    assert row["metrics.loss"] == "inf"
    assert row["metrics.f1"] == 0.123457
    assert row["duration"].endswith(("ms", " s"))  # with its unit
    assert len(row["start_time"]) == len("2025-01-01 12:00:00")
    assert set(table.page_rows(["run_name"])[0]) == {"run_id", "run_name"}


def test_the_state_imports_no_widget_library() -> None:
    code = (
        "import sys, nbtrack.tracking.run_table; "
        "print(sorted(m for m in ('ipywidgets', 'IPython', 'altair', 'anywidget', 'pandas') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- saying what holds: a sort that cannot apply, a refused filter, a key no run has -------------


def test_a_sort_column_the_filter_removes_falls_back_to_the_default_order_and_returns(
    store_path: Path,
) -> None:
    log_runs(6)  # r02 and r05 have no acc
    table = RunTableState("sweep")
    table.sort("metrics.acc", descending=True)
    assert table.set_filter("attributes.run_name IN ('r02', 'r05')")

    assert names(table) == ["r05", "r02"]
    assert (table.sort_by, table.sorted_by) == ("metrics.acc", "")
    assert table.sort_note is not None and "not sorted by metrics.acc" in table.sort_note
    assert table.selected == list(table.runs["run_id"])  # the automatic choice followed

    table.set_filter(None)
    assert table.sorted_by == "metrics.acc" and table.sort_note is None
    assert names(table)[0] == "r04"


def test_a_refused_filter_marks_the_rows_stale_until_one_is_applied(store_path: Path) -> None:
    log_runs(4)
    table = RunTableState("sweep")
    assert not table.stale
    table.set_filter("metrics.acc >")
    assert table.stale and table.filter is None
    table.set_filter("metrics.acc > 0")
    assert not table.stale


def test_a_filter_naming_a_key_no_run_has_says_so_with_near_misses(store_path: Path) -> None:
    log_runs(3)
    table = RunTableState("sweep", filter="params.widht = '1'")
    assert table.total == 0
    assert table.filter_note == (
        "no run in experiment 'sweep' has params.widht (did you mean params.width?)"
    )
    assert table.empty_message.startswith("No run matches this filter: no run in")

    table.set_filter("tags.nope = 'x' or params.optimizer = 'sgd'")
    assert table.total == 3
    assert table.filter_note is not None and "tags.nope (did you mean" not in table.filter_note
    assert "tags.nope (tags logged: team)" in table.filter_note

    table.set_filter("metrics.acc IS NULL")  # a key some run has, none of these: fine
    assert table.total == 1 and table.filter_note is None


def test_filter_keys_come_from_the_tokens_not_the_values() -> None:
    from nbtrack.tracking.filter_keys import keys_named

    assert keys_named("params.a = 'metrics.b' and metric.`c d` > 1 and status = 'x'") == [
        "params.a",
        "metrics.c d",
    ]
    assert keys_named("metrics.acc >") == ["metrics.acc"]
    assert keys_named("'unterminated") == []


# -- choosing the runs to chart ------------------------------------------------------------------


def test_the_first_click_on_a_row_starts_the_users_own_selection(store_path: Path) -> None:
    ids = log_runs(7)
    table = RunTableState("sweep")
    assert table.auto_selected
    default = table.selected
    table.toggle(default[2])
    assert table.selected == [default[2]] and not table.auto_selected
    table.toggle(ids[0])
    table.toggle(default[2])
    assert table.selected == [ids[0]]
    with pytest.raises(nbtrack.InvalidValueError, match=r"toggle\(\)"):
        table.toggle("0" * 32)


def test_select_all_none_and_top_n(store_path: Path) -> None:
    ids = log_runs(7)
    table = RunTableState("sweep", page_size=3)
    table.select_all()
    assert table.selected == list(reversed(ids))  # every run, not just the page
    table.select_none()
    assert table.selected == [] and not table.auto_selected
    table.refresh()
    assert table.selected == []  # chosen: not replaced by the automatic five
    table.sort("metrics.acc", descending=True)
    table.select_top(2)
    assert table.selected == [ids[6], ids[4]]  # r05 has no acc: it sorts last
    for bad in (0, -1, True, 2.0):
        with pytest.raises(nbtrack.InvalidValueError, match="positive int"):
            table.select_top(bad)  # type: ignore[arg-type]
