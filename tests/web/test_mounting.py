"""The UI's routes inside another Starlette app, as ``nbtrack server`` will mount them."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from nbtrack.http.guard import Guard
from nbtrack.http.settings import check_settings
from nbtrack.web.access import UiAccess
from nbtrack.web.app import ui_routes
from tests.web.conftest import BASE
from tests.web.runs_for_ui import Logged


async def _other(request: Request) -> JSONResponse:
    return JSONResponse({"other": True})


def test_the_ui_answers_beside_another_apps_routes(logged: Logged) -> None:
    settings = check_settings("127.0.0.1", None, False, 1024, command="server")
    app = Starlette(routes=[Route("/api/2.0/other", _other), *ui_routes()])
    client = TestClient(UiAccess(Guard(app, settings, None), settings.token), base_url=BASE)
    assert client.get("/api/2.0/other").json() == {"other": True}
    assert client.get("/nbtrack/api/runs", params={"experiment": "sweep"}).json()["total"] == 4
    assert client.get("/nbtrack/ui/").status_code == 200
    assert client.get("/", follow_redirects=False).headers["location"] == "/nbtrack/ui/"
