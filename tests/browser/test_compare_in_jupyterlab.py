"""``nbtrack.compare()`` in JupyterLab, in a real browser: the run table, its selection, the chart.

Each test writes a notebook that logs three runs and shows the widget, runs it with
Run → Run All Cells, and looks at the page as a person would. Screenshots land in
``tests/browser/screenshots/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.conftest import screenshot_path, wait_for

if TYPE_CHECKING:
    from tests.browser.conftest import LabNotebook

    OpenNotebook = Callable[[str, list[str]], LabNotebook]

pytestmark = pytest.mark.slow

CHART_TIMEOUT_MS = 30_000
CHANGE_TIMEOUT_S = 15.0

LOG_THREE_RUNS = """\
import math

import nbtrack

nbtrack.set_experiment("{experiment}")
run_ids = []
for lr in (0.3, 0.1, 0.03):
    with nbtrack.start_run(name=f"lr={{lr}}") as run:
        nbtrack.log_param("lr", lr)
        for step in range(20):
            nbtrack.log_metric("loss", math.exp(-lr * step) + 0.05, step=step)
    run_ids.append(run.id)
print("run ids:", *run_ids)
"""

SHOW_COMPARE = """\
nbtrack.compare(runs=run_ids)
"""

# The stand-in that checks the harness itself: a widget and an offline Altair chart.
SHOW_BUTTON_AND_CHART = """\
import altair as alt
import ipywidgets
import pandas as pd

alt.JupyterChart.enable_offline()
history = pd.DataFrame(
    {"step": [*range(20), *range(20)], "run": ["a"] * 20 + ["b"] * 20,
     "loss": [1 / (s + 1) for s in range(20)] + [2 / (s + 2) for s in range(20)]}
)
chart = alt.JupyterChart(alt.Chart(history).mark_line().encode(x="step", y="loss", color="run"))
ipywidgets.VBox([ipywidgets.Button(description="a plain button"), chart])
"""

REGISTER_TWO_VERSIONS = """\
import nbtrack
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

features, labels = load_iris(return_X_y=True, as_frame=True)
for max_iter in (5, 200):
    with nbtrack.start_run(name=f"iter={{max_iter}}"):
        model = LogisticRegression(max_iter=max_iter).fit(features, labels)
        nbtrack.log_metric("acc", model.score(features, labels))
        nbtrack.log_model(
            model, "model", input_example=features.head(3), registered_model_name="{name}"
        )
nbtrack.promote("{name}", 1)
"""

SHOW_REGISTRY = """\
nbtrack.registry("{name}")
"""

# Its own experiment: the lab's store is shared by every browser test of the session.
TWO_TRACKED_CELLS = [
    "%load_ext nbtrack",
    "%%track --experiment diff_two_cells --name first --metrics loss\nlr = 0.1\nloss = 1 - lr",
    "%%track --experiment diff_two_cells --name second --metrics loss\nlr = 0.3\nloss = 1 - lr",
    "import nbtrack\n"
    "runs = nbtrack.search_runs(experiment='diff_two_cells', order_by='start_time')\n"
    "nbtrack.compare(runs=list(runs['run_id']))",
]

REGISTRY = ".nbtrack-registry"
RUN_TABLE = ".nbtrack-run-table"
RENDERED_CHART = ".vega-embed svg.marks, .vega-embed canvas.marks"

# What the chart shows, read in the page: enough to tell one drawing from another.
CHART_STATE_JS = """(output) => {
  const marks = output.querySelector('.vega-embed svg.marks, .vega-embed canvas.marks');
  if (!marks) return null;
  if (marks.tagName.toLowerCase() === 'canvas') {
    return {kind: 'canvas', legend: [], lines: null, drawing: marks.toDataURL()};
  }
  return {
    kind: 'svg',
    legend: [...marks.querySelectorAll('.role-legend-label text')].map((t) => t.textContent),
    lines: marks.querySelectorAll('.mark-line path').length,
    drawing: marks.outerHTML,
  };
}"""

# Each row: its run id and whether the user selected it ("auto-selected" rows, charted by
# default, are not: they look different and the first click replaces them).
ROWS_JS = """(output) => [...output.querySelectorAll('tr[data-run-id]')].map(
  (tr) => [tr.dataset.runId, tr.classList.contains('selected')]
)"""


def _chart_state(output: Locator) -> dict[str, Any] | None:
    state: dict[str, Any] | None = output.evaluate(CHART_STATE_JS)
    return state


def _settled_chart(output: Locator) -> dict[str, Any]:
    """The chart's state once two reads 0.5 s apart agree (vega draws asynchronously)."""

    def settled() -> dict[str, Any] | None:
        first = _chart_state(output)
        time.sleep(0.5)
        return first if first is not None and first == _chart_state(output) else None

    state: dict[str, Any] = wait_for(settled, "the chart to settle", CHANGE_TIMEOUT_S)
    return state


