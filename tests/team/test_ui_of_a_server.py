"""``NBTRACK_URI=http://... nbtrack ui``: the UI's artifact routes read a run's files from the
server, as the server holds them, and never anything outside the run.

One server, one client's run and one UI process serve the whole module (each test still runs
alone): the tests only read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.mlflow_compat.conftest import RunningServer
from tests.team.conftest import server_in_its_own_folder
from tests.team.ui_of_a_server import Logged, log_run_with_files, ui_of


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-of-a-server")


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[RunningServer]:
    with server_in_its_own_folder(folder) as running:
        yield running


@pytest.fixture(scope="module")
def logged(server: RunningServer, folder: Path) -> Logged:
    return log_run_with_files(server.url, folder / "client")


@pytest.fixture(scope="module")
def api(server: RunningServer, logged: Logged, folder: Path) -> Iterator[str]:
    """The UI's API for the logged run: ``.../nbtrack/api/runs/<id>/artifacts``."""
    with ui_of(server.url, folder / "ui") as url:
        yield f"{url.replace('/nbtrack/ui/', '/nbtrack/api/')}runs/{logged.run_id}/artifacts"


def test_the_run_lists_the_files_the_server_holds(api: str, logged: Logged) -> None:
    answer = requests.get(api, timeout=30)

    assert answer.status_code == 200, answer.text
    files = {f["path"]: f for f in answer.json()["files"]}
    assert files["plots/loss.png"] == {
        "path": "plots/loss.png", "size": len(logged.png), "kind": "image",
    }  # fmt: skip
    assert files["eval/losses.csv"] == {
        "path": "eval/losses.csv", "size": len(logged.csv), "kind": "table",
    }  # fmt: skip
    assert files["model/MLmodel"]["kind"] == "data"
    assert {"model/requirements.txt", "model/python_env.yaml"} <= set(files)
    assert answer.json()["truncated"] is False


def test_a_picture_comes_back_byte_for_byte_with_the_ui_s_file_headers(
    api: str, logged: Logged
) -> None:
    answer = requests.get(f"{api}/file", params={"path": "plots/loss.png"}, timeout=30)

    assert answer.status_code == 200, answer.text
    assert answer.content == logged.png
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["content-security-policy"] == "sandbox"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_csv_is_served_as_text_and_read_as_a_table(api: str, logged: Logged) -> None:
    raw = requests.get(f"{api}/file", params={"path": "eval/losses.csv"}, timeout=30)
    table = requests.get(f"{api}/table", params={"path": "eval/losses.csv"}, timeout=30)

    assert raw.content == logged.csv
    assert raw.headers["content-type"].startswith("text/plain")
    assert table.status_code == 200, table.text
    assert table.json() == {
        "columns": ["epoch", "loss"],
        "rows": [[0, 1.0], [1, 0.5], [2, 0.25]],
        "truncated": False,
    }


def test_the_model_folder_s_files_are_read_from_the_server(api: str) -> None:
    answer = requests.get(f"{api}/file", params={"path": "model/MLmodel"}, timeout=30)

    assert answer.status_code == 200, answer.text
    assert "flavors:" in answer.text and "sklearn" in answer.text


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("../../other/run/artifacts/x.txt", 400, "artifact_file"),
        ("%2e%2e/%2e%2e/secret", 400, "artifact_file"),
        ("/etc/passwd", 400, "artifact_file"),
        ("plots", 400, "is a folder"),
        ("plots/missing.png", 404, "has no artifact"),
    ],
)
def test_a_path_outside_the_run_s_files_or_not_a_file_is_refused(
    api: str, path: str, status: int, says: str
) -> None:
    answer = requests.get(f"{api}/file", params={"path": path}, timeout=30)

    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]
