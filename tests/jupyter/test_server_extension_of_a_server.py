"""JupyterLab for a team: a real ``jupyter server`` whose environment has
``NBTRACK_URI=http://...`` (a real ``nbtrack server``) shows the team's runs, run pages,
artifacts and models, answered as ``nbtrack ui`` over the same server answers them, and
nothing without Jupyter's token.

One ``nbtrack server``, one set of runs logged to it by this process, one ``jupyter server``
and one ``nbtrack ui`` serve the whole module: each costs seconds to start. Only the last
tests change anything (a run of their own, an alias no other test reads).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import nbtrack
from nbtrack.read_api.artifacts import FILE_HEADERS
from nbtrack.store.current import current_store
from nbtrack.store.remote.store import RemoteStore
from tests.conftest import store_in
from tests.jupyter.conftest import JupyterServer, jupyter_server_for
from tests.mlflow_compat.conftest import RunningServer
from tests.team.clients import wait_for
from tests.team.conftest import logging_to, server_in_its_own_folder
from tests.team.ui_of_a_server import ui_of
from tests.web.runs_for_ui import Logged, log_runs

API = "nbtrack/api/"
CSV = "epoch,loss\n0,1.1\n1,0.6\n"  # what ``log_runs`` logs as eval/losses.csv
SHOWCASE_FILES = {
    "plots/confusion.png": "image",
    "eval/losses.csv": "table",
    "config.yaml": "data",
    "report.html": "frame",
    "nbtrack/session_history.py": "text",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lab-of-a-server")


@pytest.fixture(scope="module")
def team(folder: Path) -> Iterator[RunningServer]:
    with server_in_its_own_folder(folder) as running:
        yield running


@pytest.fixture(scope="module")
def logged(team: RunningServer, folder: Path) -> Iterator[Logged]:
    """``log_runs`` from this process with ``NBTRACK_URI`` = the server, every line and file
    delivered before the module's Jupyter reads."""
    client = folder / "client"
    client.mkdir()
    with pytest.MonkeyPatch.context() as monkeypatch, store_in(client, monkeypatch):
        monkeypatch.setenv("NBTRACK_URI", team.url)
        with logging_to(team):
            runs = log_runs(client)
            store = current_store()
            assert isinstance(store, RemoteStore)
            assert wait_for(store.send_artifacts, timeout_s=30), "files left in the spool"
            yield runs


@pytest.fixture(scope="module")
def lab(team: RunningServer, logged: Logged, folder: Path) -> Iterator[JupyterServer]:
    with jupyter_server_for(team.url, _made(folder / "lab")) as server:
        yield server


@pytest.fixture(scope="module")
def ui_api(team: RunningServer, logged: Logged, folder: Path) -> Iterator[str]:
    """``nbtrack ui`` over the same server: its read API's base, ``.../nbtrack/api/``."""
    with ui_of(team.url, folder / "ui") as url:
        yield url.replace("/nbtrack/ui/", "/nbtrack/api/")