def _rows(output: Locator) -> dict[str, bool]:
    return dict(output.evaluate(ROWS_JS))


def _click_row(
    output: Locator, run_id: str, selection: dict[str, bool], chart: dict[str, Any]
) -> dict[str, Any]:
    """Click the run's row; wait for ``selection`` and a new drawing, and return that."""
    output.locator(f'tr[data-run-id="{run_id}"]').click()
    wait_for(lambda: _rows(output) == selection, f"selection {selection}", CHANGE_TIMEOUT_S)
    wait_for(
        lambda: (now := _chart_state(output)) and now["drawing"] != chart["drawing"],
        "the chart to change",
        CHANGE_TIMEOUT_S,
    )
    new_chart = _settled_chart(output)
    assert _rows(output) == selection
    return new_chart


def _logged_run_ids(notebook: LabNotebook) -> list[str]:
    printed = notebook.page.locator(".jp-OutputArea-output", has_text="run ids:").inner_text()
    return printed.split("run ids:", 1)[1].split()


def _show_compare(lab: OpenNotebook, name: str) -> tuple[LabNotebook, Locator, list[str]]:
    """Open and run the notebook; return it, the widget's output and the logged run ids."""
    notebook = lab(name, [LOG_THREE_RUNS.format(experiment=name), SHOW_COMPARE])
    notebook.run_all()
    output = notebook.output_with(RUN_TABLE)
    expect(output.locator(f"{RUN_TABLE} table")).to_be_visible(timeout=CHART_TIMEOUT_MS)
    expect(output.locator(RENDERED_CHART).first).to_be_visible(timeout=CHART_TIMEOUT_MS)
    return notebook, output, _logged_run_ids(notebook)


def test_the_harness_shows_a_widget_and_an_offline_altair_chart(lab: OpenNotebook) -> None:
    notebook = lab("harness", [SHOW_BUTTON_AND_CHART])
    notebook.run_all()
    output = notebook.output_with(".vega-embed")
    expect(output.get_by_role("button", name="a plain button")).to_be_visible()
    expect(output.locator(RENDERED_CHART).first).to_be_visible(timeout=CHART_TIMEOUT_MS)
    chart = _settled_chart(output)
    notebook.screenshot("chart", top=output)
    if chart["kind"] == "svg":
        assert chart["legend"] == ["a", "b"]
        assert chart["lines"] == 2


def test_compare_shows_a_row_per_run_and_a_chart(lab: OpenNotebook) -> None:
    notebook, output, run_ids = _show_compare(lab, "compare_three_runs")
    assert len(run_ids) == 3
    expect(output.locator(f"{RUN_TABLE} table tr[data-run-id]")).to_have_count(3)
    assert set(_rows(output)) == set(run_ids)
    box = output.locator(RENDERED_CHART).first.bounding_box()
    assert box is not None and box["width"] > 50 and box["height"] > 50, box
    notebook.screenshot("table-and-chart", top=output)
    # The widget alone, as the README shows it (docs/images/compare-widget.png is a copy).
    _settled_chart(output)
    output.screenshot(path=screenshot_path(notebook.test_name, "widget"))


