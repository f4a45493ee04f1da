"""One run: values, code highlighted, notebook and cell, parent and children; histories."""

from __future__ import annotations

from nbtrack.read_api import routes
from tests.read_api.conftest import ask
from tests.web.runs_for_ui import Logged


def test_a_run_has_its_values_code_notebook_and_cell(logged: Logged) -> None:
    run = ask(f"runs/{logged.showcase}")
    assert run["name"] == "sweep-0" and run["experiment"] == "sweep"
    assert run["params"] == {"lr": 0.11, "optimizer": "sgd"}
    assert run["metrics"]["loss"] == 1 / 8 + 0.11  # not rounded
    assert run["tags"] == {"team": "growth"}
    assert run["source_name"] == "notebooks/sweep.ipynb" and run["cell_id"] == "cell-0"
    assert run["code"]["text"].startswith("lr = 0.11")
    assert '<span class="k">for</span>' in run["code"]["html"]  # highlighted by pygments


def test_a_child_names_its_parent_and_the_parent_its_child(logged: Logged) -> None:
    parent = ask(f"runs/{logged.showcase}")
    [child] = parent["children"]
    assert child["name"] == "sweep-0-fold-1"
    assert ask(f"runs/{child['id']}")["parent"]["id"] == logged.showcase


def test_an_unknown_run_is_a_404(logged: Logged) -> None:
    answer = routes.answer("GET", "runs/" + "0" * 32, {})
    assert answer.status == 404 and "0" * 32 in answer.data["error"]


def test_history_is_thinned_to_max_points_keeping_the_last(logged: Logged) -> None:
    history = ask("history", runs=logged.showcase, key="loss", max_points=3)
    steps = [p["step"] for p in history["points"]]
    assert len(steps) <= 4 and steps[0] == 0 and steps[-1] == 7
    spec = history["spec"]
    assert spec["mark"]["type"] == "line" and spec["encoding"]["y"]["field"] == "value"
    assert len(spec["data"]["values"]) == len(steps)


def test_history_without_runs_says_what_to_give(logged: Logged) -> None:
    answer = routes.answer("GET", "history", {"key": "loss"})
    assert answer.status == 400 and "runs=" in answer.data["error"]


def test_compare_gives_three_runs_charts_and_the_diff_of_the_first_two(logged: Logged) -> None:
    ids = logged.runs["tuning"]
    data = ask("compare", runs=",".join(ids))
    assert [r["run_id"] for r in data["runs"]] == ids
    assert data["metric"] == "loss"  # a metric with a curve comes first
    assert set(data["charts"]) == {"history", "scatter", "parallel"}
    runs_in_chart = {v["run"] for v in data["charts"]["history"]["data"]["values"]}
    assert len(runs_in_chart) == 3
    assert "-lr = 0.12" in data["diff"]["code_lines"] and "+lr = 0.22" in data["diff"]["code_lines"]
    assert data["diff"]["params"]["lr"] == [0.12, 0.22]
