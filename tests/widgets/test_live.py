"""``%%track --live``'s chart on its own: what it sends the browser, what it costs, and what it
leaves to import. The magic that shows it is tested in ``tests/magic``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.widgets import live
from nbtrack.widgets.live import LiveMetrics
from nbtrack.widgets.restart_note import RestartNote


def test_the_live_chart_sends_each_metrics_points_as_two_arrays(store_path: Path) -> None:
    with nbtrack.start_run(name="live") as run:
        chart = LiveMetrics(run)
        for step in range(30):
            nbtrack.log_metric("loss", 1 / (step + 1), step=step)
            if step % 10 == 0:
                nbtrack.log_metric("acc", step / 30, step=step)
        nbtrack.log_metric("loss", float("nan"), step=30)  # not drawable: left out
        chart.stop()
    series = chart.widget.series
    assert sorted(series) == ["acc", "loss"]
    assert series["loss"]["steps"] == list(range(30))
    assert series["acc"] == {"steps": [0, 10, 20], "values": [0.0, 1 / 3, 2 / 3]}
    assert chart.widget.done and chart.widget.run_name == "live"
    json.dumps(series, allow_nan=False)  # what the comm sends: plain JSON
    # The same points as an Altair chart, for export.
    assert len(chart.widget.chart.to_dict()["data"]["values"]) == 33


def test_a_long_run_is_thinned_to_a_bounded_number_of_points(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        chart = LiveMetrics(run)
        for step in range(10 * live.MAX_POINTS_PER_KEY):
            nbtrack.log_metric("loss", 1.0, step=step)
        chart.stop()
    steps = chart.widget.series["loss"]["steps"]
    assert live.MAX_POINTS_PER_KEY // 2 <= len(steps) <= live.MAX_POINTS_PER_KEY
    assert steps[0] == 0 and steps[-1] > 9 * live.MAX_POINTS_PER_KEY


def test_drawing_backs_off_when_it_costs_more_than_its_budget(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with nbtrack.start_run() as run:
        chart = LiveMetrics(run)
        slow = 0.05  # each send: 50 ms, so at most one per 5 s under a 1 % budget

        def costly() -> float:
            chart.redraws += 1
            time.sleep(slow)
            return slow

        monkeypatch.setattr(chart, "_redraw", costly)
        for step in range(40):
            nbtrack.log_metric("loss", 1.0, step=step)
            time.sleep(0.05)
        monkeypatch.undo()
        chart.stop()
    assert chart.redraws <= 2, chart.redraws  # not the 8 of four a second


def test_the_live_chart_loads_no_altair_and_no_vl_convert() -> None:
    code = (
        "import sys, IPython, nbtrack.widgets.live; "
        "print(sorted(m for m in ('altair', 'vl_convert', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_restart_note_says_what_to_do_and_takes_no_room() -> None:
    note = RestartNote("comparison")
    assert note.message == (
        "The kernel restarted since this comparison was drawn: run its cell again to use it."
    )
    assert "comm_live_update" in note._esm  # how its JavaScript learns of the restart
    note.close()
