"""``%%track --live`` in JupyterLab, in a real browser: the chart grows while the cell runs.

The notebook loads the extension and runs a tracked cell that logs a point every 0.1 s for 6 s.
While that cell still shows ``[*]:``, the chart under it (nbtrack's own SVG view, not Vega) is
read twice or more, about a second apart, and must have changed in between: the curve grew
before the cell ended. Then the run is read back from the store the kernel logged to.
Screenshots land in ``tests/browser/screenshots/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Locator, expect

import nbtrack
import nbtrack.store.store
from nbtrack.store.schema import DEFAULT_EXPERIMENT_NAME
from tests.browser.conftest import wait_for

if TYPE_CHECKING:
    from tests.browser.conftest import LabNotebook

    OpenNotebook = Callable[[str, list[str]], LabNotebook]

pytestmark = pytest.mark.slow

STEPS = 60
LIVE_CELL = f"""\
%%track --live --name live-demo
import time
import nbtrack
for step in range({STEPS}):
    nbtrack.log_metric("loss", 1 / (step + 1))
    time.sleep(0.1)
"""

CHART_TIMEOUT_MS = 15_000
SAMPLE_EVERY_S = 1.0
CELL_TIMEOUT_S = 30.0
STORE_TIMEOUT_S = 15.0
RENDERED_CHART = ".nbtrack-live svg"

# What the chart draws, read in the page: the loss panel's line, how many points it joins and
# the dots drawn on it; ``drawing`` tells one drawing from another.
CHART_STATE_JS = """(output) => {
  const panel = output.querySelector('.nbtrack-live-panel[data-metric="loss"]');
  if (!panel) return null;
  const line = panel.querySelector('path.nbtrack-line');
  return {
    kind: 'svg',
    points: line ? Number(line.dataset.points) : 0,
    dots: panel.querySelectorAll('circle.nbtrack-dot').length,
    line: line ? line.getAttribute('d') : null,
    head: output.querySelector('.nbtrack-live-head').textContent,
    drawing: panel.outerHTML,
  };
}"""


def _chart_state(output: Locator) -> dict[str, Any] | None:
    state: dict[str, Any] | None = output.evaluate(CHART_STATE_JS)
    return state


def _prompt(cell: Locator) -> str:
    return cell.locator(".jp-InputArea-prompt").inner_text().strip()


def _finished_run(name: str) -> dict[str, Any] | None:
    """The run once the kernel's flusher has put its end in the store; None until then."""
    try:
        runs = nbtrack.search_runs(
            experiment=DEFAULT_EXPERIMENT_NAME, filter=f"run_name = '{name}'", max_results=1
        )
    except nbtrack.NbtrackError:  # no store or no experiment yet: the kernel has not flushed
        return None
    if runs.empty or runs.iloc[0]["status"] != "FINISHED":
        return None
    row: dict[str, Any] = runs.iloc[0].to_dict()
    return row


def test_the_live_chart_grows_while_the_cell_runs(lab: OpenNotebook, lab_store: None) -> None:
    notebook = lab("track_live", ["%load_ext nbtrack", LIVE_CELL])
    cell = notebook.code_cell(1)
    output = cell.locator(".jp-OutputArea-output:has(.nbtrack-live)")

    started = time.monotonic()
    notebook.start_run_all()
    expect(output.locator(RENDERED_CHART).first).to_be_attached(timeout=CHART_TIMEOUT_MS)
    first_chart_s = time.monotonic() - started

    # Samples taken while the cell runs: the prompt reads [*]: after the chart was read.
    samples: list[tuple[float, dict[str, Any]]] = []
    screenshot_taken = False
    while True:
        state = _chart_state(output)
        if _prompt(cell) != "[*]:":
            break
        if state is not None:
            samples.append((time.monotonic() - started, state))
        drawings = {sample["drawing"] for _, sample in samples}
        if len(drawings) >= 2 and not screenshot_taken:
            notebook.screenshot("while-running", top=cell)
            screenshot_taken = _prompt(cell) == "[*]:"
        if time.monotonic() - started > CELL_TIMEOUT_S:
            pytest.fail(f"the live cell still runs after {CELL_TIMEOUT_S:.0f} s")
        time.sleep(SAMPLE_EVERY_S)
    ended_s = time.monotonic() - started

    notebook.wait_until_all_ran(timeout=CELL_TIMEOUT_S)
    assert re.fullmatch(r"\[\d+\]:", _prompt(cell))
    summary = [f"{at:.1f} s: {sample['kind']}, {sample['points']} points" for at, sample in samples]
    print(
        f"\nchart drawn {first_chart_s:.1f} s after Run All, cell ended ≈ {ended_s:.1f} s;"
        f" samples while running: {'; '.join(summary)}"
    )
    assert len(samples) >= 2, f"fewer than two reads of the chart while the cell ran: {summary}"
    first, last = samples[0][1], samples[-1][1]
    assert first["drawing"] != last["drawing"], "the chart did not change while the cell ran"
    if first["kind"] == "svg":  # the line got longer and more points: the curve grew
        assert first["line"] != last["line"], summary
        assert first["points"] < last["points"] <= STEPS, summary
    assert screenshot_taken, "no screenshot while the cell ran"

    # The last redraw, at the end of the cell, holds every point.
    def settled() -> dict[str, Any] | None:
        before = _chart_state(output)
        time.sleep(0.5)
        return before if before is not None and before == _chart_state(output) else None

    final = wait_for(settled, "the chart to settle", 10.0)
    assert final["points"] == STEPS and final["dots"] == STEPS
    assert "finished" in final["head"] and f"{STEPS} points drawn" in final["head"]
    notebook.screenshot("finished", top=cell)

    run = wait_for(
        lambda: _finished_run("live-demo"), "the run FINISHED in the store", STORE_TIMEOUT_S
    )
    history = nbtrack.get_metric_history(run["run_id"], "loss")
    assert len(history) == STEPS
    assert history["value"].iloc[-1] == pytest.approx(1 / STEPS)
    print(f"store: run {run['run_id']} FINISHED, {len(history)} loss points")
