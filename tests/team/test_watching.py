"""What watches a store, with an ``nbtrack server`` as the store: ``nbtrack serve NAME``
following an alias someone else moves, and the widgets refreshing when another machine logs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import requests
from sklearn.linear_model import LinearRegression

import nbtrack
from tests.mlflow_compat.conftest import NBTRACK, RunningServer
from tests.serving.conftest import free_port, log_and_register, wait_ready


def _predict(url: str, features: pd.DataFrame) -> list[int]:
    answer = requests.post(
        f"{url}/invocations",
        json={"dataframe_split": features.to_dict(orient="split")},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    predictions: list[int] = answer.json()["predictions"]
    return predictions


def test_serve_follows_an_alias_moved_on_the_server(
    on_server: RunningServer,
    classification_data: tuple[pd.DataFrame, np.ndarray],
    tmp_path: Path,
) -> None:
    features, labels = classification_data
    first, learnt = log_and_register(features, labels)
    second, flipped = log_and_register(features, 1 - labels)
    assert (first, second) == (1, 2)
    nbtrack.promote("churn", 1)
    # Another machine, as far as files go: a folder of its own, nothing shared but the server.
    elsewhere = tmp_path / "serving-machine"
    elsewhere.mkdir()
    url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "NBTRACK_URI": on_server.url}
    process = subprocess.Popen(
        [*NBTRACK, "serve", "churn", "--port", url.rsplit(":", 1)[1]],
        env=env, cwd=elsewhere, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_ready(url, process)
        head = features.head(8)
        assert _predict(url, head) == learnt[:8].tolist()
        nbtrack.promote("churn", second)
        deadline = time.monotonic() + 30
        while _predict(url, head) != flipped[:8].tolist():
            if time.monotonic() > deadline:
                process.terminate()
                raise AssertionError(f"never switched to version 2: {process.communicate()}")
            time.sleep(0.2)
        assert requests.get(f"{url}/metadata", timeout=5).json()["version"] == 2
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert out.splitlines()[0].startswith("serving churn version 1 (following champion)"), out
    assert "models:/churn@champion moved: now serving churn version 2 (was 1)" in err
    assert "Traceback" not in err


# Another machine, as far as files go: it shares nothing with the test's process but the server.
ANOTHER_MACHINE = """
import numpy as np
from sklearn.linear_model import LinearRegression
import nbtrack
with nbtrack.start_run(name="second", experiment="live"):
    nbtrack.log_metric("acc", 0.9)
    info = nbtrack.log_model(LinearRegression().fit(np.eye(3), [1, 2, 3]), "model")
nbtrack.register_model(info.model_uri, "churn")
"""


def test_compare_and_registry_widgets_refresh_when_the_server_changes(
    on_server: RunningServer, tmp_path: Path
) -> None:
    from nbtrack.widgets import poller

    with nbtrack.start_run(name="first", experiment="live"):
        nbtrack.log_metric("acc", 0.5)
        info = nbtrack.log_model(LinearRegression().fit(np.eye(3), [1, 2, 3]), "model")
    nbtrack.register_model(info.model_uri, "churn")
    view = nbtrack.compare("live")
    models = nbtrack.registry("churn")
    try:
        assert view.runs["run_name"].tolist() == ["first"]
        assert models.versions["version"].tolist() == [1]
        assert view in poller.watched() and models in poller.watched()
        elsewhere = tmp_path / "another-machine"
        elsewhere.mkdir()
        subprocess.run(
            [sys.executable, "-c", ANOTHER_MACHINE],
            env={**os.environ, "NBTRACK_URI": on_server.url}, cwd=elsewhere, check=True,
            timeout=120,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while sorted(view.runs["run_name"]) != ["first", "second"] or sorted(
            models.versions["version"]
        ) != [1, 2]:
            assert time.monotonic() < deadline, "the widgets never refreshed by themselves"
            time.sleep(0.2)
    finally:
        view.close()
        models.close()


def test_the_changes_route_is_a_stat_for_clients_and_refuses_web_pages(
    team_server: RunningServer,
) -> None:
    answer = requests.get(f"{team_server.url}/nbtrack/store/v1/changes", timeout=5)
    assert answer.status_code == 200
    assert set(answer.json()) == {"changed", "registry"}
    from_a_page = requests.get(
        f"{team_server.url}/nbtrack/store/v1/changes",
        headers={"Origin": "http://elsewhere.example"},
        timeout=5,
    )
    assert from_a_page.status_code == 403
    assert from_a_page.json()["error_code"] == "PERMISSION_DENIED"


def test_a_change_this_process_makes_moves_the_version_its_readers_cache_by(
    on_server: RunningServer,
) -> None:
    from nbtrack.read_api import watch

    with nbtrack.start_run(name="first", experiment="live"):
        info = nbtrack.log_model(LinearRegression().fit(np.eye(3), [1, 2, 3]), "model")
    nbtrack.register_model(info.model_uri, "churn")
    before = watch.version()  # starts the watcher: its next look at the server is a second away
    nbtrack.set_alias("churn", "reviewed", 1)
    after_alias = watch.version()
    nbtrack.delete_run(info.model_uri.split("/")[1])

    assert after_alias != before
    assert watch.version() != after_alias


def test_markers_that_cannot_be_written_leave_the_watcher_running(
    team_server: RunningServer, tmp_path: Path
) -> None:
    from nbtrack.store.remote.watching import ChangeWatcher
    from tests.team.conftest import connected

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the markers' folder would be\n")
    with connected(team_server) as connection:
        watcher = ChangeWatcher(connection, {"changed": blocked / "changed"})
        watcher.ensure_running()
        try:
            watcher.changed_here("changed")  # the server changed: no error for this process
            watcher._seen["changed"] = "an older state"  # the next look sees the server moved
            assert watcher.check()
            assert watcher._thread is not None and watcher._thread.is_alive()
        finally:
            watcher.stop()
    assert blocked.read_text() == "a file where the markers' folder would be\n"
