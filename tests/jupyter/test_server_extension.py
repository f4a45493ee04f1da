"""The server extension in a real ``jupyter server``: the read API and pages below the base
URL, answering as ``nbtrack ui`` does, and nothing without Jupyter's token."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import requests

import nbtrack
from tests.jupyter.conftest import JupyterServer
from tests.web.conftest import ui_client
from tests.web.runs_for_ui import Logged

API = "nbtrack/api/"


FORBIDDEN_WITHOUT_TOKEN = ["experiments", "runs?experiment=sweep", "models", "changes?since=x"]


def test_a_request_without_the_token_gets_403(
    jupyter_server: JupyterServer, logged: Logged
) -> None:
    for path in FORBIDDEN_WITHOUT_TOKEN:
        response = jupyter_server.get(API + path, token=False)
        assert response.status_code == 403, path
        assert "sweep" not in response.text


def test_a_change_without_the_token_gets_403_and_changes_nothing(
    jupyter_server: JupyterServer, logged: Logged
) -> None:
    response = jupyter_server.post(
        f"{API}models/{logged.model}/aliases", {"alias": "challenger", "version": 1}, token=False
    )
    assert response.status_code == 403
    assert "challenger" not in nbtrack.get_model_version(logged.model, 1).aliases


def test_the_pages_and_the_active_run_need_the_token_too(jupyter_server: JupyterServer) -> None:
    page = jupyter_server.get("nbtrack/ui/", token=False, allow_redirects=False)
    assert page.status_code in (302, 403)
    assert b"<html" not in page.content
    kernel = str(uuid.uuid4())
    active = jupyter_server.get(f"nbtrack/lab/active?kernel={kernel}", token=False)
    assert active.status_code == 403


ASKED_OF_BOTH = [
    "experiments",
    "runs?experiment=sweep&sort=-metrics.acc&filter=params.lr+%3E+0.15",
    "runs?experiment=baseline&columns=run_name,metrics.acc",
    "models",
    "models/churn",
    "runs/0123456789abcdef0123456789abcdef",
    "runs?experiment=sweep&filter=metrics.acc+%3E%3E+1",
    "nothing/here",
]


def test_the_api_answers_exactly_as_nbtrack_ui_does(
    jupyter_server: JupyterServer, logged: Logged
) -> None:
    client = ui_client()
    for path in ASKED_OF_BOTH:
        ours = jupyter_server.get(API + path)
        theirs = client.get("/nbtrack/api/" + path)
        assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()), path


def test_a_run_page_answers_with_its_code_and_cell(
    jupyter_server: JupyterServer, logged: Logged
) -> None:
    run_id = logged.runs["sweep"][1]
    run = jupyter_server.get(f"{API}runs/{run_id}").json()
    assert run["name"] == "sweep-1"
    assert run["cell_id"] == "cell-1"
    assert "log_metric" in run["code"]["text"]


def test_artifact_files_stream_and_paths_stay_in_the_run(
    jupyter_server: JupyterServer, logged: Logged
) -> None:
    run_id = logged.showcase
    listing = jupyter_server.get(f"{API}runs/{run_id}/artifacts").json()
    image = next(f for f in listing["files"] if f["kind"] == "image")
    found = jupyter_server.get(f"{API}runs/{run_id}/artifacts/file", params={"path": image["path"]})
    assert found.status_code == 200
    assert found.content.startswith(b"\x89PNG")
    assert found.headers["X-Content-Type-Options"] == "nosniff"
    outside = jupyter_server.get(
        f"{API}runs/{run_id}/artifacts/file", params={"path": "../../../nbtrack.duckdb"}
    )
    assert outside.status_code in (400, 404)
    assert "DUCK" not in outside.text


def test_the_pages_are_served_below_the_base_url_with_their_policy(
    jupyter_server: JupyterServer,
) -> None:
    index = jupyter_server.get("nbtrack/ui/")
    assert index.status_code == 200
    assert '<script type="module" src="app.js">' in index.text
    assert "frame-ancestors 'self'" in index.headers["Content-Security-Policy"]
    assert (
        jupyter_server.get("nbtrack/ui/api.js")
        .headers["Content-Type"]
        .startswith("text/javascript")
    )
    assert jupyter_server.get("nbtrack/ui/..%2Fpages.py").status_code == 404


def test_promote_with_the_token_moves_the_alias(
    jupyter_server: JupyterServer, logged: Logged
) -> None:
    response = jupyter_server.post(
        f"{API}models/{logged.model}/aliases", {"alias": "champion", "version": 2}
    )
    assert response.status_code == 200, response.text
    assert nbtrack.get_model_version(logged.model, 2).aliases == ("champion",)
    refused = jupyter_server.post(f"{API}models/{logged.model}/aliases", ["not", "an", "object"])
    assert refused.status_code == 400
    assert "JSON object" in refused.json()["error"]


def test_the_long_poll_answers_as_soon_as_a_run_is_logged(
    jupyter_server: JupyterServer, lab_store: Path
) -> None:
    nbtrack.set_experiment("live")
    version = jupyter_server.get(f"{API}changes?since=").json()["version"]
    answers: list[tuple[float, dict[str, object]]] = []

    def wait() -> None:
        response = jupyter_server.get(f"{API}changes?since={version}")
        answers.append((time.monotonic(), response.json()))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    assert answers == []  # nothing changed: still waiting
    with nbtrack.start_run(name="late"):
        nbtrack.log_metric("acc", 0.5)
    logged_at = time.monotonic()
    waiter.join(timeout=10)
    ((answered_at, answer),) = answers
    assert answer["changed"] is True
    assert answered_at - logged_at < 2.0
    runs = jupyter_server.get(f"{API}runs?experiment=live").json()
    assert [row["run_name"] for row in runs["rows"]] == ["late"]


def test_the_active_run_of_a_kernel_and_none_after_it_ends(
    jupyter_server: JupyterServer, lab_store: Path
) -> None:
    kernel = str(uuid.uuid4())
    with nbtrack.start_run(name="training", tags={"nbtrack.kernel_id": kernel}) as run:
        nbtrack.log_metric("loss", 0.25)
        nbtrack.sql("SELECT 1")  # a read ingests this process's journal
        active = jupyter_server.get(f"nbtrack/lab/active?kernel={kernel}").json()["run"]
        assert active["run_id"] == run.id
        assert (active["name"], active["metric"], active["value"]) == ("training", "loss", 0.25)
        other = jupyter_server.get(f"nbtrack/lab/active?kernel={uuid.uuid4()}").json()
        assert other["run"] is None
    nbtrack.sql("SELECT 1")
    assert jupyter_server.get(f"nbtrack/lab/active?kernel={kernel}").json()["run"] is None


def test_a_kernel_id_that_is_not_one_is_refused_by_name(jupyter_server: JupyterServer) -> None:
    response = jupyter_server.get("nbtrack/lab/active?kernel=x' or 1=1 --")
    assert response.status_code == 400
    assert "x' or 1=1 --" in response.json()["error"]
    assert "UUID" in response.json()["error"]


def test_the_extension_is_found_through_the_installed_config() -> None:
    import subprocess
    import sys

    listed = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "nbtrack.jupyter" in listed.stdout + listed.stderr
    assert "enabled" in (listed.stdout + listed.stderr).split("nbtrack.jupyter")[1][:40]


def test_a_change_from_a_logged_in_browser_needs_jupyters_xsrf_token(
    jupyter_server: JupyterServer, logged: Logged
) -> None:
    browser = requests.Session()  # logged in by a cookie, as a browser is: no token header
    page = browser.get(f"{jupyter_server.url}nbtrack/ui/?token={jupyter_server.token}")
    assert page.status_code == 200
    xsrf = browser.cookies.get("_xsrf")
    assert xsrf
    url = f"{jupyter_server.url}{API}models/{logged.model}/aliases"
    # An alias and a version no other test of the module sets or checks (they share a store).
    body = {"alias": "reviewed", "version": 1}
    assert browser.post(url, json=body).status_code == 403
    assert "reviewed" not in nbtrack.get_model_version(logged.model, 1).aliases
    done = browser.post(url, json=body, headers={"X-XSRFToken": xsrf})
    assert done.status_code == 200, done.text
    assert "reviewed" in nbtrack.get_model_version(logged.model, 1).aliases
