"""The UI's safety, through its real app: Host names, the token, CSRF, artifacts that cannot
run in the UI's origin, no stack traces."""

from __future__ import annotations

import pytest

from nbtrack.errors import InvalidValueError
from nbtrack.http.settings import check_settings
from nbtrack.read_api import routes
from nbtrack.web.access import COOKIE
from tests.web.conftest import BASE, ui_client
from tests.web.runs_for_ui import Logged

SAME_ORIGIN = {"Origin": BASE}


def test_a_spoofed_host_header_is_refused(logged: Logged) -> None:
    client = ui_client()
    answer = client.get("/nbtrack/api/experiments", headers={"Host": "attacker.example"})
    assert answer.status_code == 403 and "Host" in answer.json()["message"]
    assert client.get("/nbtrack/api/experiments").status_code == 200


def test_off_loopback_a_token_is_required_to_start() -> None:
    with pytest.raises(InvalidValueError, match="needs a token"):
        check_settings("0.0.0.0", None, False, 1024, command="ui")


def test_off_loopback_a_request_without_the_token_gets_401(logged: Logged) -> None:
    client = ui_client(token="s3cret", host="0.0.0.0")
    assert client.get("/nbtrack/api/experiments").status_code == 401
    assert client.get("/nbtrack/ui/").status_code == 401
    bearer = {"Authorization": "Bearer s3cret"}
    assert client.get("/nbtrack/api/experiments", headers=bearer).status_code == 200
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/nbtrack/api/experiments", headers=wrong).status_code == 401


def test_the_token_in_the_address_becomes_a_cookie_and_leaves_the_address(logged: Logged) -> None:
    client = ui_client(token="s3cret", host="0.0.0.0")
    first = client.get("/nbtrack/ui/?token=s3cret", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/nbtrack/ui/"
    cookie = first.headers["set-cookie"]
    assert f"{COOKIE}=s3cret" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/nbtrack/api/experiments").status_code == 200  # the cookie now


def test_a_wrong_token_in_the_address_sets_no_cookie(logged: Logged) -> None:
    client = ui_client(token="s3cret", host="0.0.0.0")
    answer = client.get("/nbtrack/ui/?token=guess", follow_redirects=False)
    assert answer.status_code == 401 and "set-cookie" not in answer.headers


def test_promote_from_another_site_is_refused(logged: Logged) -> None:
    client = ui_client()
    body = {"alias": "champion", "version": 2}
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {}):
        answer = client.post("/nbtrack/api/models/churn/aliases", json=body, headers=headers)
        assert answer.status_code == 403, headers
        assert "CSRF" in answer.json()["message"]
    routes.clear_cache()
    assert client.get("/nbtrack/api/models/churn").json()["aliases"] == {"champion": 1}


def test_promote_from_the_ui_itself_is_accepted(logged: Logged) -> None:
    client = ui_client()
    body = {"alias": "champion", "version": 2}
    answer = client.post("/nbtrack/api/models/churn/aliases", json=body, headers=SAME_ORIGIN)
    assert answer.status_code == 200 and answer.json()["version"] == 2


def test_promote_with_the_token_in_its_own_header_needs_no_origin(logged: Logged) -> None:
    client = ui_client(token="s3cret", host="0.0.0.0")
    body = {"alias": "champion", "version": 2}
    answer = client.post(
        "/nbtrack/api/models/churn/aliases", json=body, headers={"Authorization": "Bearer s3cret"}
    )
    assert answer.status_code == 200


def test_a_cookie_alone_does_not_pass_the_csrf_check(logged: Logged) -> None:
    client = ui_client(token="s3cret", host="0.0.0.0")
    client.cookies.set(COOKIE, "s3cret")
    body = {"alias": "champion", "version": 2}
    answer = client.post("/nbtrack/api/models/churn/aliases", json=body)
    assert answer.status_code == 403


def test_a_form_post_is_refused_even_from_the_ui(logged: Logged) -> None:
    client = ui_client()
    answer = client.post(
        "/nbtrack/api/models/churn/aliases", data={"version": "2"}, headers=SAME_ORIGIN
    )
    assert answer.status_code == 415


def test_an_html_artifact_is_served_sandboxed_and_unsniffed(logged: Logged) -> None:
    client = ui_client()
    answer = client.get(
        f"/nbtrack/api/runs/{logged.showcase}/artifacts/file", params={"path": "report.html"}
    )
    assert answer.status_code == 200 and "<script>" in answer.text
    assert answer.headers["content-security-policy"] == "sandbox"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_the_pages_forbid_scripts_from_elsewhere(logged: Logged) -> None:
    page = ui_client().get("/nbtrack/ui/")
    assert page.status_code == 200 and '<script type="module" src="app.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'self'" in policy


def test_an_error_carries_a_message_and_no_traceback(logged: Logged) -> None:
    client = ui_client()
    for path in (
        "/nbtrack/api/runs/" + "f" * 32,
        f"/nbtrack/api/runs/{logged.showcase}/artifacts/file?path=../../../etc/passwd",
        "/nbtrack/api/runs?experiment=x&page=zz",
    ):
        answer = client.get(path)
        assert 400 <= answer.status_code < 500
        assert "Traceback" not in answer.text and set(answer.json()) == {"error"}
