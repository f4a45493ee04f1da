"""The server's app: other front ends' routes (the UI's) answer on its port behind the same
checks, and the experiment MLflow's client calls "0" exists from the start."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from nbtrack.http.settings import check_settings
from nbtrack.web.server import create_app


async def _page(request: Request) -> PlainTextResponse:
    return PlainTextResponse("the ui")


def _client(store_path: Path, token: str | None = None, host: str = "127.0.0.1") -> TestClient:
    settings = check_settings(host, token, False, 1024 * 1024, command="server")
    app = create_app(store_path, settings, extra_routes=[Route("/ui", _page)])
    return TestClient(app, base_url="http://127.0.0.1")


def test_extra_routes_answer_beside_mlflows_api(store_path: Path) -> None:
    with _client(store_path) as client:
        assert client.get("/ui").text == "the ui"
        found = client.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"})
        assert found.status_code == 200
        assert found.json()["experiment"]["name"] == "Default"


def test_extra_routes_are_behind_the_token_and_host_checks(store_path: Path) -> None:
    with _client(store_path, token="t0ken", host="0.0.0.0") as client:
        assert client.get("/ui").status_code == 401
        assert client.get("/ui", headers={"Authorization": "Bearer t0ken"}).text == "the ui"
    with _client(store_path) as client:
        assert client.get("/ui", headers={"Host": "evil.example"}).status_code == 403


def test_an_unknown_endpoint_is_404_and_a_body_that_is_no_json_is_400(store_path: Path) -> None:
    with _client(store_path) as client:
        assert client.get("/api/2.0/mlflow/nothing").status_code == 404
        answer = client.post(
            "/api/2.0/mlflow/runs/create",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 400
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_a_wrong_method_on_an_mlflow_route_is_a_405_in_mlflows_json(store_path: Path) -> None:
    with _client(store_path) as client:
        for method, path, allowed in (
            ("POST", "/api/2.0/mlflow/runs/get", "GET"),
            ("GET", "/ajax-api/2.0/mlflow/runs/log-metric", "POST"),
            ("DELETE", "/api/2.0/mlflow/experiments/search", "GET, POST"),
            ("PUT", "/api/2.0/mlflow/logged-models/m-1", "GET, PATCH"),
            ("POST", "/api/3.0/mlflow/server-info", "GET"),
        ):
            answer = client.request(method, path)
            assert answer.status_code == 405, (method, path)
            assert answer.headers["content-type"] == "application/json"
            assert answer.headers["allow"] == allowed
            error = answer.json()
            assert error["error_code"] == "BAD_REQUEST"
            assert error["message"] == f"{method} is not accepted on {path}; use {allowed}"
        # The right method still reaches the endpoint.
        assert client.get("/api/2.0/mlflow/runs/get", params={"run_id": "x"}).status_code == 404


def test_nbtrack_server_serves_the_ui_and_mlflows_client_beside_it(store_path: Path) -> None:
    """One port, as `mlflow server` has: the UI's pages and read API see what MLflow's client
    logs, the UI's changes keep their CSRF check, and MLflow's client (which sends no Origin)
    is not held to it."""
    import mlflow
    import requests

    from nbtrack.web.server import start

    with start(None, store=store_path) as server:
        client = mlflow.MlflowClient(tracking_uri=server.url)
        run = client.create_run("0", run_name="over-http")
        client.log_metric(run.info.run_id, "acc", 0.9)
        client.set_terminated(run.info.run_id)
        page = requests.get(f"{server.url}/", timeout=10)
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        runs = requests.get(f"{server.url}/nbtrack/api/experiments", timeout=10).json()
        assert any(experiment["name"] == "Default" for experiment in runs["experiments"])
        one = requests.get(f"{server.url}/nbtrack/api/runs/{run.info.run_id}", timeout=10)
        assert one.status_code == 200
        assert one.json()["metrics"]["acc"] == 0.9
        forged = requests.post(
            f"{server.url}/nbtrack/api/models/m/aliases/champion",
            json={"version": 1},
            headers={"Origin": "http://evil.example"},
            timeout=10,
        )
        assert forged.status_code == 403
        assert "CSRF" in forged.json()["message"]
