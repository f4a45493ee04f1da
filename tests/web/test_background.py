"""``nbtrack.ui()`` in the background and ``nbtrack ui`` in a terminal, on real ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import nbtrack
from nbtrack.errors import InvalidValueError
from tests.web.runs_for_ui import Logged


def test_ui_answers_in_the_background_and_stops(logged: Logged) -> None:
    with nbtrack.ui() as ui:
        assert ui.url.startswith("http://127.0.0.1:") and ui.url.endswith("/nbtrack/ui/")
        page = requests.get(ui.url, timeout=10)
        assert page.status_code == 200 and "nbtrack" in page.text
        runs = requests.get(f"{ui.api_url}runs", params={"experiment": "sweep"}, timeout=10)
        assert runs.json()["total"] == 4
        assert requests.get(ui.url.replace("/nbtrack/ui/", "/nbtrack/ui/vega.js"), timeout=30).ok
    assert not ui.running
    with pytest.raises(requests.ConnectionError):
        requests.get(ui.url, timeout=2)


def test_the_url_carries_the_token_off_loopback(store_path: Path) -> None:
    with nbtrack.ui(host="0.0.0.0", token="s3cret") as ui:
        assert ui.url.endswith("/nbtrack/ui/?token=s3cret")
        session = requests.Session()
        assert session.get(ui.url, timeout=10).status_code == 200  # the cookie is kept
        assert session.get(f"{ui.api_url}experiments", timeout=10).status_code == 200
        assert requests.get(f"{ui.api_url}experiments", timeout=10).status_code == 401


def test_a_bad_port_is_refused_naming_it(store_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="port 70000"):
        nbtrack.ui(port=70000)


def test_the_command_serves_the_store_of_its_folder(
    logged: Logged, child_env: dict[str, str]
) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "nbtrack.cli", "ui", "--port", "0"],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        _ask_then_stop(process)
    assert process.returncode == 0


def _ask_then_stop(process: subprocess.Popen[str]) -> None:
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "nbtrack ui for" in line and "(Ctrl-C to stop)" in line
        url = line.split(" at ")[1].split()[0]
        experiments = requests.get(url.replace("/ui/", "/api/experiments"), timeout=10).json()
        assert {"baseline", "sweep", "tuning"} <= {e["name"] for e in experiments["experiments"]}
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_the_command_refuses_another_address_without_a_token(
    store_path: Path, child_env: dict[str, str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", "ui", "--host", "0.0.0.0", "--port", "0"],
        env={k: v for k, v in child_env.items() if k != "NBTRACK_SERVE_TOKEN"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "needs a token" in done.stderr