def test_clicking_a_row_changes_the_selection_and_the_chart(lab: OpenNotebook) -> None:
    notebook, output, run_ids = _show_compare(lab, "compare_click_a_row")
    initially = _rows(output)
    assert set(initially) == set(run_ids)
    # All three are charted by default: drawn as a default, not as the user's choice.
    assert not any(initially.values())
    expect(output.locator("tr.auto-selected")).to_have_count(3)
    chart = _settled_chart(output)
    notebook.screenshot("before-click", top=output)

    # The first click chooses that run alone (the default three go); a second click on it
    # leaves nothing chosen.
    target = run_ids[1]
    chosen = {run: run == target for run in run_ids}
    for step, expected in (("after-click", chosen), ("after-second-click", initially)):
        previous, chart = chart, _click_row(output, target, expected, chart)
        notebook.screenshot(step, top=output)
        print(
            f"\n{step} on {target}: legend {previous['legend']} -> {chart['legend']},"
            f" curves {previous['lines']} -> {chart['lines']}"
        )


def test_the_promote_button_of_the_registry_moves_the_champion(
    lab: OpenNotebook, lab_store: None
) -> None:
    import nbtrack

    name = "iris_browser"
    notebook = lab(
        "registry_promote",
        [REGISTER_TWO_VERSIONS.format(name=name), SHOW_REGISTRY.format(name=name)],
    )
    notebook.run_all(timeout=120)
    output = notebook.output_with(REGISTRY)
    promote_2 = output.locator(".nbtrack-promote.nbtrack-version-2")
    promote_1 = output.locator(".nbtrack-promote.nbtrack-version-1")
    expect(promote_2).to_be_enabled(timeout=CHART_TIMEOUT_MS)
    expect(promote_1).to_be_disabled()
    expect(output.locator(RENDERED_CHART).first).to_be_visible(timeout=CHART_TIMEOUT_MS)
    notebook.screenshot("registry-before-promote", top=output)

    promote_2.click()

    wait_for(
        lambda: nbtrack.get_registered_model(name).aliases == {"champion": 2},
        "the click to move champion to version 2 in the store",
        CHANGE_TIMEOUT_S,
    )
    expect(promote_2).to_be_disabled(timeout=CHANGE_TIMEOUT_S * 1000)
    expect(promote_1).to_be_enabled()
    expect(output.get_by_text(f"{name}@champion → version 2")).to_be_visible()
    history = nbtrack.get_alias_history(name)
    assert history["version"].tolist() == [1, 2]
    notebook.screenshot("registry-after-promote", top=output)


def test_a_point_clicked_in_the_scatter_picks_its_row(lab: OpenNotebook) -> None:
    notebook, output, run_ids = _show_compare(lab, "compare_pick_a_point")
    output.locator(".nbtrack-views button", has_text="scatter").click()
    # data marks only: the legend's symbols are .mark-symbol too
    points = output.locator(".vega-embed svg .mark-symbol.role-mark path")
    wait_for(lambda: points.count() == 3, "three points in the scatter", CHANGE_TIMEOUT_S)
    _settled_chart(output)
    assert output.locator("tr.picked").count() == 0

    points.first.click()

    wait_for(
        lambda: output.locator("tr.picked").count() == 1,
        "the clicked point's run to be picked in the table",
        CHANGE_TIMEOUT_S,
    )
    picked = output.locator("tr.picked").get_attribute("data-run-id")
    assert picked in run_ids
    expect(output.get_by_text("picked:")).to_be_visible()
    notebook.screenshot("scatter-point-picked", top=output)


def test_the_diff_view_shows_the_changed_line_of_two_cells(lab: OpenNotebook) -> None:
    notebook = lab("compare_diff_two_cells", TWO_TRACKED_CELLS)
    notebook.run_all()
    output = notebook.output_with(RUN_TABLE)
    expect(output.locator(f"{RUN_TABLE} tr[data-run-id]")).to_have_count(2)

    output.locator(".nbtrack-views button", has_text="diff").click()

    diff = output.locator(".nbtrack-diff")
    expect(diff).to_contain_text("-lr = 0.1", timeout=CHANGE_TIMEOUT_S * 1000)
    expect(diff).to_contain_text("+lr = 0.3")
    notebook.screenshot("diff-of-two-cells", top=output)
