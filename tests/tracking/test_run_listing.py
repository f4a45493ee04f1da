"""Runs as a person reads them: the cells, the columns, the table that fits a width, its HTML,
and what to say when the current experiment is empty. A real store behind each."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import nbtrack
from nbtrack.errors import InvalidValueError
from nbtrack.tracking.formatting import (
    cell_text,
    choose_columns,
    format_param,
    format_seconds,
    format_time,
)
from nbtrack.tracking.run_listing import RunListing, text_table
from nbtrack.tracking.search import empty_experiment_hint, search_runs


@pytest.fixture
def kathmandu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time five hours forty-five ahead of UTC: no chance of passing by accident."""
    monkeypatch.setenv("TZ", "Asia/Kathmandu")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def log_sweep() -> None:
    nbtrack.set_experiment("sweep")
    for C in (0.001, 10.0):
        with nbtrack.start_run(name=f"logreg-C{C}"):
            nbtrack.log_params({"model": "logreg", "C": C})
            nbtrack.log_metric("acc", 0.912345)
    with nbtrack.start_run(name="tree-<b>deep</b>"):
        nbtrack.log_params({"model": "tree", "max_depth": 3, "note": "x" * 80})


# -- cells -----------------------------------------------------------------------------------


def test_times_are_local_to_the_second(kathmandu: None) -> None:
    moment = dt.datetime(2024, 5, 1, 12, 0, 3, 123456, tzinfo=dt.UTC)
    assert format_time(moment) == "2024-05-01 17:45:03"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.79, "790 ms"), (12.34, "12.3 s"), (123, "2 min 3 s"), (7260, "2 h 1 min"), (None, "-")],
)
def test_durations_carry_their_unit(seconds: float | None, shown: str) -> None:
    assert format_seconds(seconds) == shown
    if seconds is not None:
        assert format_seconds(dt.timedelta(seconds=seconds)) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.0001, "0.0001"), (1e-05, "1e-05"), (3.0, "3"), (3, "3"), (True, "True"), ("adam", "adam")],
)
def test_params_read_as_logged(value: object, shown: str) -> None:
    assert format_param(value) == shown


def test_every_kind_of_missing_value_is_one_dash() -> None:
    import numpy as np
    import pandas as pd

    for value in (None, float("nan"), np.nan, pd.NA, pd.NaT):
        for column in ("metrics.acc", "params.lr", "tags.team", "start_time", "duration"):
            assert cell_text(column, value) == "-", (column, value)


def test_metrics_show_four_significant_digits_and_ids_stay_whole() -> None:
    assert cell_text("metrics.acc", 0.912345) == "0.9123"
    assert cell_text("metrics.loss", float("inf")) == "inf"
    assert cell_text("run_id", "f" * 32) == "f" * 32
    assert cell_text("params.note", "x" * 80) == "x" * 29 + "…"


# -- columns ---------------------------------------------------------------------------------


def test_default_columns_put_metrics_before_params_and_leave_nbtracks_tags_out(
    store_path: Path,
) -> None:
    log_sweep()
    listing = RunListing(search_runs("sweep"))

    assert listing.columns == [
        "run_id", "run_name", "status", "start_time", "duration", "metrics.acc",
        "params.C", "params.max_depth", "params.model", "params.note",
    ]  # fmt: skip


def test_columns_are_chosen_by_exact_name_else_by_prefix(store_path: Path) -> None:
    log_sweep()
    frame = RunListing(search_runs("sweep")).frame

    assert choose_columns(frame, "run_name,params.m,metrics") == [
        "run_name", "params.max_depth", "params.model", "metrics.acc",
    ]  # fmt: skip
    assert choose_columns(frame, ["params.C", "params.C", "end_time"]) == ["params.C", "end_time"]
    with pytest.raises(InvalidValueError, match=r"'metric\.acc'.*did you mean metrics\.acc"):
        choose_columns(frame, "metric.acc")


# -- the table -------------------------------------------------------------------------------


