"""nbtrack's JupyterLab extension in a real browser: the Runs sidebar, the cell badges, the
run page in the main area with its cell actions, the status bar and the registry panel.

JupyterLab runs with the package installed in this environment (the labextension and the
server extension found where ``pip install`` put them); its kernels log to the lab's store,
which the server extension reads; one more JupyterLab, started with ``NBTRACK_URI`` = an
``nbtrack server``, shows a team's run. Screenshots land in ``tests/browser/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import FrameLocator, Page, expect

import nbtrack
from tests.browser.conftest import LabServer, UiPage, running_lab, screenshot_path, wait_for
from tests.team.conftest import server_in_its_own_folder
from tests.team.ui_of_a_server import log_run_with_files

if TYPE_CHECKING:
    from tests.browser.conftest import LabNotebook

    OpenNotebook = Callable[[str, list[str]], LabNotebook]

pytestmark = pytest.mark.slow

SIDEBAR = "#nbtrack-runs"
TIMEOUT_MS = 20_000


def _open_sidebar(page: Page, experiment: str) -> None:
    page.locator('.jp-SideBar [data-id="nbtrack-runs"]').click()
    _choose_experiment(page, experiment)


def _choose_experiment(page: Page, experiment: str) -> None:
    expect(page.locator(SIDEBAR)).to_be_visible()
    select = page.locator(f"{SIDEBAR} .nbt-Sidebar-experiments")
    expect(select.locator(f'option[value="{experiment}"]')).to_have_count(1, timeout=TIMEOUT_MS)
    select.select_option(experiment)


def _run_names(page: Page) -> list[str]:
    return page.locator(f"{SIDEBAR} .nbt-Sidebar-name").all_inner_texts()


def _page_frame(page: Page) -> FrameLocator:
    frame = page.locator(".jp-MainAreaWidget:not(.lm-mod-hidden) iframe.nbt-PageFrame")
    expect(frame).to_be_visible(timeout=TIMEOUT_MS)
    return page.frame_locator(".jp-MainAreaWidget:not(.lm-mod-hidden) iframe.nbt-PageFrame")


def _shot(page: Page, test_name: str, step: str) -> None:
    page.wait_for_timeout(300)
    page.screenshot(path=screenshot_path(test_name, step))


def test_the_sidebar_lists_runs_as_tracked_cells_run(
    lab: OpenNotebook, request: pytest.FixtureRequest
) -> None:
    notebook = lab(
        "lab_sidebar",
        [
            "%load_ext nbtrack",
            "%%track --experiment lab-sidebar --name first --metrics acc\nacc = 0.81",
        ],
    )
    notebook.run_all()
    page = notebook.page
    _open_sidebar(page, "lab-sidebar")
    expect(page.locator(f"{SIDEBAR} .nbt-Sidebar-run")).to_have_count(1, timeout=TIMEOUT_MS)
    first = page.locator(f"{SIDEBAR} .nbt-Sidebar-run").first
    expect(first).to_contain_text("FINISHED")
    expect(first.locator(".nbt-Sidebar-value")).to_have_text("0.81")
    # A second tracked cell, run after the sidebar is open: it appears, newest first, with no
    # click and no reload.
    notebook.code_cell(1).click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type("%%track --experiment lab-sidebar --name second --metrics acc\nacc = 0.9")
    page.keyboard.press("Shift+Enter")
    wait_for(lambda: _run_names(page) == ["second", "first"], "the second run in the sidebar", 20)
    _shot(page, request.node.name, "two-runs")
    # The filter box takes the search grammar.
    box = page.locator(f"{SIDEBAR} .nbt-Sidebar-filter")
    box.fill("metrics.acc < 0.85")
    box.press("Enter")
    wait_for(lambda: _run_names(page) == ["first"], "the filtered list", 10)
    box.fill("metrics.acc <")
    box.press("Enter")
    expect(page.locator(f"{SIDEBAR} .nbt-Sidebar-error")).to_be_visible()
    _shot(page, request.node.name, "filter-error")
    box.fill("")
    box.press("Enter")
    wait_for(lambda: len(_run_names(page)) == 2, "the whole list again", 10)


def test_a_cell_badge_opens_the_run_page_which_inserts_the_code_and_finds_the_cell(
    lab: OpenNotebook, request: pytest.FixtureRequest
) -> None:
    tracked = "%%track --experiment lab-badges --name badged\nlr = 0.25\nscore = 1 - lr"
    notebook = lab("lab_badges", ["%load_ext nbtrack", tracked, "plain = 1"])
    notebook.run_all()
    page = notebook.page
    badge = notebook.code_cell(1).locator(".nbt-CellBadge")
    expect(badge).to_have_text("finished · badged", timeout=TIMEOUT_MS)
    expect(notebook.code_cell(2).locator(".nbt-CellBadge")).to_have_count(0)
    _shot(page, request.node.name, "badge")
    badge.click()
    frame = _page_frame(page)
    expect(frame.locator("h2")).to_contain_text("badged", timeout=TIMEOUT_MS)
    expect(frame.locator(".nbt-code-box")).to_contain_text("score = 1 - lr")
    _shot(page, request.node.name, "run-page")

    # "Insert this code as a new cell": into the notebook, below its active cell.
    cells_before = page.locator(".jp-NotebookPanel .jp-CodeCell").count()
    frame.locator("button.nbt-lab-insert-code").click()
    expect(page.locator(".jp-NotebookPanel .jp-CodeCell")).to_have_count(cells_before + 1)
    active = page.locator(".jp-NotebookPanel .jp-Cell.jp-mod-active")
    expect(active.locator(".jp-InputArea-editor")).to_contain_text("score = 1 - lr")
    _shot(page, request.node.name, "inserted-code")

    # Back to the run page; "Open the notebook at this cell" makes that cell the active one.
    notebook.code_cell(0).click()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab:has-text('Run badged')").click()
    _page_frame(page).locator("button.nbt-lab-open-cell").click()
    active = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active")
    expect(active.locator(".jp-InputArea-editor")).to_contain_text("--name badged")
    _shot(page, request.node.name, "cell-found")


LIVE_CELL = """\
%%track --experiment lab-status --name live-status --live
import time
import nbtrack
for step in range(40):
    nbtrack.log_metric("loss", 1 / (step + 1))
    time.sleep(0.2)
