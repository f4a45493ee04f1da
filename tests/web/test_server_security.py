"""``nbtrack server``'s doors: the token off loopback (Bearer, and Basic as MLflow's client
sends it), the Host check, artifact paths that try to leave their folder, and experiments
whose artifacts would live outside the store's folder. Each against a real server process."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.mlflow_compat.conftest import RunningServer, reset_mlflow, start_server, stop_server
from tests.serving.conftest import free_port

TOKEN = "s3cret-token"
# Off loopback as the server's rule reads it (only 127.0.0.1, ::1 and localhost are
# loopback), yet reachable from this machine alone.
OFF_LOOPBACK = "127.0.0.2"


@pytest.fixture
def guarded_server(store_path: Path) -> Iterator[RunningServer]:
    env = {**os.environ, "NBTRACK_SERVE_TOKEN": TOKEN}
    server = start_server(store_path, host=OFF_LOOPBACK, env=env)
    yield server
    stop_server(server.process)


@pytest.fixture
def loopback_server(store_path: Path) -> Iterator[RunningServer]:
    server = start_server(store_path)
    yield server
    stop_server(server.process)


@pytest.fixture
def mlflow_state() -> Iterator[None]:
    yield
    reset_mlflow()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_off_loopback_without_a_token_the_server_refuses_to_start(store_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NBTRACK_SERVE_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", "server", "--store", str(store_path), "--host",
         OFF_LOOPBACK, "--port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "needs a token" in done.stderr


def test_no_token_is_401_off_loopback(guarded_server: RunningServer) -> None:
    url = f"{guarded_server.url}/api/2.0/mlflow/experiments/search"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": _basic("u", "no")}):
        answer = requests.post(url, json={}, headers=headers, timeout=10)
        assert answer.status_code == 401, headers
        assert answer.json()["error_code"] == "UNAUTHENTICATED"


def test_the_token_as_bearer_or_as_basic_password_is_accepted(
    guarded_server: RunningServer,
) -> None:
    url = f"{guarded_server.url}/api/2.0/mlflow/experiments/search"
    for auth in (f"Bearer {TOKEN}", _basic("anyone", TOKEN)):
        answer = requests.post(url, json={}, headers={"Authorization": auth}, timeout=10)
        assert answer.status_code == 200, answer.text
        assert [e["name"] for e in answer.json()["experiments"]] == ["Default"]


@pytest.mark.parametrize(
    "variables",
    [
        {"MLFLOW_TRACKING_TOKEN": TOKEN},
        {"MLFLOW_TRACKING_USERNAME": "me", "MLFLOW_TRACKING_PASSWORD": TOKEN},
    ],
)
def test_mlflow_client_logs_with_its_own_credential_variables(
    guarded_server: RunningServer,
    variables: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    mlflow_state: None,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    client = MlflowClient(guarded_server.url)
    run = client.create_run("0")
    client.log_metric(run.info.run_id, "loss", 0.5)
    assert client.get_run(run.info.run_id).data.metrics == {"loss": 0.5}


def test_a_spoofed_host_header_is_403(loopback_server: RunningServer) -> None:
    answer = requests.get(
        f"{loopback_server.url}/api/2.0/mlflow/experiments/get?experiment_id=0",
        headers={"Host": "evil.example.com"},
        timeout=10,
    )
    assert answer.status_code == 403
    assert answer.json()["error_code"] == "PERMISSION_DENIED"


def test_the_fast_write_routes_keep_the_token_and_host_checks(
    guarded_server: RunningServer,
) -> None:
    # runs/log-metric and runs/get of a run the server writes are answered in front of its
    # router (web/mlflow_rest/fast_routes.py): still behind the same doors.
    url = f"{guarded_server.url}/api/2.0/mlflow/"
    good = {"Authorization": f"Bearer {TOKEN}"}
    created = requests.post(url + "runs/create", json={"experiment_id": "0"}, headers=good,
                            timeout=10)  # fmt: skip
    run_id = created.json()["run"]["info"]["run_id"]
    metric = {"run_id": run_id, "key": "loss", "value": 1.0, "timestamp": 1}
    refused = [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({**good, "Host": "evil.example.com"}, 403),
    ]
    for headers, status in refused:
        answer = requests.post(url + "runs/log-metric", json=metric, headers=headers, timeout=10)
        assert answer.status_code == status, headers
        answer = requests.get(url + f"runs/get?run_id={run_id}", headers=headers, timeout=10)
        assert answer.status_code == status, headers
    answer = requests.get(url + f"runs/get?run_id={run_id}", headers=good, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["run"]["data"].get("metrics", []) == []


def _run_folder(server: RunningServer) -> tuple[str, str]:
    client = MlflowClient(server.url)
    run = client.create_run("0")
    return run.info.run_id, run.info.artifact_uri.removeprefix("mlflow-artifacts:/")


@pytest.mark.parametrize(
    "path",
    ["../outside.txt", "%2e%2e/outside.txt", "a/../../outside.txt", "..%2Foutside.txt"],
)
def test_artifact_uploads_with_dot_dot_are_400_and_write_nothing(
    loopback_server: RunningServer, store_path: Path, path: str
) -> None:
    _, folder = _run_folder(loopback_server)
    base = f"{loopback_server.url}/api/2.0/mlflow-artifacts/artifacts"
    # Sent as written: requests would otherwise resolve the dots itself.
    session = requests.Session()
    request = requests.Request("PUT", f"{base}/{folder}/{path}", data=b"x").prepare()
    request.url = f"{base}/{folder}/{path}"
    answer = session.send(request, timeout=10)
    assert answer.status_code == 400, answer.text
    assert "'..'" in answer.json()["message"]
    assert not list(store_path.parent.rglob("outside.txt"))


def test_artifact_paths_with_dot_dot_are_refused_by_every_endpoint(
    loopback_server: RunningServer,
) -> None:
    run_id, _ = _run_folder(loopback_server)
    url = loopback_server.url
    answers = [
        requests.get(
            f"{url}/api/2.0/mlflow/artifacts/list",
            params={"run_id": run_id, "path": "../"},
            timeout=10,
        ),
        requests.get(
            f"{url}/api/2.0/mlflow-artifacts/artifacts", params={"path": "../"}, timeout=10
        ),
        requests.get(f"{url}/api/2.0/mlflow-artifacts/artifacts/..%2F..%2Fetc", timeout=10),
    ]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "'..'" in answer.json()["message"]


def test_uploads_outside_a_run_folder_are_refused(
    loopback_server: RunningServer, store_path: Path
) -> None:
    base = f"{loopback_server.url}/api/2.0/mlflow-artifacts/artifacts"
    for target, status in (
        ("registry/x/MLmodel", 400),
        ("loose.txt", 400),
        ("1/notarun/artifacts/a.txt", 410),  # no such run: gone, not to be sent again
    ):
        answer = requests.put(f"{base}/{target}", data=b"x", timeout=10)
        assert answer.status_code == status, (target, answer.text)
    assert not (store_path.parent / "nbtrack-artifacts" / "registry").exists()
    assert not (store_path.parent / "nbtrack-artifacts" / "loose.txt").exists()


def test_an_experiment_artifact_location_outside_the_store_is_refused(
    loopback_server: RunningServer, tmp_path: Path, mlflow_state: None
) -> None:
    client = MlflowClient(loopback_server.url)
    for location in (str(tmp_path.parent / "elsewhere"), "/etc", "s3://bucket/x"):
        with pytest.raises(MlflowException, match="artifact_location") as refused:
            client.create_experiment("outside", artifact_location=location)
        assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert [e.name for e in client.search_experiments()] == ["Default"]


def test_an_experiment_artifact_location_is_refused_by_the_plugin_too(
    store_path: Path, tmp_path: Path, mlflow_state: None
) -> None:
    client = MlflowClient(f"nbtrack:{store_path}")
    with pytest.raises(MlflowException, match="artifact_location"):
        client.create_experiment("outside", artifact_location=str(tmp_path.parent))
