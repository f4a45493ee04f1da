"""The runs of ``tests/web/runs_for_ui`` on the test's store; answers asked of the route table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbtrack.read_api import routes
from tests.web.runs_for_ui import Logged, log_runs


@pytest.fixture
def logged(store_path: Path) -> Iterator[Logged]:
    yield log_runs(store_path.parent)
    routes.clear_cache()


def ask(
    endpoint: str, method: str = "GET", body: dict[str, Any] | None = None, **query: Any
) -> Any:
    """The data of a 200 answer (anything else fails the test with the answer's message)."""
    answer = routes.answer(method, endpoint, {k: str(v) for k, v in query.items()}, body)
    assert answer.status == 200, answer.data
    return answer.data
