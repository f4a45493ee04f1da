"""``nbtrack serve`` as a user runs it: a real process on a free port, stopped by its pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import requests

from tests.serving.conftest import Churn, free_port, wait_ready

NBTRACK = [sys.executable, "-m", "nbtrack.cli"]


def _start(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*NBTRACK, "serve", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[str, str]:
    os.kill(process.pid, sig)
    out, err = process.communicate(timeout=30)
    return out, err


def _payloads(features: pd.DataFrame) -> list[tuple[dict[str, object] | str, str]]:
    rows = features.to_dict(orient="records")
    return [
        ({"dataframe_split": features.to_dict(orient="split")}, "application/json"),
        ({"dataframe_records": rows}, "application/json"),
        ({"instances": rows}, "application/json"),
        ({"inputs": {name: features[name].tolist() for name in features}}, "application/json"),
        (features.to_csv(index=False), "text/csv"),
    ]


def _predict(url: str, payload: dict[str, object] | str, content_type: str) -> object:
    if isinstance(payload, str):
        response = requests.post(
            f"{url}/invocations", data=payload, headers={"content-type": content_type}, timeout=10
        )
    else:
        response = requests.post(f"{url}/invocations", json=payload, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


@pytest.mark.slow
def test_the_server_follows_a_promotion_made_by_another_process(
    churn: Churn, child_env: dict[str, str], store_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    process = _start("churn", "--port", str(port), env=child_env, cwd=store_path.parent)
    try:
        wait_ready(url, process)
        ready_s = time.monotonic() - started
        features = churn.features.head(6)
        for payload, content_type in _payloads(features):
            assert _predict(url, payload, content_type) == churn.v1[:6].tolist()

        promoted = subprocess.run(
            [*NBTRACK, "models", "promote", "churn", "2"],
            env=child_env, cwd=store_path.parent, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert promoted.returncode == 0, promoted.stderr
        deadline = time.monotonic() + 30
        while _predict(url, *_payloads(features)[0]) != churn.v2[:6].tolist():
            assert time.monotonic() < deadline, "the server never switched to version 2"
            time.sleep(0.1)
        for payload, content_type in _payloads(features):
            assert _predict(url, payload, content_type) == churn.v2[:6].tolist()
        assert requests.get(f"{url}/metadata", timeout=5).json()["version"] == 2
    finally:
        if process.poll() is None:
            out, err = _stop(process)
        else:
            out, err = process.communicate()
    assert process.returncode == 0, err
    assert out.splitlines()[0] == (
        f"serving churn version 1 (following champion) at {url}  (Ctrl-C to stop)"
    )
    assert "models:/churn@champion moved: now serving churn version 2 (was 1)" in err
    assert err.count("POST /invocations 200") >= 10
    assert "Traceback" not in err
    assert err.rstrip().endswith("stopped")
    print(f"ready after {ready_s:.2f} s (interpreter start included)")


def test_ctrl_c_stops_cleanly_and_the_token_can_come_from_the_environment(
    churn: Churn, child_env: dict[str, str], store_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**child_env, "NBTRACK_SERVE_TOKEN": "env-token"}
    process = _start("models:/churn/2", "--port", str(port), env=env, cwd=store_path.parent)
    try:
        wait_ready(url, process)
        assert requests.get(f"{url}/metadata", timeout=5).status_code == 401
        headers = {"authorization": "Bearer env-token"}
        metadata = requests.get(f"{url}/metadata", headers=headers, timeout=5).json()
        assert (metadata["version"], metadata["follows"]) == (2, None)
    finally:
        out, err = _stop(process, signal.SIGINT)
    assert process.returncode == 0, err
    assert out.startswith(f"serving churn version 2 at {url}")


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["churn", "--max-body", "10XB"], "--max-body '10XB' is not a size; give 10MB, 512KB", 2),
        (["churn", "--host", "0.0.0.0"], "needs a token: give --token TOKEN or set ", 2),
        (["churn", "--allowed-hosts", "a.example:80"], "allowed host 'a.example:80'", 2),
        (
            ["churn", "--body-timeout", "soon"],
            "--body-timeout 'soon' is not a number of seconds",
            2,
        ),
        (["churn", "--header-timeout", "0"], "header_timeout 0.0 is not accepted", 2),
        (["churn", "--max-connections", "0"], "max_connections 0 is not accepted", 2),
        (["no-such-model"], "no-such-model", 1),
        (["churn", "--port", "{taken}"], "cannot listen on 127.0.0.1 port", 2),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2_or_1_if_not_found(
    churn: Churn,
    child_env: dict[str, str],
    store_path: Path,
    args: list[str],
    message: str,
    code: int,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        args = [arg.format(taken=taken.getsockname()[1]) for arg in args]
        done = subprocess.run(
            [*NBTRACK, "serve", *args],
            env=child_env, cwd=store_path.parent, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == code
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("nbtrack: ") and message in done.stderr


def test_help_states_the_safety_rules() -> None:
    done = subprocess.run([*NBTRACK, "serve", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    phrases = ["--allowed-hosts", "--insecure", "NBTRACK_SERVE_TOKEN", "0.0.0.0", "/ping"]
    phrases += ["--max-connections", "--header-timeout", "--body-timeout", "127.0.0.2"]
    for phrase in phrases:
        assert phrase in text
