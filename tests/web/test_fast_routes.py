"""MLflow's busiest routes answered in front of the router (``web/mlflow_rest/fast_routes``)
answer exactly what the router answers: the same status, headers and body, for good input and
bad, and leave the same run in the store. Each case goes to two runs of one real store: one
through the router alone, one through the fast routes, whose fall-through to the router is
counted so that a case meant to be answered from memory is seen to be."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import nbtrack
from nbtrack.http.guard import Receive, Scope, Send
from nbtrack.mlflow_compat.registry import RegistryService
from nbtrack.mlflow_compat.service import TrackingService, proxied_artifact_uri
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.web.destinations import open_destination
from nbtrack.web.mlflow_rest.artifacts import DEFAULT_MAX_SIZE, ArtifactProxy
from nbtrack.web.mlflow_rest.fast_routes import FastRoutes
from nbtrack.web.mlflow_rest.routes import mlflow_routes

MAX_BODY = 64 * 1024
API = "/api/2.0/mlflow/"


class Counted:
    """The router, counting the requests that reach it."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


class Paths:
    def __init__(self, store_path: Path) -> None:
        self.service = TrackingService(store_path, proxied_artifact_uri, mirror_runs=True)
        self.service.experiments.ensure_default()
        folder = (self.service.store.folder / ARTIFACTS_FOLDER).resolve()
        proxy = ArtifactProxy(self.service, DEFAULT_MAX_SIZE, open_destination(None, folder))
        routes = mlflow_routes(self.service, RegistryService(self.service), proxy, MAX_BODY)
        self.router = Counted(Starlette(routes=routes))
        self.slow = TestClient(self.router, base_url="http://127.0.0.1")
        self.fast = TestClient(
            FastRoutes(self.router, self.service, MAX_BODY), base_url="http://127.0.0.1"
        )

    def new_run(self) -> str:
        created = self.service.create_run("0", None, 1000, [("team", "a")], "twin")
        return str(created["info"]["run_id"])


@pytest.fixture
def paths(store_path: Path) -> Paths:
    return Paths(store_path)


