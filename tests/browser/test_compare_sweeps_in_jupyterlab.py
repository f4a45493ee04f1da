"""``nbtrack.compare()`` over a sweep of two model families, in JupyterLab in a real browser.

What a data scientist does on a first afternoon: sort by a metric and filter the runs away that
have it, mistype a filter, choose the runs to chart, read a sweep over decades and over two
families of params, restart the kernel. Each test writes a notebook that logs the sweep (no
training: the metrics are made up, so the runs take a second) and shows the widget, then clicks
and types as a person would and reads the page. Screenshots land in
``tests/browser/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.test_compare_in_jupyterlab import (
    CHANGE_TIMEOUT_S,
    CHART_TIMEOUT_MS,
    RENDERED_CHART,
    RUN_TABLE,
    _settled_chart,
)

if TYPE_CHECKING:
    from tests.browser.conftest import LabNotebook

    OpenNotebook = Callable[[str, list[str]], LabNotebook]

pytestmark = pytest.mark.slow

# 8 logistic regressions (C over decades, two solvers), 8 forests (n_estimators, max_depth of
# None or 5) with auc logged once per run and a short loss curve; and one run that crashed
# before logging anything but its model.
LOG_SWEEP = """\
import math

import nbtrack

nbtrack.set_experiment("{experiment}")
for i, c in enumerate([0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]):
    with nbtrack.start_run(name=f"logreg C={{c}}"):
        nbtrack.log_params({{"model": "logreg", "C": c, "solver": ("lbfgs", "saga")[i % 2]}})
        for step in range(10):
            nbtrack.log_metric("loss", math.exp(-0.3 * step) / (1 + i), step=step)
        nbtrack.log_metric("auc", 0.990 + 0.001 * i - 0.0002 * (i - 5) ** 2)
for i, (n, depth) in enumerate([(n, d) for n in (50, 100, 200, 400) for d in (None, 5)]):
    with nbtrack.start_run(name=f"forest n={{n}} depth={{depth}}"):
        nbtrack.log_params({{"model": "forest", "n_estimators": n, "max_depth": depth}})
        for step in range(10):
            nbtrack.log_metric("loss", math.exp(-0.2 * step) / (2 + i), step=step)
        nbtrack.log_metric("auc", 0.994 + 0.0005 * i)
try:
    with nbtrack.start_run(name="crashed"):
        nbtrack.log_param("model", "mlp")
        raise RuntimeError("out of memory")
except RuntimeError:
    pass
