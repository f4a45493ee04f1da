"""A real ``jupyter server`` on a loopback port, with a token, serving a store this process
logs to (``jupyter_server``) or any ``NBTRACK_URI``, an ``nbtrack server``'s included
(``jupyter_server_for``).

One server, one store and one set of logged runs serve a whole module (``lab_store``,
``logged``, ``jupyter_server``): starting Jupyter costs about 2 s, and each test still runs
alone. The server extension is enabled the way ``pip install`` enables it: by the config file
the package puts in ``etc/jupyter/jupyter_server_config.d`` of the environment.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from nbtrack.read_api import routes
from tests.conftest import store_in
from tests.web.runs_for_ui import Logged, log_runs

START_TIMEOUT_S = 30.0
BASE_URL = "/lab-prefix/"


@dataclass
class JupyterServer:
    url: str  # with the base URL, ending in /
    token: str
    log_path: Path

    def get(self, path: str, token: bool = True, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path, headers=self._auth(token), timeout=30, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, body: object, token: bool = True) -> requests.Response:
        return requests.post(self.url + path, json=body, headers=self._auth(token), timeout=30)

    def _auth(self, token: bool) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"} if token else {}

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def lab_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module's store, this process's through NBTRACK_URI as ``store_path`` sets it."""
    folder = tmp_path_factory.mktemp("lab-store")
    with pytest.MonkeyPatch.context() as monkeypatch, store_in(folder, monkeypatch) as path:
        yield path


@pytest.fixture(scope="module")
def logged(lab_store: Path) -> Iterator[Logged]:
    yield log_runs(lab_store.parent)
    routes.clear_cache()


@pytest.fixture(scope="module")
def jupyter_server(lab_store: Path) -> Iterator[JupyterServer]:
    with jupyter_server_for(str(lab_store), lab_store.parent) as server:
        yield server


@contextlib.contextmanager
def jupyter_server_for(nbtrack_uri: str, folder: Path) -> Iterator[JupyterServer]:
    """A ``jupyter server`` whose environment has ``NBTRACK_URI=nbtrack_uri`` (a store file or
    an ``nbtrack server``'s URL), run in ``folder`` (also its root): where a team member's
    Jupyter would start."""
    port, token = _free_port(), secrets.token_hex(16)
    home = folder / "jupyter-home"
    env = dict(
        os.environ,
        NBTRACK_URI=nbtrack_uri,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_DATA_DIR=str(home / "data"),
    )
    server = JupyterServer(
        f"http://127.0.0.1:{port}{BASE_URL}", token, folder / "jupyter-server.log"
    )
    command = [
        sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.base_url={BASE_URL}", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={folder}",
    ]  # fmt: skip
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_until_serving(process, server)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=15)


def _wait_until_serving(process: subprocess.Popen[bytes], server: JupyterServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if server.get("api/status").ok:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    pytest.fail(f"jupyter server did not answer within {START_TIMEOUT_S} s:\n{server.log_tail()}")
