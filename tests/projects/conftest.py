"""Projects written into the test's folder, and the `nbtrack` command run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

NBTRACK = [sys.executable, "-m", "nbtrack.cli"]

Project = Callable[..., Path]


@pytest.fixture(autouse=True)
def nbtrack_importable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Entry points import the nbtrack under test, wherever the suite runs from."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    yield


@pytest.fixture
def make_project(store_path: Path) -> Project:
    """``make_project(MLproject=..., **files)``: a project folder beside the test's store; file
    names use ``__`` for ``.`` (``train__py``), text is dedented."""

    def make(name: str = "project", **files: str) -> Path:
        folder = store_path.parent / name
        folder.mkdir()
        for file, text in files.items():
            path = folder / file.replace("__", ".")
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return folder

    return make


def nbtrack_command(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NBTRACK, *args],
        cwd=cwd,
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )


def stored_runs(store_path: Path) -> int:
    """How many runs the store holds (0 when nothing ever opened it)."""
    import nbtrack

    if not store_path.exists():
        return 0
    return len(nbtrack.sql("SELECT run_id FROM runs"))
