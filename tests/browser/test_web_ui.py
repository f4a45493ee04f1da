"""``nbtrack ui`` in Debian's chromium: the runs table, a run, a comparison, the registry, and an
artifact that tries to reach the UI. Screenshots land in ``tests/browser/screenshots/``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

import nbtrack
from nbtrack.web.background import UI
from tests.browser.conftest import _failed, screenshot_path
from tests.web.runs_for_ui import FEATURES, LABELS, Logged, log_runs


@dataclass
class Served:
    ui: UI
    logged: Logged
    page: Page

    def open(self, route: str) -> None:
        self.page.goto(f"{self.ui.url}#{route}")

    def shot(self, name: str, step: str) -> Path:
        path = screenshot_path(name, step)
        self.page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture
def served(store_path: Path, browser: Browser, request: pytest.FixtureRequest) -> Iterator[Served]:
    logged = log_runs(store_path.parent)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with nbtrack.ui() as ui:
        yield Served(ui, logged, page)
        if _failed(request):
            page.screenshot(path=screenshot_path(request.node.name, "failure"))
    context.close()
    assert errors == []


def _row_names(page: Page) -> list[str]:
    return page.locator("table.nbt-runs tbody tr td:nth-child(2)").all_inner_texts()


def test_runs_table_of_three_experiments_filtered_and_sorted_by_a_metric(served: Served) -> None:
    page = served.page
    served.open("/")
    for name in served.logged.experiments:
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    served.shot("runs_table", "1-experiments")
    page.get_by_role("link", name="sweep", exact=True).click()
    expect(page.locator("table.nbt-runs tbody tr")).to_have_count(4)
    page.locator("input.nbt-filter").fill("params.optimizer = 'sgd' or metrics.acc > 0.75")
    page.locator("input.nbt-filter").press("Enter")
    expect(page.locator("table.nbt-runs tbody tr")).to_have_count(3)
    header = page.locator('th[data-column="metrics.acc"]')
    header.click()
    expect(header).to_contain_text("▲")
    header.click()
    expect(header).to_contain_text("▼")
    assert _row_names(page) == ["sweep-2", "sweep-1", "sweep-0"]
    served.shot("runs_table", "2-filtered-sorted")
    shared = page.url
    assert "sort=-metrics.acc" in shared and "filter=" in shared
    other = page.context.new_page()  # the address, opened elsewhere, shows the same table
    other.goto(shared)
    expect(other.locator("table.nbt-runs tbody tr")).to_have_count(3)
    assert _row_names(other) == ["sweep-2", "sweep-1", "sweep-0"]
    other.close()
    page.locator("details.nbt-columns summary").click()
    boxes = page.locator(".nbt-column-list input[type=checkbox]")
    expect(boxes.first).to_be_visible()
    for box in boxes.all():
        if box.get_attribute("value") not in ("run_name", "metrics.acc"):
            box.uncheck()
    served.shot("runs_table", "3-columns-chooser")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.nbt-runs thead th[data-column]")).to_have_count(2)
    assert "columns=run_name%2Cmetrics.acc" in page.url


def test_run_page_has_its_curve_code_and_image(served: Served) -> None:
    page = served.page
    served.open(f"/runs/{served.logged.showcase}")
    expect(page.locator('.nbt-chart[data-metric="loss"] svg .mark-line path')).to_have_count(1)
    expect(page.locator(".nbt-code-box")).to_contain_text("nbtrack.log_metric")
    assert page.locator(".nbt-code-box span.k", has_text="for").count() == 1
    expect(page.locator(".nbt-source")).to_contain_text("notebooks/sweep.ipynb")
    expect(page.locator(".nbt-source")).to_contain_text("cell-0")
    image = page.locator("img.nbt-image")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('img.nbt-image').naturalWidth > 100")
    expect(page.get_by_role("link", name="sweep-0-fold-1")).to_be_visible()
    history = page.locator("details", has_text="Session history")
    history.locator("summary").click()
    expect(history.locator("pre")).to_contain_text("lr = 0.11")
    served.shot("run_page", "curve-code-image")
    page.locator('button[data-path="eval/losses.csv"]').click()
    expect(page.locator(".nbt-preview table tbody tr")).to_have_count(2)


def test_compare_of_three_runs(served: Served) -> None:
    page = served.page
    served.open("/experiments/tuning")
    boxes = page.locator("table.nbt-runs tbody input[type=checkbox]")
    expect(boxes).to_have_count(3)
    for n in range(3):
        boxes.nth(n).check()
    page.get_by_role("button", name="Compare selected (3)").click()
    expect(page.locator('[data-chart="history"] svg .mark-line path')).to_have_count(3)
    expect(page.locator('[data-chart="scatter"] svg')).to_be_visible()
    expect(page.locator('[data-chart="parallel"] svg')).to_be_visible()
    expect(page.locator(".nbt-diff .nbt-add")).not_to_have_count(0)
    served.shot("compare", "three-runs")


def test_promote_from_the_registry_then_another_process_loads_the_new_version(
    served: Served, child_env: dict[str, str]
) -> None:
    page = served.page
    served.open("/models/churn")
    row = page.locator('tr[data-version="2"]')
    row.get_by_role("button", name="Promote").click()
    dialog = page.locator("dialog#nbt-confirm")
    expect(dialog).to_contain_text("from version 1 to version 2")
    served.shot("registry", "1-confirm")
    dialog.get_by_role("button", name="Confirm").click()
    expect(row).to_contain_text("@champion")
    served.shot("registry", "2-promoted")
    code = (
        "import json, nbtrack;"
        "model = nbtrack.load_model('models:/churn@champion');"
        f"print(json.dumps(model.predict({FEATURES!r}).tolist()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=child_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [1 - y for y in LABELS]  # version 2's answers


def test_cancel_leaves_the_alias_where_it_was(served: Served) -> None:
    page = served.page
    served.open("/models/churn")
    page.locator('tr[data-version="2"]').get_by_role("button", name="Promote").click()
    page.locator("dialog#nbt-confirm").get_by_role("button", name="Cancel").click()
    assert nbtrack.get_model_version("churn", 1).aliases == ("champion",)


def test_an_html_artifact_cannot_read_the_cookie_or_call_the_api(served: Served) -> None:
    page = served.page
    page.context.add_cookies([{"name": "secret", "value": "42", "url": served.ui.url}])
    served.open(f"/runs/{served.logged.showcase}")
    page.locator('button[data-path="report.html"]').click()
    frame = page.locator("iframe.nbt-frame")
    expect(frame).to_have_attribute("sandbox", "")
    expect(page.frame_locator("iframe.nbt-frame").locator("h1")).to_have_text("report")
    page.wait_for_timeout(1000)
    served.shot("hostile_artifact", "in-frame")
    assert not page.title().startswith("pwned")
    # Opened on its own, its policy (sandbox) still keeps its script from running.
    page.goto(f"{served.ui.api_url}runs/{served.logged.showcase}/artifacts/file?path=report.html")
    page.wait_for_timeout(1000)
    assert not page.title().startswith("pwned")
    assert nbtrack.get_model_version("churn", 1).aliases == ("champion",)
