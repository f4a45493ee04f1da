"""The long-poll an open page waits on: it answers when the store changes, and not before."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import requests

import nbtrack
from nbtrack.read_api import watch


def test_the_version_moves_when_a_run_is_logged(store_path: Path) -> None:
    nbtrack.set_experiment("e")
    nbtrack.search_runs()
    before = watch.version()
    assert watch.version() == before  # a stat, no change
    with nbtrack.start_run():
        nbtrack.log_metric("m", 1.0)
    nbtrack.search_runs()
    assert watch.version() != before


def test_the_long_poll_answers_once_another_thread_logs(store_path: Path) -> None:
    nbtrack.set_experiment("e")
    nbtrack.search_runs()
    with nbtrack.ui() as ui:
        since = requests.get(f"{ui.api_url}version", timeout=10).json()["version"]

        def log_later() -> None:
            time.sleep(0.5)
            with nbtrack.start_run(name="late"):
                pass
            nbtrack.search_runs()

        thread = threading.Thread(target=log_later)
        started = time.monotonic()
        thread.start()
        answer = requests.get(f"{ui.api_url}changes", params={"since": since}, timeout=30).json()
        waited = time.monotonic() - started
        thread.join()
    assert answer["changed"] and answer["version"] != since
    assert 0.4 <= waited < 2.0  # it waited for the change, and no longer