"""


def test_the_status_bar_shows_the_kernels_run_while_it_runs(
    lab: OpenNotebook, request: pytest.FixtureRequest
) -> None:
    notebook = lab("lab_status", ["%load_ext nbtrack", LIVE_CELL])
    page = notebook.page
    notebook.start_run_all()
    item = page.locator(".nbt-StatusItem")
    expect(item).to_contain_text("live-status", timeout=TIMEOUT_MS)
    expect(item).to_contain_text(re.compile(r"loss 0\.\d+"), timeout=TIMEOUT_MS)
    first = item.inner_text()
    page.wait_for_timeout(2500)
    assert item.inner_text() != first  # the clock ticks and the loss moves while it runs
    _shot(page, request.node.name, "live-run")
    item.click()
    expect(_page_frame(page).locator("h2")).to_contain_text("live-status", timeout=TIMEOUT_MS)
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab:has-text('lab_status.ipynb')").click()
    notebook.wait_until_all_ran()
    expect(item).to_have_text("", timeout=TIMEOUT_MS)


def test_promote_from_the_registry_panel(
    lab: OpenNotebook, jupyter_lab: LabServer, lab_store: None, request: pytest.FixtureRequest
) -> None:
    from sklearn.linear_model import LogisticRegression

    nbtrack.set_experiment("lab-registry")
    for c in (0.5, 1.0):
        with nbtrack.start_run(name=f"C={c}"):
            model = LogisticRegression(C=c).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
            nbtrack.log_model(model, "model", registered_model_name="lab-churn")
    nbtrack.promote("lab-churn", 1)
    notebook = lab("lab_registry", ["x = 1"])
    page = notebook.page
    page.locator(".jp-SideBar [data-id='nbtrack-runs']").click()
    page.locator(f"{SIDEBAR} .nbt-Sidebar-action:has-text('Registry')").click()
    frame = _page_frame(page)
    frame.locator("a:has-text('lab-churn')").click()
    row = frame.locator("tr[data-version='2']")
    row.locator("button.nbt-promote").click()
    expect(frame.locator("#nbt-confirm-text")).to_contain_text("from version 1 to version 2")
    _shot(page, request.node.name, "confirm")
    frame.locator("#nbt-confirm-ok").click()
    expect(row).to_contain_text("@champion", timeout=TIMEOUT_MS)
    _shot(page, request.node.name, "promoted")
    assert wait_for(
        lambda: nbtrack.get_model_version("lab-churn", 2).aliases == ("champion",),
        "version 2 to become the champion",
        10,
    )


def test_the_sidebar_in_notebook_7(
    _opened_notebooks: list[str],
    page: Page,
    jupyter_lab: LabServer,
    lab_store: None,
    request: pytest.FixtureRequest,
) -> None:
    nbtrack.set_experiment("notebook7-sidebar")
    with nbtrack.start_run(name="from-notebook-7"):
        nbtrack.log_metric("acc", 0.7)
    page.goto(f"{jupyter_lab.url}/tree")
    page.locator(".lm-MenuBar-itemLabel:text-is('View')").click()
    page.locator(".lm-Menu-itemLabel:text-is('Left Sidebar')").hover()
    page.locator(".lm-Menu-itemLabel:has-text('Runs')").click()
    _choose_experiment(page, "notebook7-sidebar")
    expect(page.locator(f"{SIDEBAR} .nbt-Sidebar-name")).to_have_text(["from-notebook-7"])
    _shot(page, request.node.name, "sidebar")


def _put_setting(server: LabServer, values: dict[str, object]) -> None:
    import json
    import urllib.request

    body = json.dumps({"raw": json.dumps(values)}).encode()
    request = urllib.request.Request(
        f"{server.url}/lab/api/settings/nbtrack:plugin",
        data=body,
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204


def test_the_sidebar_shows_the_metric_the_settings_name(
    page: Page, jupyter_lab: LabServer, lab_store: None, request: pytest.FixtureRequest
) -> None:
    nbtrack.set_experiment("lab-settings")
    with nbtrack.start_run(name="two-metrics"):
        nbtrack.log_metrics({"acc": 0.75, "loss": 0.125})
    _put_setting(jupyter_lab, {"metric": "loss"})
    try:
        page.goto(f"{jupyter_lab.url}/lab?reset")
        _open_sidebar(page, "lab-settings")
        expect(page.locator(f"{SIDEBAR} .nbt-Sidebar-notes")).to_contain_text("· loss")
        expect(page.locator(f"{SIDEBAR} .nbt-Sidebar-value")).to_have_text(["0.125"])
        _shot(page, request.node.name, "loss")
    finally:
        _put_setting(jupyter_lab, {})
    page.reload()
    _open_sidebar(page, "lab-settings")
    # Without the setting: the experiment's first metric.
    expect(page.locator(f"{SIDEBAR} .nbt-Sidebar-value")).to_have_text(["0.75"])


def test_the_sidebar_and_a_run_page_of_a_team_server(
    ui_page: UiPage, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """JupyterLab started with ``NBTRACK_URI=http://...``: the run a teammate logged to the
    server in the sidebar, and its page with the files the server holds."""
    page = ui_page.page
    root, home = tmp_path / "lab-root", tmp_path / "lab-home"
    root.mkdir()
    home.mkdir()
    with server_in_its_own_folder(tmp_path) as server:
        logged = log_run_with_files(server.url, tmp_path / "teammate")
        with running_lab(root, home, nbtrack_uri=server.url) as lab:
            page.goto(f"{lab.url}/lab?reset")
            _open_sidebar(page, "Default")
            expect(page.locator(f"{SIDEBAR} .nbt-Sidebar-name")).to_have_text(["with-files"])
            expect(page.locator(f"{SIDEBAR} .nbt-Sidebar-value")).to_have_text(["0.25"])
            page.locator(f"{SIDEBAR} .nbt-Sidebar-run").first.click()
            frame = _page_frame(page)
            expect(frame.locator("h2")).to_contain_text("with-files", timeout=TIMEOUT_MS)
            for path in ("plots/loss.png", "eval/losses.csv", "model/MLmodel"):
                expect(frame.locator(f'button[data-path="{path}"]')).to_be_visible()
            # The picture, the first file shown: the server's bytes, through the extension.
            image = frame.locator("img.nbt-image")
            expect(image).to_have_attribute("alt", "plots/loss.png", timeout=TIMEOUT_MS)
            assert f"runs/{logged.run_id}/artifacts/file" in (image.get_attribute("src") or "")
            wait_for(lambda: image.evaluate("(img) => img.naturalWidth") > 100, "the picture", 10)
            _shot(page, request.node.name, "run-page")
    assert ui_page.errors == []