def test_a_table_fits_its_width_keeps_the_run_and_names_what_it_left_out() -> None:
    cells = {
        "run_id": ["a" * 32],
        "run_name": ["sweep-1"],
        "params.wide": ["w" * 30],
        "status": ["FINISHED"],
    }
    text = text_table(cells, set(), 60)

    lines = text.splitlines()
    assert lines[0].split() == ["run_id", "run_name", "status"]
    assert all(len(line) <= 60 for line in lines)
    assert lines[-1] == "(1 more column: params.wide; choose with --columns)"
    assert text_table(cells, set(), None).splitlines()[0].split() == list(cells)


def test_numbers_line_up_on_the_right(store_path: Path) -> None:
    log_sweep()
    text = RunListing(search_runs("sweep"), "run_name,params.C").text()

    tree, ten, thousandth = text.splitlines()[1:]  # newest first
    assert len(tree) == len(ten) == len(thousandth)
    assert (tree[-6:], ten[-6:], thousandth[-6:]) == ("     -", "    10", " 0.001")


def test_the_html_table_has_the_same_cells_escaped_with_status_badges(
    store_path: Path, kathmandu: None
) -> None:
    log_sweep()
    listing = RunListing(search_runs("sweep"), caption="experiment 'sweep'")
    page = listing._repr_html_()

    assert "<b>deep</b>" not in page and "tree-&lt;b&gt;deep&lt;/b&gt;" in page
    assert ">FINISHED</span>" in page
    assert listing.cells["start_time"][0] in page
    assert ">0.9123</td>" in page and ">-</td>" in page
    assert "experiment &#x27;sweep&#x27;" in page
    assert "NaN" not in page and "<NA>" not in page
    assert listing.frame["params.C"].dtype == "float64"  # the raw values stay for code


# -- an empty experiment -----------------------------------------------------------------------


def test_the_hint_names_the_experiments_with_runs_most_first(store_path: Path) -> None:
    log_sweep()
    nbtrack.set_experiment("iris")
    with nbtrack.start_run():
        pass
    nbtrack.set_experiment("Default")

    hint = empty_experiment_hint()

    assert hint is not None
    assert hint.startswith("The current experiment 'Default' has no runs")
    assert "runs are in 'sweep' (3 runs) and 'iris' (1 run)" in hint
    assert "nbtrack.set_experiment('sweep')" in hint and "%%track --experiment sweep" in hint
    assert "compare(experiment='sweep')" in hint
    cli = empty_experiment_hint("Default", command_line=True)
    assert cli is not None and "nbtrack runs list -n sweep" in cli
    assert "--all-experiments" in cli


def test_there_is_no_hint_when_the_experiment_has_runs_or_no_experiment_has(
    store_path: Path,
) -> None:
    assert empty_experiment_hint() is None
    log_sweep()
    assert empty_experiment_hint() is None  # "sweep" is current now
    assert empty_experiment_hint("Default") is not None


def test_the_hint_counts_neither_deleted_runs_nor_deleted_experiments(store_path: Path) -> None:
    log_sweep()
    nbtrack.set_experiment("gone")
    with nbtrack.start_run() as run:
        pass
    nbtrack.delete_run(run.id)
    nbtrack.set_experiment("Default")
    nbtrack.delete_experiment("sweep")

    assert empty_experiment_hint() is None


def test_names_with_spaces_are_quoted_for_the_shell(store_path: Path) -> None:
    nbtrack.set_experiment("my sweep")
    with nbtrack.start_run():
        pass

    hint = empty_experiment_hint("Default", command_line=True)

    assert hint is not None and "nbtrack runs list -n 'my sweep'" in hint


def test_the_hint_calls_the_current_experiment_current_however_it_is_named(
    store_path: Path,
) -> None:
    log_sweep()
    nbtrack.set_experiment("empty")

    current, other = empty_experiment_hint("empty"), empty_experiment_hint("Default")

    assert current is not None and current.startswith("The current experiment 'empty'")
    assert other is not None and other.startswith("Experiment 'Default' has no runs")


def test_the_hint_names_five_experiments_at_most(store_path: Path) -> None:
    for n in range(7):
        with nbtrack.start_run(experiment=f"e{n}"):
            pass

    hint = empty_experiment_hint()

    assert hint is not None
    assert "'e4' (1 run) and 2 more." in hint and "'e5'" not in hint
