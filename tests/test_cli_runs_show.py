"""``nbtrack runs show``: a run's children and its active time."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.cli.main import main


def test_runs_show_lists_a_parents_children(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with nbtrack.start_run(name="sweep") as parent, nbtrack.start_run(name="trial") as child:
        pass
    assert main(["runs", "show", parent.id]) == 0
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
