"""``%%track`` followed by another cell magic on the next line: the run wraps the cell and the
other magic does its job, as the two lines read."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbtrack
from tests.magic.conftest import cell, last


def test_time_after_track_times_the_cell_inside_the_run(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "%%track --name timed --metrics timed_acc\n%%time\nlr = 0.1\ntimed_acc = 0.9\n21 * 2\n"
    result = cell(ip, source)
    assert result.success, result.error_in_exec
    assert result.result == 42  # %%time shows the last expression, as it does alone
    assert "Wall time" in capsys.readouterr().out
    run = last()
    assert run.name == "timed"
    assert run.status == "FINISHED"
    assert run.source == source
    assert run.params == {"lr": 0.1}
    assert run.metrics == {"timed_acc": 0.9}


def test_blank_lines_before_the_other_cell_magic_are_allowed_as_in_a_plain_cell(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cell(ip, "%%track --name spaced\n\n%%time\nspaced = 1\n")
    assert result.success, result.error_in_exec
    assert "Wall time" in capsys.readouterr().out
    assert last().status == "FINISHED"


def test_a_failing_cell_under_time_fails_its_run(ip: InteractiveShell) -> None:
    result = cell(ip, "%%track --name timed-failure\n%%time\n1 / 0\n")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    run = last()
    assert run.status == "FAILED"
    assert run.error is not None and "ZeroDivisionError" in run.error


def test_capture_after_track_captures_the_output_inside_the_run(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (
        "%%track --name captured --metrics captured_acc\n%%capture kept\n"
        "batch = 16\nprint('hidden')\ncaptured_acc = 0.8\n"
    )
    result = cell(ip, source)
    assert result.success, result.error_in_exec
    assert "hidden" not in capsys.readouterr().out
    assert ip.user_ns["kept"].stdout == "hidden\n"
    run = last()
    assert run.name == "captured"
    assert run.status == "FINISHED"
    assert run.params == {"batch": 16}
    assert run.metrics == {"captured_acc": 0.8}


def test_a_cell_that_raises_under_capture_fails_its_run(ip: InteractiveShell) -> None:
    # %%capture swallows the error (the execution succeeds, as it does without %%track), but
    # the code of the run failed: the run must not say FINISHED.
    cell(ip, "%%track --name captured-failure\n%%capture\n1 / 0\n")
    run = last()
    assert run.name == "captured-failure"
    assert run.status == "FAILED"
    assert run.error is not None and "ZeroDivisionError" in run.error


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        ("%%no_such_magic", "%%no_such_magic"),
        ("%%track --name again", "%%track"),
    ],
)
def test_an_unusable_cell_magic_after_track_is_one_usage_error_and_no_run(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], second_line: str, message: str
) -> None:
    before = nbtrack.last_run()
    result = cell(ip, f"%%track --name refused\n{second_line}\nx = 1\n")
    assert type(result.error_in_exec).__name__ == "UsageError"
    printed = capsys.readouterr()
    lines = [line for line in (printed.out + printed.err).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("UsageError: %%track:") and message in lines[0]
    assert nbtrack.last_run() == before
