"""A tracked cell that runs another tracked cell (``get_ipython().run_cell("%%track ...")``),
as a helper function or a notebook runner might: the inner cell is a child run."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbtrack
from tests.magic.conftest import cell


def _runs_by_name() -> dict[str, nbtrack.Run]:
    frame = nbtrack.search_runs()
    pairs = zip(frame["run_name"], frame["run_id"], strict=True)
    return {name: nbtrack.get_run(run_id) for name, run_id in pairs}


@pytest.mark.parametrize("store_history", [False, True])
def test_a_tracked_cell_run_by_a_tracked_cell_is_its_child_and_the_outer_keeps_its_metrics(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], store_history: bool
) -> None:
    result = cell(
        ip,
        "%%track --name outer --metrics outer_acc\n"
        "get_ipython().run_cell('%%track --name inner --metrics inner_loss\\ninner_loss = 0.25', "
        f"store_history={store_history})\n"
        "outer_acc = 0.75\n",
    )
    assert result.success, result.error_in_exec
    printed = capsys.readouterr()
    assert "Error in callback" not in printed.out + printed.err
    runs = _runs_by_name()
    outer, inner = runs["outer"], runs["inner"]
    assert inner.parent_run_id == outer.id
    assert outer.parent_run_id is None
    assert outer.status == inner.status == "FINISHED"
    assert outer.metrics == {"outer_acc": 0.75}
    assert inner.metrics == {"inner_loss": 0.25}
    assert "nbtrack.closed_by" not in outer.tags
    assert outer.end_time is not None and inner.end_time is not None
    assert outer.end_time >= inner.end_time


def test_the_outer_run_is_active_again_after_the_inner_cell(ip: InteractiveShell) -> None:
    cell(
        ip,
        "%%track --name outer\n"
        "get_ipython().run_cell('%%track --name inner\\nnbtrack.log_metric(\"m\", 1)')\n"
        "nbtrack.log_metric('after', 2)\n"
        "active_after = nbtrack.active_run().name\n",
    )
    runs = _runs_by_name()
    assert ip.user_ns["active_after"] == "outer"
    assert runs["outer"].metrics == {"after": 2.0}
    assert runs["inner"].metrics == {"m": 1.0}
    assert nbtrack.active_run() is None


def test_a_failing_inner_cell_fails_only_the_child(ip: InteractiveShell) -> None:
    result = cell(
        ip,
        "%%track --name outer --metrics survived\n"
        "inner = get_ipython().run_cell('%%track --name inner\\n1 / 0')\n"
        "survived = 0.5\n",
    )
    assert result.success, result.error_in_exec
    assert isinstance(ip.user_ns["inner"].error_in_exec, ZeroDivisionError)
    runs = _runs_by_name()
    assert runs["inner"].status == "FAILED"
    assert runs["inner"].parent_run_id == runs["outer"].id
    assert runs["outer"].status == "FINISHED"
    assert runs["outer"].metrics == {"survived": 0.5}


def test_tracked_cells_nest_to_any_depth(ip: InteractiveShell) -> None:
    cell(
        ip,
        "%%track --name a\n"
        "get_ipython().run_cell("
        "'%%track --name b\\nget_ipython().run_cell(\"%%track --name c\\\\nx = 1\")')\n",
    )
    runs = _runs_by_name()
    assert runs["c"].parent_run_id == runs["b"].id
    assert runs["b"].parent_run_id == runs["a"].id
    assert {run.status for run in runs.values()} == {"FINISHED"}


def test_an_empty_cell_run_inside_a_tracked_cell_does_not_end_its_run(
    ip: InteractiveShell,
) -> None:
    # IPython skips pre_run_cell for an empty cell but still sends post_run_cell.
    cell(
        ip,
        "%%track --name outer --metrics after_empty\n"
        "get_ipython().run_cell('')\n"
        "after_empty = 0.5\n",
    )
    outer = _runs_by_name()["outer"]
    assert outer.status == "FINISHED"
    assert outer.metrics == {"after_empty": 0.5}


def test_a_run_ended_inside_its_own_cell_is_left_as_it_is(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cell(
        ip, "%%track --name early --metrics early_acc\nearly_acc = 0.5\nnbtrack.end_run('KILLED')\n"
    )
    assert result.success, result.error_in_exec
    printed = capsys.readouterr()
    assert "Error in callback" not in printed.out + printed.err
    assert "--metrics" in printed.out  # says what it could not record
    run = _runs_by_name()["early"]
    assert run.status == "KILLED"


def test_a_run_started_after_a_counted_inner_cell_is_a_child_of_the_tracked_cell(
    ip: InteractiveShell,
) -> None:
    # A cell run with store_history=True moves the execution count on mid-cell.
    cell(
        ip,
        "%%track --name outer\n"
        "get_ipython().run_cell('counted = 1', store_history=True)\n"
        "with nbtrack.start_run(name='trial'):\n"
        "    pass\n",
    )
    runs = _runs_by_name()
    assert runs["trial"].parent_run_id == runs["outer"].id
    assert "nbtrack.closed_by" not in runs["outer"].tags
    assert runs["outer"].status == "FINISHED"