def _made(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


ASKED_OF_BOTH = [
    ("experiments", 200),
    ("runs?experiment=sweep&sort=-metrics.acc&filter=params.lr+%3E+0.15", 200),
    ("runs?experiment=baseline&columns=run_name,metrics.acc,params.lr", 200),
    ("runs?experiment=tuning&sort=params.optimizer", 200),
    ("runs/{showcase}", 200),
    ("runs/{showcase}/artifacts", 200),
    ("runs/{showcase}/artifacts/table?path=eval/losses.csv", 200),
    ("history?runs={showcase}&key=loss", 200),
    ("compare?runs={showcase},{second}", 200),
    ("models", 200),
    ("models/churn", 200),
    # What is refused or missing is refused the same way.
    ("runs/0123456789abcdef0123456789abcdef", 404),
    ("runs?experiment=sweep&filter=metrics.acc+%3E%3E+1", 200),  # with its filter_error
    ("runs/{showcase}/artifacts/file?path=../../secret", 400),
    ("runs/{showcase}/artifacts/file?path=plots/missing.png", 404),
    ("models/no-such-model", 404),
]


@pytest.mark.parametrize(("path", "status"), ASKED_OF_BOTH)
def test_the_lab_answers_as_nbtrack_ui_over_the_same_server(
    lab: JupyterServer, ui_api: str, logged: Logged, path: str, status: int
) -> None:
    path = path.format(showcase=logged.showcase, second=logged.runs["sweep"][1])
    ours = lab.get(API + path)
    theirs = requests.get(ui_api + path, timeout=30)

    assert (ours.status_code, theirs.status_code) == (status, status), (ours.text, theirs.text)
    assert _same_folder(ours.json()) == _same_folder(theirs.json())


def _same_folder(answer: Any) -> Any:
    """``answer`` without ``artifact_uri`` (compare's rows and charts have it): over a server
    that is a folder below the reading process's spool folder (``.nbtrack-remote/`` of its
    working directory), and the lab's process and the UI's run in folders of their own."""
    if isinstance(answer, dict):
        return {k: _same_folder(v) for k, v in answer.items() if k != "artifact_uri"}
    if isinstance(answer, list):
        return [_same_folder(v) for v in answer]
    return answer


@pytest.mark.parametrize("path", ["plots/confusion.png", "eval/losses.csv", "report.html"])
def test_an_artifact_file_is_sent_as_nbtrack_ui_sends_it(
    lab: JupyterServer, ui_api: str, logged: Logged, path: str
) -> None:
    route = f"runs/{logged.showcase}/artifacts/file"
    ours = lab.get(API + route, params={"path": path})
    theirs = requests.get(ui_api + route, params={"path": path}, timeout=30)

    assert (ours.status_code, theirs.status_code) == (200, 200)
    assert ours.content == theirs.content
    assert len(ours.content) > 20
    for header in FILE_HEADERS:
        assert ours.headers[header] == theirs.headers[header], header
    assert ours.headers["Content-Security-Policy"] == "sandbox"  # a page's script never runs


def test_the_team_s_experiments_and_a_filtered_sorted_page_of_runs(
    lab: JupyterServer, logged: Logged
) -> None:
    experiments = lab.get(API + "experiments").json()["experiments"]
    page = lab.get(
        API + "runs",
        params={"experiment": "sweep", "filter": "params.lr > 0.15", "sort": "-metrics.acc"},
    ).json()

    assert {"baseline", "sweep", "tuning"} <= {e["name"] for e in experiments}
    assert [(r["run_id"], r["run_name"]) for r in page["rows"]] == [
        (logged.runs["sweep"][2], "sweep-2"),
        (logged.runs["sweep"][1], "sweep-1"),
    ]
    assert [r["metrics.acc"] for r in page["rows"]] == [0.81, 0.76]
    assert page["total"] == 2


def test_a_run_page_has_the_run_s_values_code_and_cell(lab: JupyterServer, logged: Logged) -> None:
    run = lab.get(f"{API}runs/{logged.runs['sweep'][1]}").json()

    assert (run["name"], run["status"], run["cell_id"]) == ("sweep-1", "FINISHED", "cell-1")
    assert run["params"]["lr"] == 0.21
    assert run["metrics"]["acc"] == 0.76
    assert run["code"]["text"].startswith("lr = 0.21\n")


def test_the_artifacts_listed_are_the_files_the_server_holds(
    lab: JupyterServer, logged: Logged
) -> None:
    listing = lab.get(f"{API}runs/{logged.showcase}/artifacts").json()

    assert {f["path"]: f["kind"] for f in listing["files"]} == SHOWCASE_FILES
    sizes = {f["path"]: f["size"] for f in listing["files"]}
    assert sizes["eval/losses.csv"] == len(CSV)
    assert listing["truncated"] is False


def test_an_artifact_comes_back_byte_for_byte_with_the_file_headers(
    lab: JupyterServer, logged: Logged, folder: Path
) -> None:
    picture = lab.get(
        f"{API}runs/{logged.showcase}/artifacts/file", params={"path": "plots/confusion.png"}
    )
    table = lab.get(
        f"{API}runs/{logged.showcase}/artifacts/file", params={"path": "eval/losses.csv"}
    )

    # The bytes the server holds, fetched by this process's own client.
    held = Path(
        nbtrack.download_artifacts(logged.showcase, "plots/confusion.png", _made(folder / "dl"))
    )
    assert picture.status_code == 200, picture.text
    assert picture.content == held.read_bytes()
    assert picture.content.startswith(b"\x89PNG")
    assert picture.headers["Content-Type"] == "image/png"
    assert picture.headers["Content-Security-Policy"] == "sandbox"
    assert picture.headers["X-Content-Type-Options"] == "nosniff"
    assert table.text == CSV
    assert table.headers["Content-Type"].startswith("text/plain")


def test_the_registry_shows_the_team_s_model_and_its_alias(
    lab: JupyterServer, logged: Logged
) -> None:
    models = lab.get(API + "models").json()["models"]
    model = lab.get(f"{API}models/{logged.model}").json()

    assert [(m["name"], m["latest_version"], m["aliases"]) for m in models] == [
        ("churn", 2, {"champion": 1})
    ]
    assert [(v["version"], v["run_id"]) for v in model["versions"]] == [
        (2, logged.runs["tuning"][1]),
        (1, logged.runs["tuning"][0]),
    ]
    assert model["aliases"] == {"champion": 1}


FORBIDDEN_WITHOUT_TOKEN = [
    API + "experiments",
    API + "runs?experiment=sweep",
    API + "runs/{showcase}",
    API + "runs/{showcase}/artifacts",
    API + "runs/{showcase}/artifacts/file?path=eval/losses.csv",
    API + "models",
    API + "models/churn",
    API + "changes?since=x",
    "nbtrack/lab/active?kernel=" + str(uuid.uuid4()),
]


@pytest.mark.parametrize("path", FORBIDDEN_WITHOUT_TOKEN)
def test_without_jupyter_s_token_nothing_of_the_team_s_is_shown(
    lab: JupyterServer, logged: Logged, path: str
) -> None:
    answer = lab.get(path.format(showcase=logged.showcase), token=False)

    assert answer.status_code == 403
    for secret in ("sweep", "churn", "epoch", logged.showcase):
        assert secret not in answer.text


def test_a_run_logged_meanwhile_wakes_the_lab_s_long_poll_and_shows_as_active(
    lab: JupyterServer, logged: Logged
) -> None:
    kernel = str(uuid.uuid4())
    version = lab.get(f"{API}changes?since=").json()["version"]
    answers: list[tuple[float, dict[str, Any]]] = []

    def wait() -> None:
        answer = lab.get(f"{API}changes?since={version}")
        answers.append((time.monotonic(), answer.json()))

    def active() -> dict[str, Any] | None:
        found: dict[str, Any] | None = lab.get(f"nbtrack/lab/active?kernel={kernel}").json()["run"]
        return found

    waiter = threading.Thread(target=wait)
    waiter.start()
    # As %%track tags a run: the lab's status bar asks for the run of its kernel.
    with nbtrack.start_run(
        name="training", experiment="live", tags={"nbtrack.kernel_id": kernel}
    ) as run:
        nbtrack.log_metric("loss", 0.25)
        logged_at = time.monotonic()
        shown = wait_for(lambda: (active() or {}).get("value") == 0.25, timeout_s=10)
        assert shown, f"the lab never showed the kernel's run: {active()}"
        assert active() == {
            "run_id": run.id, "name": "training", "start": run.start_time.timestamp(),
            "metric": "loss", "value": 0.25,
        }  # fmt: skip
    waiter.join(timeout=30)
    ((answered_at, answer),) = answers
    assert answer["changed"] is True
    assert answered_at - logged_at < 5.0  # the server's change, heard within a second or two
    assert wait_for(lambda: active() is None, timeout_s=10), "the ended run is still active"
    rows = lab.get(API + "runs", params={"experiment": "live"}).json()["rows"]
    assert [(r["run_id"], r["run_name"], r["status"]) for r in rows] == [
        (run.id, "training", "FINISHED")
    ]


def test_an_alias_set_in_the_lab_is_set_on_the_server_shown_at_once_and_seen_by_the_ui(
    lab: JupyterServer, ui_api: str, logged: Logged
) -> None:
    def ui_aliases() -> dict[str, int]:
        answer = requests.get(f"{ui_api}models/{logged.model}", timeout=30)
        aliases: dict[str, int] = answer.json()["aliases"]
        return aliases

    before = lab.get(f"{API}models/{logged.model}").json()
    # Aliases no other test of the module sets or reads.
    done = lab.post(f"{API}models/{logged.model}/aliases", {"alias": "reviewed", "version": 2})
    refused = lab.post(
        f"{API}models/{logged.model}/aliases", {"alias": "audited", "version": 2}, token=False
    )

    assert before["aliases"] == {"champion": 1}
    assert done.status_code == 200, done.text
    assert refused.status_code == 403
    assert nbtrack.get_model_version(logged.model, 2).aliases == ("reviewed",)
    # The lab's next answer, not one cached before its own change.
    after = lab.get(f"{API}models/{logged.model}").json()
    assert after["aliases"] == {"champion": 1, "reviewed": 2}
    # Another team member's UI sees it once its watcher hears from the server (about 1 s).
    wait_for(lambda: "reviewed" in ui_aliases(), timeout_s=10)
    assert ui_aliases() == {"champion": 1, "reviewed": 2}
