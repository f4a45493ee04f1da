"""The run table: one page of runs drawn by our own JavaScript, sortable and selectable, and
the status line above it.

The table holds only what it shows. Sorting, paging and what a click on a row means are
decided in Python (the owner sets ``rows`` to the page it wants), so a thousand runs cost the
browser one page; the front end only reports clicks back: through ``sort_by``, ``sort_desc``,
``page`` and ``picked``, and a ``{"event": "toggle", "run_id": ...}`` message for a row.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

if TYPE_CHECKING:
    from nbtrack.tracking.run_table import RunTableState

JS_PATH = Path(__file__).with_name("run_table.js")
ERROR_COLOUR = "var(--jp-error-color1, #d32f2f)"
WARN_COLOUR = "var(--jp-warn-color1, #f57c00)"
MUTED_COLOUR = "var(--jp-ui-font-color2, #616161)"


class RunTable(anywidget.AnyWidget):
    """A page of runs: clickable headers sort, clickable rows select (by run id), and each
    row's pick button highlights the run in the chart.

    ``rows`` are JSON-ready dicts keyed by ``columns``, each also carrying ``run_id``; ``page``
    counts from 1. Selected rows are drawn one way while ``auto_selected`` (the runs charted
    until the user chooses) and another once chosen; ``stale`` greys rows that are not what
    the filter box says.
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
    auto_selected = traitlets.Bool(False).tag(sync=True)
    stale = traitlets.Bool(False).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_toggle: list[Callable[[str], None]] = []
        self.on_msg(self._handle_message)

    def show(self, state: RunTableState) -> None:
        """Show the page, order and selection of ``state``."""
        columns = state.columns
        with self.hold_sync():
            self.columns = columns
            self.rows = state.page_rows(columns)
            self.total = state.total
            self.page = state.page
            self.page_size = state.page_size
            # The order in force: a sort column no run listed has shows no arrow.
            self.sort_by = state.sorted_by
            self.sort_desc = state.sort_desc
            self.selected = state.selected
            self.auto_selected = state.auto_selected
            self.stale = state.stale
            self.picked = state.picked
            self.empty_message = state.empty_message

    def on_toggle(self, callback: Callable[[str], None]) -> None:
        """Have ``callback(run_id)`` called when a row is clicked."""
        self._on_toggle.append(callback)

    def _handle_message(self, _: Any, content: Any, buffers: Sequence[Any]) -> None:
        if isinstance(content, dict) and content.get("event") == "toggle":
            run_id = content.get("run_id")
            if isinstance(run_id, str):
                for callback in self._on_toggle:
                    callback(run_id)


def status_html(
    state: RunTableState, charted: str | None = None, problems: Sequence[str] = ()
) -> str:
    """The line above the table: whose runs, how many match (or why the filter was not
    applied, instead of a count), what the chart shows (``charted``), which runs are picked;
    then, on lines of their own, the keys no run has, a sort that cannot apply, and what went
    wrong (``problems``)."""
    n = state.total
    where = (
        f"experiment <b>{html.escape(str(state.experiment))}</b>"
        if state.given_runs is None
        else "the runs given"
    )
    parts = [where]
    if state.stale:
        # A count here would read as the refused filter's: say what the rows are instead.
        before = (
            f"the filter <code>{html.escape(state.filter)}</code>" if state.filter else "no filter"
        )
        parts.append(
            f'<span style="color: {ERROR_COLOUR}">filter not applied</span> '
            f"(the greyed rows are the {n:,} run{'' if n == 1 else 's'} of {before})"
        )
    elif state.filter:
        parts.append(f"{n:,} run{' matches' if n == 1 else 's match'} the filter")
    else:
        parts.append(f"{n:,} run{'' if n == 1 else 's'}")
    if n and charted and not state.stale:
        parts.append(html.escape(charted))
    if state.picked:
        names = ", ".join(state.labels(state.picked).values())
        parts.append(f"picked: {html.escape(names)} (click the chart's background to clear)")
    text = " · ".join(parts)
    if state.filter_error:
        text += _line(state.filter_error, ERROR_COLOUR, code=True)
    if state.filter_note and not state.stale:
        text += _line(state.filter_note, WARN_COLOUR)
    if state.sort_note:
        text += _line(state.sort_note, MUTED_COLOUR)
    for problem in problems:
        text += _line(problem, ERROR_COLOUR, code=True)
    return text


def _line(text: str, colour: str, code: bool = False) -> str:
    font = "font-family: var(--jp-code-font-family, monospace); " if code else ""
    return f'<div style="color: {colour}; white-space: pre-wrap; {font}">{html.escape(text)}</div>'