print("logged", len(nbtrack.search_runs()), "runs")
"""

SHOW_COMPARE = """\
view = nbtrack.compare()
view
"""

# Every element ipywidgets marks disconnected, and whether it still shows its broken-link icon.
BROKEN_ICONS_JS = """(output) => [...output.querySelectorAll('.jupyter-widgets-disconnected')]
  .filter((e) => e.offsetParent !== null || e === output.querySelector('.nbtrack-root'))
  .map((e) => getComputedStyle(e, '::before').content)
  .filter((content) => content && content !== 'none' && content !== 'normal')"""

CHART_TEXT_JS = """(output) => {
  const svg = output.querySelector('.vega-embed svg.marks');
  return svg ? [...svg.querySelectorAll('text')].map((t) => t.textContent) : null;
}"""


def _open_sweep(lab: OpenNotebook, name: str) -> tuple[LabNotebook, Locator]:
    notebook = lab(name, [LOG_SWEEP.format(experiment=name), SHOW_COMPARE])
    notebook.run_all()
    output = notebook.output_with(RUN_TABLE)
    expect(output.locator(f"{RUN_TABLE} tr[data-run-id]")).to_have_count(17)
    expect(output.locator(RENDERED_CHART).first).to_be_visible(timeout=CHART_TIMEOUT_MS)
    return notebook, output


def _status(output: Locator) -> Locator:
    """The status line above the table (an HTML widget: the second part of the widget)."""
    return output.locator(".widget-html").filter(has_text=re.compile(r"experiment")).first


def _type_filter(output: Locator, text: str) -> None:
    box = output.locator(".widget-text input").first
    box.fill(text)
    box.press("Enter")


def _chart_text(output: Locator) -> list[str]:
    """The texts of the SVG chart once it has settled."""
    _settled_chart(output)
    texts: list[str] = output.evaluate(CHART_TEXT_JS) or []
    return texts


def _rows(output: Locator) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = output.evaluate(
        """(output) => [...output.querySelectorAll('tr[data-run-id]')].map((tr) => ({
          name: tr.children[1].textContent,
          selected: tr.classList.contains('selected'),
          auto: tr.classList.contains('auto-selected'),
        }))"""
    )
    return rows


def test_a_sort_key_filtered_away_and_a_bad_filter_are_said_and_the_widget_stays_usable(
    lab: OpenNotebook,
) -> None:
    notebook, output = _open_sweep(lab, "sweep_filter_errors")
    status = _status(output)
    output.locator('th[data-column="metrics.auc"]').click()  # sort by auc, lowest first
    expect(output.locator('th[data-column="metrics.auc"] .nbtrack-arrow')).to_be_visible()

    _type_filter(output, "params.model = 'mlp'")  # the one run without auc

    expect(status).to_contain_text("1 run matches the filter")
    expect(status).to_contain_text("not sorted by metrics.auc: none of these runs has it")
    expect(output.locator("tr[data-run-id]")).to_have_count(1)
    expect(output.locator(".nbtrack-arrow")).to_have_count(0)
    notebook.screenshot("sort-key-filtered-away", top=output)

    _type_filter(output, "params.model = 'forest'")  # later filters work, and sort again
    expect(output.locator("tr[data-run-id]")).to_have_count(8)
    expect(status).not_to_contain_text("not sorted")
    first = output.locator("tr[data-run-id]").first
    expect(first).to_contain_text("forest n=50 depth=None")  # the lowest auc

    _type_filter(output, "metrics.auc >")
    expect(status).to_contain_text("filter not applied")
    expect(status).to_contain_text("the greyed rows are the 8 runs of the filter")
    expect(status).to_contain_text("invalid filter")
    expect(status).not_to_contain_text("match the filter")
    expect(output.locator(f"{RUN_TABLE}.stale")).to_have_count(1)
    opacity = output.locator(f"{RUN_TABLE} tbody").evaluate("(e) => getComputedStyle(e).opacity")
    assert float(opacity) < 0.5
    notebook.screenshot("bad-filter", top=output)

    _type_filter(output, "metrics.acu > 0.5")
    expect(status).to_contain_text("0 runs match the filter")
    expect(status).to_contain_text(
        "no run in experiment 'sweep_filter_errors' has metrics.acu (did you mean metrics.auc"
    )
    expect(output.locator(f"{RUN_TABLE}.stale")).to_have_count(0)
    expect(output.locator("tr.nbtrack-empty")).to_contain_text("did you mean metrics.auc")
    notebook.screenshot("unknown-key", top=output)


def test_the_default_selection_looks_like_a_default_and_all_none_top_choose_runs(
    lab: OpenNotebook,
) -> None:
    notebook, output = _open_sweep(lab, "sweep_selection")
    status = _status(output)
    expect(status).to_contain_text("charted: the first 5 (by default) — click rows to choose")
    rows = _rows(output)
    assert [row["auto"] for row in rows] == [True] * 5 + [False] * 12
    assert not any(row["selected"] for row in rows)
    edge = output.locator("tr.auto-selected td").nth(1)
    assert edge.evaluate("(e) => getComputedStyle(e).borderLeftStyle") == "dashed"
    notebook.screenshot("default-selection", top=output)

    wanted = rows[2]["name"]  # one of the default five: the first click keeps it
    output.locator("tr[data-run-id]").nth(2).click()
    expect(output.locator("tr.selected")).to_have_count(1)
    expect(output.locator("tr.selected")).to_contain_text(wanted)
    expect(output.locator("tr.auto-selected")).to_have_count(0)
    expect(status).to_contain_text("charted: 1 selected")

    output.get_by_role("button", name="all", exact=True).click()
    expect(output.locator("tr.selected")).to_have_count(17)
    output.get_by_role("button", name="none", exact=True).click()
    expect(output.locator("tr.selected")).to_have_count(0)
    expect(status).to_contain_text("charted: none")

    output.locator('th[data-column="metrics.auc"]').click()
    output.locator('th[data-column="metrics.auc"]').click()  # highest first
    top = output.get_by_role("button", name=re.compile(r"^top 5 by metrics\.auc"))
    expect(top).to_have_text("top 5 by metrics.auc (highest first)")
    top.click()
    expect(output.locator("tr.selected")).to_have_count(5)
    assert [row["selected"] for row in _rows(output)] == [True] * 5 + [False] * 12
    notebook.screenshot("top-five", top=output)

    # The scatter of a param against a metric draws the whole sweep, not the five selected.
    output.locator(".nbtrack-views button", has_text="scatter").click()
    output.locator(".widget-dropdown:has(label:text-is('param')) select").select_option("model")
    points = output.locator(".vega-embed svg .mark-symbol.role-mark path")
    expect(points).to_have_count(16, timeout=CHANGE_TIMEOUT_S * 1000)  # the crash has no auc
    expect(status).to_contain_text("charted: all 17 matching runs")
    notebook.screenshot("scatter-of-the-sweep", top=output.locator(".nbtrack-views"))


def test_sweep_charts_use_log_and_categorical_axes_and_start_bars_near_the_data(
    lab: OpenNotebook,
) -> None:
    notebook, output = _open_sweep(lab, "sweep_charts")
    views = output.locator(".nbtrack-views button")
    chart = output.locator(".vega-embed").first
    controls = output.locator(".nbtrack-views")  # screenshots from here: controls and chart

    views.filter(has_text="parallel").click()
    expect(chart).to_contain_text("log axis: C", timeout=CHANGE_TIMEOUT_S * 1000)
    texts = _chart_text(output)
    assert "not set" in texts  # a forest has no C: its own marked place under the axis
    assert {"lbfgs", "saga", "forest", "logreg", "None", "5"} <= set(texts), texts
    assert {"0.01", "0.1", "1"} <= set(texts), texts  # a label per decade of C
    assert not [t for t in texts if t.lower() == "nan"], texts
    notebook.screenshot("parallel-two-families", top=controls)

    views.filter(has_text="scatter").click()
    param = output.locator(".widget-dropdown:has(label:text-is('param')) select")
    param.select_option("C")
    expect(chart).to_contain_text("log axis: C spans 3.5 decades", timeout=CHANGE_TIMEOUT_S * 1000)
    notebook.screenshot("scatter-log-axis", top=controls)
    output.locator(".widget-dropdown:has(label:text-is('axis')) select").select_option("linear")
    expect(chart).not_to_contain_text("log axis", timeout=CHANGE_TIMEOUT_S * 1000)

    views.filter(has_text="bar").click()
    output.locator(".widget-dropdown:has(label:text-is('metric')) select").select_option("auc")
    output.get_by_role("button", name="all", exact=True).click()
    expect(chart).to_contain_text("bars start at 0.98", timeout=CHANGE_TIMEOUT_S * 1000)
    notebook.screenshot("bars-near-the-data", top=controls)
    widths = output.evaluate(
        """(output) => [...output.querySelectorAll('.vega-embed svg .mark-rect path')]
            .map((p) => p.getBBox().width)"""
    )
    assert len(widths) == 16 and max(widths) > 3 * min(widths), widths

    views.filter(has_text="history").click()  # still auc
    expect(chart).to_contain_text("logged once per run", timeout=CHANGE_TIMEOUT_S * 1000)
    texts = _chart_text(output)
    assert "no run selected" not in texts
    notebook.screenshot("once-per-run", top=controls)


RESTART_CELLS = [
    "%load_ext nbtrack",
    "%%track --live --name before-restart\nimport nbtrack\nfor step in range(20):\n"
    "    nbtrack.log_metric('loss', 1 / (step + 1))",
    "nbtrack.compare()",
]


def test_widgets_left_from_before_a_kernel_restart_say_so_in_one_line(lab: OpenNotebook) -> None:
    notebook = lab("restart_widgets", RESTART_CELLS)
    notebook.run_all()
    live = notebook.output_with(".nbtrack-live")
    compare = notebook.output_with(RUN_TABLE)
    expect(live.locator("path.nbtrack-line")).to_be_visible(timeout=CHART_TIMEOUT_MS)
    expect(compare.locator(RENDERED_CHART).first).to_be_visible(timeout=CHART_TIMEOUT_MS)

    page = notebook.page
    page.locator(".lm-MenuBar-itemLabel:text-is('Kernel')").click()
    page.locator(".lm-Menu-itemLabel:text-is('Restart Kernel…')").click()
    page.locator(".jp-Dialog-button.jp-mod-accept").click()

    line = compare.locator(".nbtrack-restarted-line")
    expect(line).to_have_text(
        "The kernel restarted since this comparison was drawn: run its cell again to use it.",
        timeout=CHANGE_TIMEOUT_S * 1000,
    )
    expect(compare.locator(RUN_TABLE)).to_be_hidden()  # its dead controls are gone
    expect(live.locator(".nbtrack-restarted-line")).to_contain_text("The kernel restarted")
    expect(live.locator("path.nbtrack-line")).to_be_visible()  # the drawing stays: it is a record
    notebook.wait_for_kernel()
    assert compare.evaluate(BROKEN_ICONS_JS) == []
    assert live.evaluate(BROKEN_ICONS_JS) == []
    notebook.screenshot("after-restart", top=notebook.code_cell(1))
