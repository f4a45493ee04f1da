"""``NBTRACK_URI=http://... nbtrack ui`` in Debian's chromium: the run page of a run logged to a
real ``nbtrack server`` lists the files the server holds, shows the picture and previews the
CSV as a table."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import UiPage, screenshot_path
from tests.team.conftest import server_in_its_own_folder
from tests.team.ui_of_a_server import log_run_with_files, ui_of


def test_the_run_page_of_a_ui_over_a_server_lists_its_files_and_shows_the_csv(
    tmp_path: Path, ui_page: UiPage
) -> None:
    page = ui_page.page
    with server_in_its_own_folder(tmp_path) as server:
        logged = log_run_with_files(server.url, tmp_path / "client")
        with ui_of(server.url, tmp_path / "ui") as url:
            page.goto(f"{url}#/runs/{logged.run_id}")
            for path in ("plots/loss.png", "eval/losses.csv", "model/MLmodel"):
                expect(page.locator(f'button[data-path="{path}"]')).to_be_visible()
            # The picture is the first file shown: bytes from the server, through the UI.
            page.wait_for_function(
                "() => document.querySelector('img.nbt-image')?.naturalWidth > 100"
            )
            page.screenshot(path=screenshot_path("ui_over_a_server", "image"), full_page=True)
            page.locator('button[data-path="eval/losses.csv"]').click()
            rows = page.locator(".nbt-preview table tbody tr")
            expect(rows).to_have_count(3)
            expect(rows.nth(2)).to_contain_text("0.25")
            page.screenshot(path=screenshot_path("ui_over_a_server", "table"), full_page=True)
    assert ui_page.errors == []
