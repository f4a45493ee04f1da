"""Run bookkeeping through the magic: a run reopened by a later cell counts only the time its
cells ran, and a tracked cell's child runs take its tags and are listed under it."""

from __future__ import annotations

import datetime as dt

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbtrack
from tests.magic.conftest import cell, last

PAUSE_S = 0.4


def test_a_run_reopened_by_a_later_cell_counts_only_the_time_its_cells_ran(
    ip: InteractiveShell,
) -> None:
    cell(ip, "%%track --name trained\nimport time\ntime.sleep(0.02)")
    trained = last()
    cell(ip, f"time.sleep({PAUSE_S})")  # reading the results, untracked
    cell(ip, "%%track --run last\ntime.sleep(0.02)")

    run = nbtrack.get_run(trained.id)
    assert len(run.spans) == 2
    assert run.duration is not None
    assert dt.timedelta(seconds=0.04) <= run.duration < dt.timedelta(seconds=PAUSE_S)
    shown = cell(ip, "%nbtrack runs 1").result.frame.set_index("run_id")
    assert shown.loc[trained.id, "duration"] == pytest.approx(run.duration.total_seconds())


def test_child_runs_of_a_tracked_cell_take_its_tags_and_are_listed_under_it(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (
        "%%track --name sweep --tags team=vision\n"
        "for C in (0.1, 1.0):\n"
        "    with nbtrack.start_run(name=f'C={C}', tags={'C': str(C)}):\n"
        "        nbtrack.log_param('C', C)\n"
    )
    capsys.readouterr()
    assert cell(ip, source).success

    assert "2 child runs" in capsys.readouterr().out  # the summary under the cell
    parent_id = last().parent_run_id  # the newest run started is the last child
    assert parent_id is not None
    run = nbtrack.get_run(parent_id)
    assert run.name == "sweep"
    assert [child.name for child in run.children] == ["C=0.1", "C=1.0"]
    for child in run.children:
        tags = nbtrack.get_run(child.id).tags
        assert tags["team"] == "vision"
        assert tags["C"] == child.name[2:]
    assert "child runs (2)" in run._repr_html_()
