"""``--metrics`` records only what the cell produced: never a value an earlier cell left in the
kernel, and the summary under the cell names what it skipped."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbtrack
from tests.magic.conftest import cell, last

EVALUATE = "%%track --metrics accuracy,f1,auc\n"


def _previous_cell_computed_everything(ip: InteractiveShell) -> None:
    result = cell(ip, f"{EVALUATE}accuracy = 0.91\nf1 = 0.88\nauc = 0.97\n")
    assert result.success
    assert last().metrics == {"accuracy": 0.91, "f1": 0.88, "auc": 0.97}


def test_a_cell_that_fails_before_computing_anything_records_no_metric(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    _previous_cell_computed_everything(ip)
    capsys.readouterr()

    result = cell(ip, f"{EVALUATE}raise ValueError('data not loaded')\naccuracy = 0.5\n")

    assert isinstance(result.error_in_exec, ValueError)
    run = last()
    assert run.status == "FAILED"
    assert run.metrics == {}
    shown = capsys.readouterr().out
    assert (
        "--metrics: not logged: accuracy, f1, auc (the cell failed before assigning them; "
        "their values are from before the cell)"
    ) in shown


def test_a_finished_cell_records_what_it_assigned_and_names_what_it_did_not(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    _previous_cell_computed_everything(ip)
    capsys.readouterr()

    result = cell(ip, f"{EVALUATE}accuracy = 0.93\n")

    assert result.success
    assert last().metrics == {"accuracy": 0.93}
    shown = capsys.readouterr().out
    assert "--metrics: not logged: f1, auc (the cell did not assign them;" in shown


def test_a_failed_cell_records_the_metrics_it_assigned_before_it_failed(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    _previous_cell_computed_everything(ip)
    capsys.readouterr()

    cell(ip, f"{EVALUATE}accuracy = 0.5 + 0.25\nraise RuntimeError('f1 failed')\n")

    run = last()
    assert run.status == "FAILED"
    assert run.metrics == {"accuracy": 0.75}
    assert "--metrics: not logged: f1, auc (the cell failed before" in capsys.readouterr().out


def test_a_metric_assigned_the_same_small_number_again_is_recorded(ip: InteractiveShell) -> None:
    # Python keeps one object for small ints: the same object, yet the cell assigned it.
    cell(ip, "%%track --metrics errors\nerrors = 0\n")
    cell(ip, "%%track --metrics errors\nerrors = 0\n")
    assert last().metrics == {"errors": 0.0}


def test_a_metric_assigned_only_in_a_branch_not_taken_is_skipped(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell(ip, "%%track --metrics best\nbest = 0.8 + 0.01\n")
    capsys.readouterr()
    cell(ip, "%%track --metrics best\nscore = 0.5\nif score > 0.9:\n    best = score\n")
    assert last().metrics == {}
    assert "--metrics: not logged: best (the cell did not assign it;" in capsys.readouterr().out


def test_a_metric_changed_in_place_is_recorded(ip: InteractiveShell) -> None:
    np = pytest.importorskip("numpy")
    ip.user_ns["np"] = np
    cell(ip, "%%track --metrics total\ntotal = np.array(1.5)\n")
    cell(ip, "%%track --metrics total\nfor _ in range(2):\n    total += 1\n")
    assert last().metrics == {"total": 3.5}


def test_a_metric_bound_to_another_object_in_a_loop_is_recorded(ip: InteractiveShell) -> None:
    cell(ip, "%%track --metrics loss\nloss = 1.0 / 3\n")
    cell(ip, "%%track --metrics loss\nfor epoch in range(3):\n    loss = 1.0 / (epoch + 4)\n")
    assert last().metrics == {"loss": pytest.approx(1 / 6)}


def test_a_stopped_cell_records_no_metric_it_did_not_reach(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    _previous_cell_computed_everything(ip)
    capsys.readouterr()
    cell(ip, f"{EVALUATE}raise KeyboardInterrupt\n")
    run = last()
    assert run.status == "KILLED"
    assert run.metrics == {}
    assert "the cell was stopped before assigning them" in capsys.readouterr().out


def test_a_cell_that_ends_with_sys_exit_records_what_it_assigned_at_the_top(
    ip: InteractiveShell,
) -> None:
    cell(ip, "%%track --metrics done\ndone = 1\n")
    with pytest.warns(UserWarning, match="To exit"):
        cell(ip, "%%track --metrics done\nimport sys\ndone = 1\nsys.exit(0)\n")
    assert last().status == "FINISHED"
    assert last().metrics == {"done": 1.0}


def test_run_last_records_only_the_metrics_the_later_cell_produced(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell(ip, "%%track --metrics train_acc\ntrain_acc = 0.9 + 0.05\n")
    trained = last()
    capsys.readouterr()
    cell(ip, "%%track --run last --metrics train_acc,test_acc\ntest_acc = 0.8 + 0.05\n")
    run = nbtrack.get_run(trained.id)
    assert run.metrics == {"train_acc": pytest.approx(0.95), "test_acc": pytest.approx(0.85)}
    history = nbtrack.get_metric_history(trained.id, "train_acc")
    assert len(history) == 1  # logged by the cell that computed it, not again
    assert "--metrics: not logged: train_acc" in capsys.readouterr().out


def test_the_fallback_cell_magic_applies_the_same_rule(ip: InteractiveShell) -> None:
    _previous_cell_computed_everything(ip)
    with pytest.raises(ValueError, match="no data"):
        ip.run_cell_magic("track", "--metrics accuracy,f1,auc", "raise ValueError('no data')\n")
    run = last()
    assert run.status == "FAILED"
    assert run.metrics == {}
