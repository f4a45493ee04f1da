"""%%track and %nbtrack in a real IPython shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.interactiveshell import ExecutionInfo, InteractiveShell

import nbtrack
from nbtrack.tracking import _current
from tests.magic.conftest import cell, last


def test_a_tracked_cell_records_its_source_literals_and_metrics(ip: InteractiveShell) -> None:
    source = "%%track --name first --metrics acc\nlr = 0.1\nlayers = [64, 32]\nacc = 0.5 + lr\n"
    result = cell(ip, source)
    assert result.success
    run = last()
    assert run.name == "first"
    assert run.status == "FINISHED"
    assert run.source == source
    assert run.params == {"lr": 0.1, "layers": [64, 32]}
    assert run.metrics == {"acc": pytest.approx(0.6)}
    assert run.tags["nbtrack.cwd"]


def test_params_named_with_params_are_their_values_before_the_cell(ip: InteractiveShell) -> None:
    cell(ip, "batch = 32\noptimizer = 'adam'")
    cell(ip, "%%track --params batch,optimizer\nbatch = 64\n")
    assert last().params == {"batch": 32, "optimizer": "adam"}


def test_an_explicit_log_param_wins_over_the_literal_of_the_same_name(ip: InteractiveShell) -> None:
    result = cell(ip, "%%track\nlr = 0.1\nnbtrack.log_param('lr', 0.5)\nnbtrack.log_metric('m', 1)")
    assert result.success
    assert last().params == {"lr": 0.5}
    assert last().metrics == {"m": 1.0}


def test_a_failing_cell_fails_its_execution_and_its_run(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cell(ip, "%%track\nx = 1\nraise ValueError('bad batch')\n")
    assert isinstance(result.error_in_exec, ValueError)
    run = last()
    assert run.status == "FAILED"
    assert run.error is not None and "ValueError: bad batch" in run.error
    printed = capsys.readouterr()
    traceback = printed.out + printed.err
    assert "ValueError" in traceback
    assert "nbtrack/magic" not in traceback and "nbtrack/tracking" not in traceback


def test_a_bad_track_line_is_one_usage_error_and_no_run(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    before = nbtrack.last_run()
    result = cell(ip, "%%track --bogus\nx = 1\n")
    assert type(result.error_in_exec).__name__ == "UsageError"
    printed = capsys.readouterr()
    lines = [line for line in (printed.out + printed.err).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("UsageError:") and "--bogus" in lines[0]
    assert nbtrack.last_run() == before


def test_the_stop_button_ends_the_run_killed(ip: InteractiveShell) -> None:
    result = cell(ip, "%%track\nraise KeyboardInterrupt\n")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert last().status == "KILLED"


def test_a_tracked_cell_behaves_as_a_plain_cell(ip: InteractiveShell) -> None:
    result = cell(
        ip, "%%track\nimport asyncio\nawait asyncio.sleep(0)\nout = !echo hi\n%time y = 2\n21 * 2"
    )
    assert result.success, result.error_in_exec
    assert result.result == 42
    assert ip.user_ns["out"] == ["hi"]
    assert last().status == "FINISHED"


def test_run_last_adds_a_later_cell_to_the_same_run(ip: InteractiveShell) -> None:
    cell(ip, "%%track --name train\nnbtrack.log_metric('loss', 0.3)")
    trained = last()
    cell(ip, "%%track --run last --metrics test_acc\ntest_acc = 0.88")
    run = nbtrack.get_run(trained.id)
    assert run.metrics == {"loss": 0.3, "test_acc": 0.88}
    assert run.status == "FINISHED"


def test_start_run_inside_a_tracked_cell_opens_a_child(ip: InteractiveShell) -> None:
    cell(ip, "%%track --name parent\nwith nbtrack.start_run(name='child') as child:\n    pass")
    child = nbtrack.get_run(ip.user_ns["child"].id)
    assert child.parent_run_id is not None
    parent = nbtrack.get_run(child.parent_run_id)
    assert parent.name == "parent"
    assert parent.status == child.status == "FINISHED"


def test_a_run_left_open_by_an_earlier_cell_is_closed_when_a_tracked_cell_starts(
    ip: InteractiveShell,
) -> None:
    cell(ip, "leftover = nbtrack.start_run(name='forgotten')")
    leftover = ip.user_ns["leftover"]
    cell(ip, "%%track\nx = 1")
    run = nbtrack.get_run(leftover.id)
    assert run.status == "FINISHED"
    assert run.tags["nbtrack.closed_by"]
    assert _current.top() is None


def test_re_running_a_cell_gives_a_new_run_and_leaves_none_running(ip: InteractiveShell) -> None:
    for _ in range(2):
        cell(ip, "%%track --experiment rerun\nlr = 0.1")
    runs = nbtrack.search_runs(experiment="rerun")
    assert len(runs) == 2
    assert set(runs["status"]) == {"FINISHED"}


def test_the_notebook_path_comes_from_the_front_end_or_the_option(ip: InteractiveShell) -> None:
    ip.user_ns["__vsc_ipynb_file__"] = "/work/analysis.ipynb"
    try:
        cell(ip, "%%track\nx = 1")
        assert last().source_name == "/work/analysis.ipynb"
        cell(ip, "%%track --notebook other.ipynb\nx = 1")
        assert last().source_name == "other.ipynb"
    finally:
        del ip.user_ns["__vsc_ipynb_file__"]


def test_the_session_history_before_the_cell_is_kept_as_an_artifact(ip: InteractiveShell) -> None:
    cell(ip, "secret_sauce = 41 + 1")
    cell(ip, "%%track\nx = secret_sauce")
    history = nbtrack.load_text(last().id, "nbtrack/session_history.py")
    assert "secret_sauce = 41 + 1" in history
    assert "x = secret_sauce" not in history


def test_a_summary_is_shown_under_the_cell(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell(ip, "%%track --name shown\nlr = 0.25\nnbtrack.log_metric('acc', 0.75)")
    out = capsys.readouterr().out
    assert "shown" in out and "FINISHED" in out


def test_nbtrack_line_magic_shows_the_store_and_recent_runs(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], store_path: Path
) -> None:
    cell(ip, "%%track --name listed\nlr = 0.1")
    cell(ip, "%nbtrack")
    assert str(store_path) in capsys.readouterr().out
    result = cell(ip, "%nbtrack runs 5")
    assert "listed" in set(result.result.frame["run_name"])
    bad = cell(ip, "%nbtrack frobnicate")
    assert type(bad.error_in_exec).__name__ == "UsageError"


def test_the_cell_id_jupyter_gives_is_recorded(ip: InteractiveShell) -> None:
    ip.run_cell("%%track\nx = 1", store_history=True, cell_id="3f2a-cell")
    assert last().tags["nbtrack.cell_id"] == "3f2a-cell"


def test_track_help_describes_every_option(ip: InteractiveShell) -> None:
    from nbtrack.magic.arguments import HELP

    info = ip.object_inspect("%%track")
    assert info["found"]
    assert info["docstring"] == HELP.strip()
    for option in ("--experiment", "--params", "--metrics", "--tags", "--run", "--notebook"):
        assert option in HELP


def test_live_draws_the_metrics_while_the_cell_runs(ip: InteractiveShell) -> None:
    pytest.importorskip("vl_convert")
    source = (
        "%%track --live --name live\nimport time\n"
        "for step in range(40):\n"
        "    nbtrack.log_metric('loss', 1 / (step + 1))\n"
        "    nbtrack.log_metric('acc', step / 40)\n"
        "    time.sleep(0.02)\n"
    )
    result = cell(ip, source)
    assert result.success, result.error_in_exec
    live = ip._nbtrack_cells.last_live  # type: ignore[attr-defined]
    assert live.redraws >= 2  # drawn during the loop, not only at the end
    points = live.points()
    assert [step for step, _ in points["loss"]] == list(range(40))
    spec = live.widget.chart.to_dict()
    assert len(spec["data"]["values"]) == 80
    assert last().metrics["loss"] == pytest.approx(1 / 40)


@pytest.mark.parametrize("exit_line", ["sys.exit()", "sys.exit(0)", "raise SystemExit"])
def test_sys_exit_without_an_error_code_ends_the_run_finished(
    ip: InteractiveShell, exit_line: str
) -> None:
    # IPython itself warns that exit() is the way out of a shell; that is its business.
    with pytest.warns(UserWarning, match="To exit"):
        result = cell(ip, f"%%track --metrics done\nimport sys\ndone = 1\n{exit_line}\n")
    assert isinstance(result.error_in_exec, SystemExit)
    run = last()
    assert run.status == "FINISHED"
    assert run.error is None
    assert run.metrics == {"done": 1.0}


def test_sys_exit_with_an_error_code_fails_the_run(ip: InteractiveShell) -> None:
    with pytest.warns(UserWarning, match="To exit"):
        cell(ip, "%%track\nimport sys\nsys.exit(3)\n")
    run = last()
    assert run.status == "FAILED"
    assert run.error is not None and "SystemExit: 3" in run.error


def test_a_cell_cancelled_before_it_gives_a_result_ends_its_run_killed(
    ip: InteractiveShell,
) -> None:
    # What ipykernel does when the stop button cancels a cell that awaits: it sends
    # post_run_cell with no result.
    source = "%%track --name cancelled\nimport asyncio\nawait asyncio.Event().wait()\n"
    info = ExecutionInfo(source, True, False, True, None)
    ip.events.trigger("pre_run_cell", info)
    ip.events.trigger("post_run_cell", None)
    run = last()
    assert run.name == "cancelled"
    assert run.status == "KILLED"
    assert nbtrack.active_run() is None


def test_run_naming_a_deleted_run_says_the_cell_is_not_tracked_and_how_to_restore(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cell(ip, "%%track\nx = 1").success
    deleted = last()
    nbtrack.delete_run(deleted.id)
    capsys.readouterr()
    result = cell(ip, f"%%track --run {deleted.id}\ny = 2")
    assert result.success  # the cell itself ran
    shown = capsys.readouterr().out
    assert "this cell is not tracked" in shown
    assert f"nbtrack.restore_run('{deleted.id}')" in shown
    assert ip.user_ns["y"] == 2


def test_a_params_variable_that_cannot_be_logged_is_a_warning_and_the_cell_is_still_tracked(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell(ip, "loop = []\nloop.append(loop)\nlr = 0.1")
    capsys.readouterr()
    assert cell(ip, "%%track --params loop,lr\nx = 1").success
    run = last()
    assert run.status == "FINISHED"
    assert run.params == {"lr": 0.1, "x": 1}  # x: a literal the cell assigns
    assert "--params loop: not logged" in capsys.readouterr().out
    assert nbtrack.active_run() is None
