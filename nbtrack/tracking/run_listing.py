"""A list of runs as a person reads it: a text table that fits a width, and the same table in
HTML for a notebook.

``nbtrack runs list`` prints ``text(width)``; ``%nbtrack runs`` returns the listing itself, so
Jupyter shows its HTML and a console its text. Cells are formatted by ``tracking.formatting``.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.entities import CARD_STYLE, MONO_STYLE, status_badge
from nbtrack.tracking.formatting import (
    MISSING,
    cell_text,
    choose_columns,
    right_aligned,
    with_duration,
)

if TYPE_CHECKING:
    import pandas as pd

GAP = "  "
# Shown whatever the width: without them a row says nothing.
ALWAYS_SHOWN = ("run_id", "run_name")


class RunListing:
    """Runs (a ``search_runs`` frame) as a table of text cells.

    Parameters
    ----------
    frame : pandas.DataFrame
        The runs, as ``search_runs`` returns them.
    columns : str or sequence of str, optional
        Names or prefixes, e.g. ``"run_name,params.lr,metrics."``; by default the run, its
        status, start and duration, then metrics, params and tags.
    caption : str, optional
        A line above the table, e.g. which experiment this is.

    Attributes
    ----------
    frame : pandas.DataFrame
        The runs with their raw values (and ``duration`` in seconds): for code, not reading.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        columns: str | Sequence[str] | None = None,
        caption: str | None = None,
    ) -> None:
        self.frame = with_duration(frame).reset_index(drop=True)
        self.columns = choose_columns(self.frame, columns)
        self.caption = caption
        self.cells = {
            column: [cell_text(column, value) for value in self.frame[column]]
            for column in self.columns
        }
        self._right = {column: right_aligned(self.frame, column) for column in self.columns}

    def __len__(self) -> int:
        return len(self.frame)

    def text(self, width: int | None = None) -> str:
        """The table as text within ``width`` characters (None: every column), with a last
        line naming the columns left out and how to choose them."""
        right = {c for c in self.columns if self._right[c]}
        table = text_table(self.cells, right, width)
        return f"{self.caption}\n{table}" if self.caption else table

    def __repr__(self) -> str:
        return self.text(shutil.get_terminal_size().columns)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's text/plain: a console fits the table to its width, as the command does.
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        """Every chosen column (the notebook scrolls sideways), formatted as in the text."""
        e = html.escape
        # Jupyter's own table style (right-aligned, striped) applies; only what differs is set.
        cell = "padding:2px 10px;white-space:nowrap"
        align = {c: "right" if self._right[c] else "left" for c in self.columns}
        head = "".join(
            f'<th style="{cell};text-align:{align[c]};font-weight:600">{e(c)}</th>'
            for c in self.columns
        )
        rows = []
        for row in range(len(self)):
            tds = "".join(
                f'<td style="{cell};text-align:{align[c]};{self._cell_style(c, row)}"'
                f"{self._title(c, row)}>{self._cell_html(c, row)}</td>"
                for c in self.columns
            )
            rows.append(f"<tr>{tds}</tr>")
        caption = (
            f'<div style="opacity:.7;margin-bottom:4px">{e(self.caption)}</div>'
            if self.caption
            else ""
        )
        return (
            f'<div style="{CARD_STYLE};overflow-x:auto">{caption}'
            f'<table style="border-collapse:collapse;margin:0;font-size:inherit">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )

    def _cell_html(self, column: str, row: int) -> str:
        text = self.cells[column][row]
        if column == "status" and text != MISSING:
            return status_badge(text)
        return html.escape(text)

    def _cell_style(self, column: str, row: int) -> str:
        if self.cells[column][row] == MISSING:
            return "opacity:.4"
        if column == "run_id":
            return f"{MONO_STYLE};font-size:.9em"
        # Digits of equal width, so numbers line up on the right as in the text table.
        return "font-variant-numeric:tabular-nums" if self._right[column] else ""

    def _title(self, column: str, row: int) -> str:
        # A value cut short or a local time: the whole value (UTC) on hover.
        raw = self.frame[column].iloc[row]
        text = self.cells[column][row]
        if text.endswith("…") or (column in ("start_time", "end_time") and text != MISSING):
            return f' title="{html.escape(str(raw))}"'
        return ""


def text_table(
    cells: dict[str, list[str]], right: set[str] | frozenset[str], width: int | None
) -> str:
    """Columns of text cells (header: the key) as a table within ``width`` characters.

    Columns are taken in order while they fit, ``run_id`` and ``run_name`` always; a wide
    one left out does not stop a narrower one after it. A last line names those left out.
    """
    widths = {c: max([len(c), *map(len, values)]) for c, values in cells.items()}
    shown: list[str] = []
    hidden: list[str] = []
    used = -len(GAP)
    for column in cells:
        needed = len(GAP) + widths[column]
        if width is None or column in ALWAYS_SHOWN or used + needed <= width:
            shown.append(column)
            used += needed
        else:
            hidden.append(column)

    def line(values: dict[str, str]) -> str:
        return GAP.join(
            values[c].rjust(widths[c]) if c in right else values[c].ljust(widths[c]) for c in shown
        ).rstrip()

    rows = len(next(iter(cells.values()), []))
    lines = [line({c: c for c in shown})]
    lines += [line({c: cells[c][row] for c in shown}) for row in range(rows)]
    if hidden:
        lines.append(_hidden_note(hidden, width or 0))
    return "\n".join(lines)


def _hidden_note(hidden: list[str], width: int) -> str:
    """``(3 more columns: metrics.f1, params.C, …; choose with --columns)``, naming as many
    as the width holds."""
    count = f"{len(hidden)} more column{'' if len(hidden) == 1 else 's'}"
    for named in range(len(hidden), 0, -1):
        names = ", ".join(hidden[:named]) + (", …" if named < len(hidden) else "")
        note = f"({count}: {names}; choose with --columns)"
        if len(note) <= width:
            return note
    return f"({count}; choose with --columns)"
