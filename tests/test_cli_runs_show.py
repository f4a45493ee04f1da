"""``nbtrack runs show``: a run by its short id or name, its children, its active time."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.cli.main import main


def _run(name: str) -> str:
    with nbtrack.start_run(name=name) as run:
        pass
    return run.id


def test_runs_show_on_the_command_line_takes_a_short_id_or_a_name(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = _run("baseline")
    _run("other")
    assert main(["runs", "show", run_id[:8]]) == 0
    assert run_id in capsys.readouterr().out
    assert main(["runs", "show", "baseline"]) == 0
    assert run_id in capsys.readouterr().out


def test_runs_show_with_an_ambiguous_name_lists_the_runs_and_fails(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _run("twin"), _run("twin")
    assert main(["runs", "show", "twin"]) == 2  # bad input, as every command exits on it
    error = capsys.readouterr().err
    assert "run 'twin' is ambiguous: 2 runs match it" in error
    assert first[:8] in error and second[:8] in error
    assert "Traceback" not in error


def test_runs_show_lists_a_parents_children(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with nbtrack.start_run(name="sweep") as parent, nbtrack.start_run(name="trial") as child:
        pass
    assert main(["runs", "show", parent.id[:8]]) == 0
    out = capsys.readouterr().out
    assert "children:" in out
    assert f"{child.id[:8]}  trial" in out


def test_run_show_on_the_command_line_gives_the_active_duration(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with nbtrack.start_run(name="trained") as run:
        pass
    time.sleep(0.4)
    with nbtrack.start_run(run_id=run.id):
        pass
    assert main(["runs", "show", run.id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["duration_s"] < 0.4
