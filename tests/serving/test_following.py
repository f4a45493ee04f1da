"""Following an alias: the marker file, the swap, a failed load, and no DuckDB per request."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nbtrack
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.serving.following import Follower, Target, marker_state, target
from nbtrack.store.store import Store
from tests.conftest import payload_of
from tests.serving.conftest import Churn, log_and_register


def wait_for(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_model_arguments_name_what_is_served(tmp_path: Path) -> None:
    assert target("churn") == Target("models:/churn@champion", "churn", "champion")
    assert target("churn@challenger") == Target("models:/churn@challenger", "churn", "challenger")
    assert target("models:/churn@b") == Target("models:/churn@b", "churn", "b")
    assert target("models:/churn/latest") == Target("models:/churn/latest", "churn", "latest")
    assert target("models:/churn/3") == Target("models:/churn/3", "churn", None)
    assert target("runs:/abc/model") == Target("runs:/abc/model")
    assert target("./some/folder") == Target("./some/folder")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("flavors: {}\n")
    assert target(str(tmp_path / "model")).follows is None
    for bad in ("", "  ", "models:/", "models:/churn/v3", "churn@"):
        with pytest.raises(InvalidValueError):
            target(bad)


def test_marker_state_changes_when_the_file_is_replaced(tmp_path: Path) -> None:
    marker = tmp_path / ".marker"
    assert marker_state(marker) is None
    marker.write_text("1\n")
    first = marker_state(marker)
    staging = tmp_path / ".marker.new"
    staging.write_text("1\n")
    staging.replace(marker)
    assert marker_state(marker) not in (None, first)


def test_promoting_another_version_swaps_the_model_and_old_readers_keep_theirs(
    churn: Churn,
) -> None:
    follower = Follower.start(target("churn"))
    try:
        held = follower.current
        assert (held.version, follower.following) == (1, True)
        nbtrack.promote("churn", 2)
        wait_for(lambda: follower.current.version == 2)
        assert follower.current.metadata["served_uri"] == "models:/churn/2"
        # A request that read the model before the swap still predicts with version 1.
        np.testing.assert_array_equal(held.model.predict(churn.features), churn.v1)
        np.testing.assert_array_equal(follower.current.model.predict(churn.features), churn.v2)
    finally:
        follower.stop()


def test_latest_follows_new_registrations(
    churn: Churn, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    follower = Follower.start(target("models:/churn/latest"))
    try:
        assert follower.current.version == 2
        assert follower.current.metadata["alias"] is None
        assert follower.current.metadata["follows"] == "latest"
        features, labels = classification_data
        assert log_and_register(features, labels)[0] == 3
        wait_for(lambda: follower.current.version == 3)
    finally:
        follower.stop()


def test_a_fixed_version_is_not_followed(churn: Churn) -> None:
    follower = Follower.start(target("models:/churn/1"))
    try:
        assert not follower.following
        nbtrack.promote("churn", 2)
        assert follower.refresh() is False
        assert follower.current.version == 1
    finally:
        follower.stop()


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(
    churn: Churn,
    classification_data: tuple[pd.DataFrame, np.ndarray],
    caplog: pytest.LogCaptureFixture,
) -> None:
    features, labels = classification_data
    broken, _ = log_and_register(features, labels)
    payload = payload_of(nbtrack.get_model_version("churn", broken).storage_path)
    payload.write_bytes(b"tampered")
    follower = Follower.start(target("churn"))
    try:
        with caplog.at_level(logging.INFO, logger="nbtrack.serve"):
            nbtrack.promote("churn", broken)
            wait_for(lambda: any(r.levelno == logging.ERROR for r in caplog.records))
            assert follower.current.version == 1
            error = next(r for r in caplog.records if r.levelno == logging.ERROR).getMessage()
            assert "models:/churn@champion" in error and "still serving version 1" in error
            # The alias removed: logged, and version 1 keeps answering.
            nbtrack.delete_alias("churn", "champion")
            wait_for(lambda: sum(r.levelno == logging.ERROR for r in caplog.records) == 2)
            assert follower.current.version == 1
            # Then a good version is promoted: served.
            nbtrack.promote("churn", 2)
            wait_for(lambda: follower.current.version == 2)
    finally:
        follower.stop()


def test_an_unknown_model_fails_at_start(store_path: Path) -> None:
    with pytest.raises(NotFoundError):
        Follower.start(target("nothing-here"))


def test_requests_never_open_the_store(churn: Churn, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[bool] = []
    connect = Store._connect

    def counting(self: Store, *args: object, **kwargs: object) -> object:
        opened.append(True)
        return connect(self, *args, **kwargs)  # type: ignore[arg-type]

    with nbtrack.serve("churn") as server:
        monkeypatch.setattr(Store, "_connect", counting)
        connection = http.client.HTTPConnection("127.0.0.1", server.port)
        body = json.dumps({"inputs": churn.features.head(1).to_dict(orient="records")})
        for _ in range(50):
            connection.request("POST", "/invocations", body, {"content-type": "application/json"})
            assert connection.getresponse().read()
            connection.request("GET", "/metadata")
            assert connection.getresponse().read()
        connection.close()
        # A stat of the marker file per tick, not a query.
        time.sleep(0.5)
        assert opened == []


_release = threading.Event()
_entered = threading.Event()


class _Constant:
    """Predicts ``answer`` for every row; a slow one waits for ``_release`` first."""

    def __init__(self, answer: float, slow: bool) -> None:
        self.answer = answer
        self.slow = slow

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        if self.slow:
            _entered.set()
            _release.wait(timeout=30)
        return np.full(len(data), self.answer)


def test_a_request_in_flight_finishes_on_the_old_version(store_path: Path) -> None:
    example = pd.DataFrame({"x": [1.0]})
    _release.set()  # signature inference calls the model once
    for model in (_Constant(1.0, slow=True), _Constant(2.0, slow=False)):
        with nbtrack.start_run():
            info = nbtrack.log_model(model, "model", input_example=example)
        nbtrack.register_model(info.model_uri, "slow")
    nbtrack.promote("slow", 1)
    _release.clear()
    _entered.clear()
    results: list[object] = []
    with nbtrack.serve("slow") as server:

        def call() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            connection.request(
                "POST", "/invocations", json.dumps({"inputs": {"x": [5.0]}}),
                {"content-type": "application/json"},
            )  # fmt: skip
            results.append(json.loads(connection.getresponse().read()))
            connection.close()

        in_flight = threading.Thread(target=call)
        in_flight.start()
        assert _entered.wait(timeout=15)
        nbtrack.promote("slow", 2)
        wait_for(lambda: server.served.version == 2)
        _release.set()
        in_flight.join(timeout=30)
        call()
    assert results == [{"predictions": [1.0]}, {"predictions": [2.0]}]
