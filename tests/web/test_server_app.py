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