Body = Callable[[str], Any]
# (method, route, body or query as a function of the run id, set-up calls before it)
CASES: dict[str, tuple[str, str, Body, list[tuple[str, Body]]]] = {
    "log-metric": ("POST", "runs/log-metric", lambda r: {"run_id": r, "key": "loss",
                   "value": 0.5, "timestamp": 1, "step": 3}, []),
    "log-metric by run_uuid": ("POST", "runs/log-metric", lambda r: {"run_uuid": r,
                               "key": "loss", "value": "1.5", "timestamp": 2}, []),
    "log-metric NaN": ("POST", "runs/log-metric", lambda r: {"run_id": r, "key": "loss",
                       "value": "NaN", "timestamp": 2}, []),
    "log-metric text value": ("POST", "runs/log-metric", lambda r: {"run_id": r,
                              "key": "loss", "value": "high", "timestamp": 1}, []),
    "log-metric no key": ("POST", "runs/log-metric", lambda r: {"run_id": r, "value": 1,
                          "timestamp": 1}, []),
    "log-metric no timestamp": ("POST", "runs/log-metric", lambda r: {"run_id": r, "key": "a",
                                "value": 1}, []),
    "log-metric key too long": ("POST", "runs/log-metric", lambda r: {"run_id": r,
                                "key": "k" * 251, "value": 1, "timestamp": 1}, []),
    "log-parameter": ("POST", "runs/log-parameter", lambda r: {"run_id": r, "key": "lr",
                      "value": "0.1"}, []),
    "log-parameter same value again": ("POST", "runs/log-parameter", lambda r: {"run_id": r,
                                       "key": "lr", "value": "0.1"},
                                       [("runs/log-parameter", lambda r: {"run_id": r,
                                         "key": "lr", "value": "0.1"})]),
    "log-parameter changed value": ("POST", "runs/log-parameter", lambda r: {"run_id": r,
                                    "key": "lr", "value": "0.2"},
                                    [("runs/log-parameter", lambda r: {"run_id": r,
                                      "key": "lr", "value": "0.1"})]),
    "log-parameter key not text": ("POST", "runs/log-parameter", lambda r: {"run_id": r,
                                   "key": 31, "value": "x"}, []),
    "set-tag": ("POST", "runs/set-tag", lambda r: {"run_id": r, "key": "team", "value": "b"}, []),
    "set-tag no value": ("POST", "runs/set-tag", lambda r: {"run_id": r, "key": "note"}, []),
    "log-batch": ("POST", "runs/log-batch", lambda r: {"run_id": r, "metrics": [{"key": "m",
                  "value": 2, "timestamp": 5, "step": 1}], "params": [{"key": "p", "value": "1"}],
                  "tags": [{"key": "t", "value": "v"}]}, []),
    "log-batch metric without timestamp": ("POST", "runs/log-batch", lambda r: {"run_id": r,
                                           "metrics": [{"key": "m", "value": 2}]}, []),
    "log-batch too many params": ("POST", "runs/log-batch", lambda r: {"run_id": r,
                                  "params": [{"key": f"p{i}", "value": "1"}
                                             for i in range(101)]}, []),
    "log-batch tags not a list": ("POST", "runs/log-batch", lambda r: {"run_id": r,
                                  "tags": "x"}, []),
    "update to FINISHED": ("POST", "runs/update", lambda r: {"run_id": r, "status": "FINISHED",
                           "end_time": 9000}, []),
    "update to a status MLflow lacks": ("POST", "runs/update", lambda r: {"run_id": r,
                                        "status": "DONE", "end_time": 9000}, []),
    "get": ("GET", "runs/get", lambda r: f"run_id={r}",
            [("runs/log-metric", lambda r: {"run_id": r, "key": "acc", "value": 0.9,
              "timestamp": 3, "step": 1})]),
    "get without run_id": ("GET", "runs/get", lambda r: "", []),
    "create": ("POST", "runs/create", lambda r: {"experiment_id": "0", "run_name": "n",
               "start_time": 77, "tags": [{"key": "k", "value": "v"}]}, []),
    "create without experiment": ("POST", "runs/create", lambda r: {"run_name": "n",
                                  "start_time": 77}, []),
    "create with tags not a list": ("POST", "runs/create", lambda r: {"experiment_id": "0",
                                    "run_name": "n", "start_time": 77, "tags": 4}, []),
}  # fmt: skip


# Malformed requests the fast routes leave to the router to refuse.
ROUTED = {"get without run_id", "log-batch tags not a list"}


def _send(client: TestClient, method: str, route: str, given: Any) -> tuple[int, str, str]:
    if method == "GET":
        answer = client.get(API + route + (f"?{given}" if given else ""))
    else:
        answer = client.post(API + route, content=json.dumps(given))
    return answer.status_code, answer.headers["content-type"], answer.text


def _same(run: str, found: tuple[int, str, str], new_ids: set[str]) -> tuple[int, str, str]:
    text = found[2].replace(run, "RUN")
    for new in new_ids:
        text = text.replace(new, "NEW")
    return found[0], found[1], text


def _new_run_ids(found: tuple[int, str, str]) -> set[str]:
    body = json.loads(found[2])
    return {body["run"]["info"]["run_id"]} if found[0] == 200 and "run" in body else set()


