"""``nbtrack.compare()`` outside JupyterLab: in Notebook 7 and in Voila, in a real browser.

The same notebook as the JupyterLab test (three runs, then ``nbtrack.compare(runs=run_ids)``):

- Notebook 7 is served by the package's JupyterLab server itself: with ``notebook`` installed,
  the same jupyter_server also serves ``/tree`` and ``/notebooks/<path>``. The notebook runs
  with Run → Run All Cells, as in JupyterLab (Notebook 7 is built from the same parts).
- Voila is its own server, started here on the notebook (``voila <notebook>``) with its store in
  a temporary folder; it runs the notebook when the page loads and shows only the outputs.

Either way the run table must show three rows and the chart must be drawn. Screenshots land in
``tests/browser/screenshots/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import (
    REPO,
    LabNotebook,
    LabServer,
    _failed,
    _free_port,
    screenshot_path,
    terminate,
)
from tests.browser.test_compare_in_jupyterlab import (
    CHART_TIMEOUT_MS,
    LOG_THREE_RUNS,
    RENDERED_CHART,
    RUN_TABLE,
    SHOW_COMPARE,
)

pytestmark = pytest.mark.slow

VOILA_START_TIMEOUT_S = 30.0
# Voila runs the whole notebook (kernel start, imports, three runs) before the page loads.
VOILA_PAGE_TIMEOUT_MS = 90_000


def write_notebook(path: Path, experiment: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [
        nbformat.v4.new_code_cell(LOG_THREE_RUNS.format(experiment=experiment)),
        nbformat.v4.new_code_cell(SHOW_COMPARE),
    ]
    nbformat.write(notebook, path)


def logged_run_ids(page: Page) -> list[str]:
    printed = page.locator(".jp-OutputArea-output", has_text="run ids:").inner_text()
    return printed.split("run ids:", 1)[1].split()


def check_table_and_chart(page: Page) -> Locator:
    """The compare widget's output: three rows (the logged runs) and a drawn chart."""
    output = page.locator(f".jp-OutputArea-output:has({RUN_TABLE})")
    expect(output.locator(f"{RUN_TABLE} table")).to_be_visible(timeout=CHART_TIMEOUT_MS)
    expect(output.locator(f"{RUN_TABLE} table tr[data-run-id]")).to_have_count(3)
    run_ids = logged_run_ids(page)
    shown = output.locator(f"{RUN_TABLE} tr[data-run-id]").evaluate_all(
        "(rows) => rows.map((tr) => tr.dataset.runId)"
    )
    assert sorted(shown) == sorted(run_ids) and len(run_ids) == 3
    chart = output.locator(RENDERED_CHART).first
    expect(chart).to_be_visible(timeout=CHART_TIMEOUT_MS)
    box = chart.bounding_box()
    assert box is not None and box["width"] > 50 and box["height"] > 50, box
    # The widget view is drawn, not the static fallback meant for nbconvert and GitHub.
    expect(page.locator(".nbtrack-static")).to_have_count(0)
    return output


def screenshot(page: Page, test_name: str, step: str, top: Locator) -> Path:
    top.evaluate("(element) => element.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    path = screenshot_path(test_name, step)
    page.screenshot(path=path)
    return path


# -- Notebook 7 -----------------------------------------------------------------------------------


def test_compare_in_notebook_7(
    _opened_notebooks: list[str],
    page: Page,
    jupyter_lab: LabServer,
    request: pytest.FixtureRequest,
) -> None:
    path = "notebook7_compare.ipynb"
    write_notebook(jupyter_lab.root_dir / path, "notebook7")
    _opened_notebooks.append(path)
    page.goto(f"{jupyter_lab.url}/notebooks/{path}")
    # Notebook 7 is made of JupyterLab's notebook panel, toolbar and menus: the same helper
    # waits for its kernel and runs it through Run → Run All Cells.
    notebook = LabNotebook(page, jupyter_lab, path, request.node.name)
    expect(page.locator("#main-panel .jp-NotebookPanel")).to_be_visible()
    expect(page.locator(".jp-LabShell")).to_have_count(0)  # not JupyterLab's shell
    notebook.wait_for_kernel()
    notebook.run_all()
    output = check_table_and_chart(page)
    screenshot(page, request.node.name, "table-and-chart", top=output)


# -- Voila ----------------------------------------------------------------------------------------


@dataclass
class VoilaServer:
    url: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _voila_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NBTRACK_URI=str(home / "nbtrack.duckdb"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        # nothing read from or left in the user's ~/.jupyter or ~/.ipython
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
    )
    return env


def _listening(port: int) -> bool:
    """Voila binds its port once set up; a GET of ``/`` instead would run the notebook."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop_voila(process: subprocess.Popen[bytes]) -> None:
    """Voila shuts its kernels down on SIGTERM; any process of ours still there is killed."""
    try:
        started = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        started = []
    terminate(process)
    _, alive = psutil.wait_procs(started, timeout=5)
    for child in alive:
        child.kill()


@pytest.fixture
def voila(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[VoilaServer]:
    """``voila compare.ipynb`` on a free port, its store in ``tmp_path``; stopped afterwards."""
    folder = tmp_path / "voila"
    folder.mkdir()
    write_notebook(folder / "compare.ipynb", "voila")
    port = _free_port()
    server = VoilaServer(url=f"http://127.0.0.1:{port}/", log_path=tmp_path / "voila.log")
    command = [
        sys.executable, "-m", "voila", "compare.ipynb", f"--port={port}", "--no-browser",
        "--Voila.ip=127.0.0.1", "--show_tracebacks=True",
    ]  # fmt: skip
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=_voila_env(tmp_path),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + VOILA_START_TIMEOUT_S
        while not _listening(port):
            if process.poll() is not None:
                pytest.fail(f"voila exited with {process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"voila not listening after {VOILA_START_TIMEOUT_S:.0f} s")
            time.sleep(0.1)
        yield server
        if _failed(request):
            print(f"voila log ({server.log_path}), tail:\n{server.log_tail()}")
    finally:
        _stop_voila(process)


def test_compare_in_voila(voila: VoilaServer, page: Page, request: pytest.FixtureRequest) -> None:
    page.goto(voila.url, timeout=VOILA_PAGE_TIMEOUT_MS)
    expect(page.locator(".jp-OutputArea-output", has_text="run ids:")).to_be_visible(
        timeout=VOILA_PAGE_TIMEOUT_MS
    )
    # Voila shows outputs only: no code, no prompts.
    expect(page.locator(".jp-InputArea")).to_have_count(0)
    output = check_table_and_chart(page)
    assert "Traceback" not in page.locator("body").inner_text()
    screenshot(page, request.node.name, "table-and-chart", top=page.locator("body"))
    assert output.is_visible()
