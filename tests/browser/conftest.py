"""JupyterLab in a real browser: a test server, Debian's headless chromium, notebook helpers.

Fixtures
--------
chromium_path   ``/usr/bin/chromium``; installed with apt-get when missing, as on a fresh CI
                machine (``playwright install`` downloads a browser build: never used here)
jupyter_lab     one JupyterLab server for the session, on a free port, offline, its kernels
                logging to a store in a temporary folder (``NBTRACK_URI``); ``running_lab``
                starts another, for any ``NBTRACK_URI`` (an ``nbtrack server``'s too)
browser, page   playwright's sync API driving that chromium; a page per test
lab             writes a notebook into the server's root, opens it, runs it, takes screenshots

On a failure the page's screenshot (``<test>-failure.png``), the browser console and the tail of
the server log are printed or saved, so a red run explains itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SERVER_START_TIMEOUT_S = 30.0
KERNEL_READY_TIMEOUT_S = 60.0
RUN_ALL_TIMEOUT_S = 60.0
# JupyterLab asks on first start whether to fetch news: a toast over the notebook. Answer "no".
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures know in teardown that a test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    reports = request.node.stash.get(_REPORTS, {})
    return any(report.failed for report in reports.values())


# -- the browser binary ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium; a fresh machine gets it from apt-get, as CI does (≈ 70 s, 350 MB)."""
    if CHROMIUM.exists():
        return CHROMIUM
    commands = [["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]]
    print(f"\n{CHROMIUM} is missing; installing it: {' && '.join(map(' '.join, commands))}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in commands:
        try:
            result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as error:
            pytest.fail(f"could not install chromium: `{' '.join(command)}` failed: {error}")
        if result.returncode != 0:
            pytest.fail(
                f"could not install chromium: `{' '.join(command)}` exited with"
                f" {result.returncode} (it needs root and Debian's package mirror)"
            )
    if not CHROMIUM.exists():
        pytest.fail(f"apt-get installed chromium but {CHROMIUM} does not exist")
    return CHROMIUM


# -- the JupyterLab server ------------------------------------------------------------------------


@dataclass
class LabServer:
    """A running JupyterLab: its URL, the folder it serves, its store and its log."""

    url: str
    root_dir: Path
    store_path: Path
    log_path: Path

    def api(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_lab_settings(folder: Path) -> None:
    for name, values in LAB_SETTINGS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _lab_command(port: int, root_dir: Path, home: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root_dir}",
        # offline: no news feed, no update check, no extension manager asking PyPI
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        # nothing read from or left in the user's ~/.jupyter
        f"--LabApp.user_settings_dir={home / 'lab-settings'}",
        f"--LabApp.workspaces_dir={home / 'lab-workspaces'}",
    ]


def _lab_env(home: Path, nbtrack_uri: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NBTRACK_URI=nbtrack_uri,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
    )
    return env


def _wait_until_serving(process: subprocess.Popen[bytes], server: LabServer) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"JupyterLab exited with {process.returncode} before serving;"
                f" log tail:\n{server.log_tail()}"
            )
        try:
            server.api("/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.fail(
        f"JupyterLab did not answer /api/status within {SERVER_START_TIMEOUT_S:.0f} s;"
        f" log tail:\n{server.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes], server: LabServer) -> None:
    try:  # kernels first: they run in their own sessions, outside the server's process group
        for kernel in server.api("/api/kernels"):
            server.api(f"/api/kernels/{kernel['id']}", method="DELETE")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        pass
    terminate(process)


def terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM and a grace period, then SIGKILL for its whole process group."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# Package scope, not session: playwright's sync API keeps an asyncio loop running while it
# is started, which breaks later tests that run a loop themselves (IPython's top-level await).
@pytest.fixture(scope="package")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab server for the whole session; yields it once ``/api/status`` answers."""
    root_dir = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")
    with running_lab(root_dir, home) as server:
        yield server


@contextlib.contextmanager
def running_lab(root_dir: Path, home: Path, nbtrack_uri: str | None = None) -> Iterator[LabServer]:
    """JupyterLab serving ``root_dir`` (also its working directory), its settings in ``home``,
    its ``NBTRACK_URI`` a store in ``home`` or ``nbtrack_uri`` (an ``nbtrack server``'s URL)."""
    _write_lab_settings(home / "lab-settings")
    port = _free_port()
    server = LabServer(
        url=f"http://127.0.0.1:{port}",
        root_dir=root_dir,
        store_path=home / "nbtrack.duckdb",
        log_path=home / "jupyter-lab.log",
    )
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            _lab_command(port, root_dir, home),
            env=_lab_env(home, nbtrack_uri or str(server.store_path)),
            cwd=root_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_serving(process, server)
        yield server
    finally:
        _stop(process, server)


# -- the browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
            )
        except PlaywrightError as error:
            pytest.fail(f"playwright could not launch {chromium_path}: {error}")
        yield launched
        launched.close()


@pytest.fixture
def page(
    browser: Browser, jupyter_lab: LabServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A fresh browser context per test; on failure: screenshot, console and server log."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    new_page = context.new_page()
    console: list[str] = []
    new_page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    new_page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    yield new_page
    if _failed(request):
        path = screenshot_path(request.node.name, "failure")
        try:
            new_page.screenshot(path=path)
            print(f"\nscreenshot of the failure: {path}")
        except PlaywrightError as error:
            print(f"\nno screenshot of the failure: {error}")
        print("browser console (last 30):\n" + "\n".join(console[-30:]))
        print(f"JupyterLab log ({jupyter_lab.log_path}), tail:\n{jupyter_lab.log_tail()}")
    context.close()


@dataclass
class UiPage:
    """A page of nbtrack's own UI (no JupyterLab behind it) and the page errors it raised."""

    page: Page
    errors: list[str]


@pytest.fixture
def ui_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[UiPage]:
    """A fresh browser context per test, its page errors kept; on failure, a screenshot."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    watched = UiPage(context.new_page(), [])
    watched.page.on("pageerror", lambda error: watched.errors.append(str(error)))
    yield watched
    if _failed(request):
        watched.page.screenshot(path=screenshot_path(request.node.name, "failure"))
    context.close()


def screenshot_path(test_name: str, step: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    safe_name = re.sub(r"[^\w.-]+", "_", test_name)
    return SCREENSHOTS / f"{safe_name}-{step}.png"


# -- notebooks in JupyterLab ----------------------------------------------------------------------

# State of the open notebook, read in the page: input prompts of code cells ("[ ]:", "[*]:",
# "[3]:"), the kernel indicator of the toolbar, and the text of stderr outputs (tracebacks).
_NOTEBOOK_STATE_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const text = (selector) => [...panel.querySelectorAll(selector)].map((e) => e.innerText);
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  return {
    prompts: text('.jp-CodeCell .jp-InputArea-prompt').map((t) => t.trim()),
    status: indicator ? indicator.dataset.status : null,
    stderr: text('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'),
  };
}"""


# The last line of a traceback; warnings on stderr do not start a line this way.
_RAISED = re.compile(r"^\w*(Error|Exception|Interrupt)\b", re.MULTILINE)


@dataclass
class LabNotebook:
    """A notebook the test wrote, open in JupyterLab in ``page``."""

    page: Page
    server: LabServer
    path: str
    test_name: str

    def wait_for_kernel(self) -> None:
        """Until the server reports the notebook's kernel idle and the toolbar shows it idle.

        Before that, run commands and Shift+Enter are silently dropped.
        """
        deadline = time.monotonic() + KERNEL_READY_TIMEOUT_S
        while self._kernel_state() != "idle":
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the kernel of {self.path} was not idle within"
                    f" {KERNEL_READY_TIMEOUT_S:.0f} s (state: {self._kernel_state()});"
                    f" server log:\n{self.server.log_tail()}"
                )
            time.sleep(0.2)
        indicator = self.page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator")
        expect(indicator).to_have_attribute(
            "data-status", "idle", timeout=KERNEL_READY_TIMEOUT_S * 1000
        )

    def _kernel_state(self) -> str | None:
        for session in self.server.api("/api/sessions"):
            if session["path"] == self.path and session.get("kernel"):
                kernel = self.server.api(f"/api/kernels/{session['kernel']['id']}")
                return str(kernel["execution_state"])
        return None

    def run_all(self, timeout: float = RUN_ALL_TIMEOUT_S) -> None:
        """Run → Run All Cells, as a person would; returns when every code cell has run.

        Fails at once, with the traceback, when a cell raises (JupyterLab then stops the run).
        """
        self.start_run_all()
        self.wait_until_all_ran(timeout)

    def start_run_all(self) -> None:
        """Run → Run All Cells, without waiting: to look at cells while they execute."""
        self.page.locator(".jp-NotebookPanel .jp-Cell").first.click()
        self.page.locator(".lm-MenuBar-itemLabel:text-is('Run')").click()
        self.page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click()

    def wait_until_all_ran(self, timeout: float = RUN_ALL_TIMEOUT_S) -> None:
        """Until every code cell shows ``[n]:``; fails at once when a cell raises."""
        deadline = time.monotonic() + timeout
        stopped_since: float | None = None
        while True:
            state = self.page.evaluate(_NOTEBOOK_STATE_JS) or {}
            prompts = state.get("prompts", [])
            tracebacks = [t for t in state.get("stderr", []) if _RAISED.search(t)]
            if tracebacks:
                message = f"a cell of {self.path} raised:\n" + "\n".join(tracebacks)
                pytest.fail(message, pytrace=False)
            if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
                return
            # Nothing queued or running, yet cells not run: the run stopped early.
            stopped = "[*]:" not in prompts and state.get("status") == "idle"
            stopped_since = (stopped_since or time.monotonic()) if stopped else None
            if stopped_since is not None and time.monotonic() - stopped_since > 3:
                message = f"Run All Cells stopped early in {self.path}: prompts {prompts}"
                pytest.fail(message, pytrace=False)
            if time.monotonic() > deadline:
                message = f"{self.path} still running after {timeout:.0f} s: prompts {prompts}"
                pytest.fail(message, pytrace=False)
            time.sleep(0.25)

    def code_cell(self, index: int) -> Locator:
        """The ``index``-th code cell (from 0) of the open notebook."""
        return self.page.locator(".jp-NotebookPanel .jp-CodeCell").nth(index)

    def output_with(self, selector: str) -> Locator:
        """The cell output that contains ``selector`` (a widget's view, say)."""
        return self.page.locator(f".jp-OutputArea-output:has({selector})")

    def screenshot(self, step: str, top: Locator | None = None) -> Path:
        """``screenshots/<test>-<step>.png`` of the page, scrolled to put ``top`` at the top."""
        if top is not None:
            top.evaluate("(element) => element.scrollIntoView({block: 'start'})")
            self.page.wait_for_timeout(300)  # cells off screen are painted after the scroll
        path = screenshot_path(self.test_name, step)
        self.page.screenshot(path=path)
        return path


@pytest.fixture
def _opened_notebooks(jupyter_lab: LabServer) -> Iterator[list[str]]:
    """Paths of the notebooks a test opened; their kernels are shut down after the test.

    Set up before ``page``, so torn down after it: the failure screenshot still shows a kernel.
    """
    opened: list[str] = []
    yield opened
    for session in jupyter_lab.api("/api/sessions"):
        if session["path"] in opened:
            jupyter_lab.api(f"/api/sessions/{session['id']}", method="DELETE")


@pytest.fixture
def lab(
    _opened_notebooks: list[str],
    page: Page,
    jupyter_lab: LabServer,
    request: pytest.FixtureRequest,
) -> Callable[[str, list[str]], LabNotebook]:
    """``lab(name, cells)``: writes ``<name>.ipynb`` into the server root, opens it, kernel idle."""

    def open_notebook(name: str, cells: list[str]) -> LabNotebook:
        path = f"{name}.ipynb"
        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        nbformat.write(notebook, jupyter_lab.root_dir / path)
        _opened_notebooks.append(path)
        page.goto(f"{jupyter_lab.url}/lab/tree/{path}?reset")
        handle = LabNotebook(page, jupyter_lab, path, request.node.name)
        handle.wait_for_kernel()
        return handle

    return open_notebook


@pytest.fixture
def lab_store(jupyter_lab: LabServer) -> Iterator[None]:
    """This process reads the store the lab's kernels log to (``NBTRACK_URI`` of the server)."""
    import nbtrack
    from nbtrack.store.store import close_all

    nbtrack.set_tracking_uri(jupyter_lab.store_path)
    try:
        yield
    finally:
        nbtrack.set_tracking_uri(None)
        close_all()


def wait_for(condition: Callable[[], Any], what: str, timeout: float) -> Any:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.2)
    return value
