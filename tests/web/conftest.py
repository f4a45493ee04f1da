"""The runs of ``runs_for_ui`` on the test's store, and the UI's app in a test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from nbtrack.http.settings import check_settings
from nbtrack.read_api import routes
from nbtrack.web.app import create_ui_app
from tests.web.runs_for_ui import Logged, log_runs

BASE = "http://127.0.0.1:5000"


@pytest.fixture
def logged(store_path: Path) -> Iterator[Logged]:
    yield log_runs(store_path.parent)
    routes.clear_cache()


def ui_client(token: str | None = None, host: str = "127.0.0.1", base: str = BASE) -> TestClient:
    settings = check_settings(host, token, False, 1024, command="ui")
    return TestClient(create_ui_app(settings), base_url=base)
