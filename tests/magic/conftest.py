"""A real IPython shell with nbtrack loaded, shared by the magic's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell

import nbtrack


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nbtrack")
    yield ip


@pytest.fixture
def ip(shell: InteractiveShell, store_path: Path) -> InteractiveShell:
    shell.user_ns["nbtrack"] = nbtrack
    return shell


def cell(shell: InteractiveShell, source: str) -> ExecutionResult:
    """Run ``source`` as a notebook front end runs a cell."""
    return shell.run_cell(source, store_history=True)


def last() -> nbtrack.Run:
    run = nbtrack.last_run()
    assert run is not None
    return run
