"""A page of runs as the runs table asks for it: filter, sort, columns, paging."""

from __future__ import annotations

from pathlib import Path

import nbtrack
from nbtrack.read_api import routes
from tests.read_api.conftest import ask
from tests.web.runs_for_ui import Logged


def test_experiments_lists_the_three_experiments(logged: Logged) -> None:
    names = [e["name"] for e in ask("experiments")["experiments"]]
    assert set(logged.experiments) <= set(names)


def test_a_filter_keeps_the_runs_it_matches(logged: Logged) -> None:
    page = ask(
        "runs", experiment="sweep", filter="metrics.acc > 0.75 and params.optimizer = 'adam'"
    )
    assert [r["run_name"] for r in page["rows"]] == ["sweep-1"]
    assert page["total"] == 1 and page["filter_error"] is None


def test_a_bad_filter_lists_every_run_and_says_what_is_wrong(logged: Logged) -> None:
    page = ask("runs", experiment="sweep", filter="metrics.acc >>> 1")
    assert page["total"] == 4  # three runs and the child
    assert page["filter_error"] and "metrics.acc >>> 1" in page["filter_error"]


def test_sorted_by_a_metric_descending(logged: Logged) -> None:
    page = ask("runs", experiment="tuning", sort="-metrics.acc")
    values = [r["metrics.acc"] for r in page["rows"]]
    assert values == sorted(values, reverse=True) and page["sort"] == "-metrics.acc"


def test_a_sort_on_a_column_no_run_has_says_so_and_keeps_the_newest_first(
    logged: Logged,
) -> None:
    page = ask("runs", experiment="tuning", sort="metrics.nope")
    assert "metrics.nope" in page["sort_note"]
    assert [r["run_name"] for r in page["rows"]] == ["tuning-2", "tuning-1", "tuning-0"]


def test_a_sort_on_something_not_a_column_is_refused_by_name(logged: Logged) -> None:
    answer = routes.answer("GET", "runs", {"experiment": "tuning", "sort": "bogus"})
    assert answer.status == 400 and "bogus" in answer.data["error"]


def test_pages_hold_page_size_runs_and_the_last_one_the_rest(store_path: Path) -> None:
    nbtrack.set_experiment("many")
    for i in range(23):
        with nbtrack.start_run(name=f"r{i:02d}"):
            nbtrack.log_metric("i", i)
    first = ask("runs", experiment="many", page_size=10, sort="metrics.i")
    last = ask("runs", experiment="many", page_size=10, sort="metrics.i", page=3)
    assert (first["total"], first["pages"], len(first["rows"])) == (23, 3, 10)
    assert [r["metrics.i"] for r in last["rows"]] == [20, 21, 22]


def test_columns_chosen_are_the_only_ones_sent(logged: Logged) -> None:
    page = ask("runs", experiment="sweep", columns="run_name,metrics.acc")
    assert page["columns"] == ["run_name", "metrics.acc"]
    assert set(page["rows"][0]) == {"run_id", "run_name", "metrics.acc"}
    assert "params.lr" in page["all_columns"]


def test_the_chooser_lists_every_column_of_the_experiment(logged: Logged) -> None:
    columns = ask("columns", experiment="sweep")["columns"]
    assert columns[:4] == ["run_name", "status", "start_time", "duration"]
    assert {"metrics.acc", "metrics.loss", "params.lr", "params.optimizer", "tags.team"} <= set(
        columns
    )
    assert not any(c.startswith("tags.nbtrack.") for c in columns)


def test_something_not_a_column_is_refused_naming_it_and_what_is_accepted(
    logged: Logged,
) -> None:
    answer = routes.answer("GET", "runs", {"experiment": "sweep", "columns": "lr"})
    assert answer.status == 400
    assert "'lr'" in answer.data["error"] and "params.<key>" in answer.data["error"]


def test_page_size_out_of_range_is_refused(logged: Logged) -> None:
    answer = routes.answer("GET", "runs", {"experiment": "sweep", "page_size": "100000"})
    assert answer.status == 400 and "page_size='100000'" in answer.data["error"]


def test_an_unknown_experiment_is_a_404_naming_the_existing_ones(logged: Logged) -> None:
    answer = routes.answer("GET", "runs", {"experiment": "nope"})
    assert answer.status == 404 and "baseline" in answer.data["error"]


def test_a_run_logged_after_a_page_was_read_is_in_the_next_page(logged: Logged) -> None:
    before = ask("runs", experiment="baseline")["total"]
    nbtrack.set_experiment("baseline")
    with nbtrack.start_run(name="late"):
        pass
    nbtrack.search_runs(experiment="baseline")  # this process's records into the store
    after = ask("runs", experiment="baseline")
    assert after["total"] == before + 1 and after["rows"][0]["run_name"] == "late"


def test_an_unchanged_store_answers_from_the_cache_without_opening_duckdb(
    logged: Logged, store_path: Path
) -> None:
    ask("runs/" + logged.showcase)
    # The file moved away, its markers left as they are: a read of the store would not find
    # the run (or the file), an answer from the cache still does.
    aside = store_path.with_name("aside.duckdb")
    store_path.rename(aside)
    try:
        again = ask("runs/" + logged.showcase)
    finally:
        aside.rename(store_path)
    assert again["id"] == logged.showcase


def test_a_duration_sort_is_made_by_the_run_table_state(logged: Logged) -> None:
    page = ask("runs", experiment="sweep", sort="-duration")
    assert page["sort"] == "-duration"
    assert page["rows"][0]["run_name"] == "sweep-0"  # reopened to log its artifacts: the longest


def test_sql_pages_and_the_run_table_state_agree_on_a_metric_order(logged: Logged) -> None:
    from nbtrack.tracking.run_table import RunTableState

    table = RunTableState("baseline")
    table.sort("metrics.acc", descending=True)
    expected = [row["run_id"] for row in table.page_rows()]
    page = ask("runs", experiment="baseline", sort="-metrics.acc")
    assert [row["run_id"] for row in page["rows"]] == expected
