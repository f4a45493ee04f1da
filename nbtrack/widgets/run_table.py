"""The run table: one page of runs drawn by our own JavaScript, sortable and selectable, and
the status line above it.

The table holds only what it shows. Sorting and paging are decided in Python (the owner sets
``rows`` to the page it wants), so a thousand runs cost the browser one page; the front end
only reports clicks back through ``sort_by``, ``sort_desc``, ``page``, ``selected`` and
``picked``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import anywidget
import traitlets

if TYPE_CHECKING:
    from nbtrack.tracking.run_table import RunTableState

JS_PATH = Path(__file__).with_name("run_table.js")
ERROR_COLOUR = "var(--jp-error-color1, #d32f2f)"


class RunTable(anywidget.AnyWidget):
    """A page of runs: clickable headers sort, clickable rows select (by run id), and each
    row's pick button highlights the run in the chart.

    ``rows`` are JSON-ready dicts keyed by ``columns``, each also carrying ``run_id``; ``page``
    counts from 1.
    """

    # anywidget turns a Path ``_esm`` into a hot-reload watcher whose signal keeps a strong
    # reference to every instance ever made: no table (nor the widget around it) could be
    # freed. The file's text keeps the JavaScript in its own file without that.
    _esm = JS_PATH.read_text(encoding="utf-8")

    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    page = traitlets.Int(1).tag(sync=True)
    page_size = traitlets.Int(25).tag(sync=True)
    sort_by = traitlets.Unicode("").tag(sync=True)
    sort_desc = traitlets.Bool(False).tag(sync=True)
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # Runs highlighted (clicked in the chart, or with a row's pick button).
    picked = traitlets.List(traitlets.Unicode()).tag(sync=True)
    empty_message = traitlets.Unicode("No runs").tag(sync=True)

    def show(self, state: RunTableState) -> None:
        """Show the page, order and selection of ``state``."""
        columns = state.columns
        with self.hold_sync():
            self.columns = columns
            self.rows = state.page_rows(columns)
            self.total = state.total
            self.page = state.page
            self.page_size = state.page_size
            self.sort_by = state.sort_by
            self.sort_desc = state.sort_desc
            self.selected = state.selected
            self.picked = state.picked
            self.empty_message = state.empty_message


def status_html(state: RunTableState, problem: str | None = None) -> str:
    """The line above the table: whose runs, how many, how many charted, which picked, and
    what went wrong (``problem``, or a filter refused)."""
    n = state.total
    where = (
        f"experiment <b>{html.escape(str(state.experiment))}</b>"
        if state.given_runs is None
        else "the runs given"
    )
    parts = [where, f"{n:,} run{'' if n == 1 else 's'}"]
    if state.filter:
        parts[1] += " match the filter" if n != 1 else " matches the filter"
    if n:
        parts.append(f"{len(state.selected)} charted")
    if state.picked:
        names = ", ".join(state.labels(state.picked).values())
        parts.append(f"picked: {html.escape(names)} (click the chart's background to clear)")
    text = " · ".join(parts)
    for error in (problem, state.filter_error):
        if error:
            text += (
                f'<div style="color: {ERROR_COLOUR}; white-space: pre-wrap; '
                f'font-family: var(--jp-code-font-family, monospace)">'
                f"{html.escape(error)}</div>"
            )
    return text