@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_path_answers_what_the_router_answers(paths: Paths, case: str) -> None:
    method, route, body, setup = CASES[case]
    slow_run, fast_run = paths.new_run(), paths.new_run()
    for run, client in ((slow_run, paths.slow), (fast_run, paths.fast)):
        for setup_route, setup_body in setup:
            assert client.post(API + setup_route, json=setup_body(run)).status_code == 200
    before = paths.router.calls
    slow = _send(paths.slow, method, route, body(slow_run))
    routed = paths.router.calls - before
    fast = _send(paths.fast, method, route, body(fast_run))
    assert routed == 1
    # Answered without the router, but where the request itself is malformed in a way that
    # the handler must report (no run id, tags that are not a list).
    assert paths.router.calls - before == (2 if case in ROUTED else 1), case
    assert _same(fast_run, fast, _new_run_ids(fast)) == _same(slow_run, slow, _new_run_ids(slow))
    _assert_same_run_in_store(paths, slow_run, fast_run)


def _assert_same_run_in_store(paths: Paths, slow_run: str, fast_run: str) -> None:
    slow, fast = nbtrack.get_run(slow_run), nbtrack.get_run(fast_run)
    # repr: a NaN logged on both sides is the same value, though NaN != NaN.
    assert repr((fast.status, fast.params, fast.metrics, fast.tags, fast.end_time)) == repr(
        (slow.status, slow.params, slow.metrics, slow.tags, slow.end_time)
    )
    for key in slow.metrics:
        columns = ["value", "step", "timestamp"]
        slow_points = nbtrack.get_metric_history(slow_run, key)[columns]
        fast_points = nbtrack.get_metric_history(fast_run, key)[columns]
        assert slow_points.equals(fast_points), key  # equals() takes NaN as equal to NaN


def test_requests_it_cannot_answer_from_memory_go_to_the_router(paths: Paths) -> None:
    cases = [
        ("POST", "runs/log-metric", {"run_id": "no-such-run", "key": "a", "value": 1,
                                     "timestamp": 1}),
        ("POST", "runs/set-tag", {"run_id": "RUN", "key": "mlflow.runName", "value": "new"}),
        ("POST", "runs/log-batch", {"run_id": "RUN", "tags": [{"key": "mlflow.runName",
                                                               "value": "new"}]}),
        ("POST", "runs/update", {"run_id": "RUN", "run_name": "renamed"}),
        ("POST", "runs/create", {"experiment_id": "12345", "run_name": "n"}),
        ("GET", "runs/get", "run_id=no-such-run"),
    ]  # fmt: skip
    for method, route, given in cases:
        run = paths.new_run()
        sent = given
        if isinstance(given, dict):
            sent = {k: (run if v == "RUN" else v) for k, v in given.items()}
        before = paths.router.calls
        status, _, text = _send(paths.fast, method, route, sent)
        assert paths.router.calls == before + 1, (route, given)
        assert status in (200, 400, 404), text
    assert nbtrack.get_run(run).name == "twin"


def test_a_body_in_parts_or_too_large_is_read_as_the_router_reads_it(paths: Paths) -> None:
    run = paths.new_run()
    metric = {"run_id": run, "key": "loss", "value": 0.25, "timestamp": 1, "step": 0}

    text = json.dumps(metric).encode()
    before = paths.router.calls
    status, answer = asyncio.run(_in_parts(paths, [text[:10], text[10:]]))
    assert (status, answer, paths.router.calls) == (200, b"{}", before + 1)
    huge = {**metric, "key": "x" * MAX_BODY}
    slow = paths.slow.post(API + "runs/log-metric", json=huge)
    fast = paths.fast.post(API + "runs/log-metric", json=huge)
    assert (fast.status_code, fast.json()) == (slow.status_code, slow.json())
    assert fast.status_code == 413
    assert nbtrack.get_metric_history(run, "loss")["value"].tolist() == [0.25]


async def _in_parts(paths: Paths, parts: list[bytes]) -> tuple[int, bytes]:
    """A log-metric request whose body arrives in ``parts``, straight through ASGI (the test
    client joins a body into one message)."""
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": API + "runs/log-metric", "root_path": "",
        "raw_path": (API + "runs/log-metric").encode(), "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "http_version": "1.1", "scheme": "http", "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }  # fmt: skip
    await FastRoutes(paths.router, paths.service, MAX_BODY)(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])
