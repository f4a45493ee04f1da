"""The run table: one page of runs drawn by our own JavaScript, sortable and selectable.

The table holds only what it shows. Sorting and paging are decided in Python (the owner sets
``rows`` to the page it wants), so a thousand runs cost the browser one page; the front end
only reports clicks back through ``sort_by``, ``sort_desc``, ``page``, ``selected`` and
``picked``.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

if TYPE_CHECKING:
    import pandas as pd

JS_PATH = Path(__file__).with_name("run_table.js")
DISPLAY_DIGITS = 6


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


def table_rows(page: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """``page``'s runs as JSON-safe dicts: times as text, floats rounded, NaN as None."""
    keep = ["run_id", *(c for c in columns if c != "run_id" and c in page.columns)]
    return [
        {str(key): display_value(value) for key, value in record.items()}
        for record in page[keep].to_dict("records")
    ]


def display_value(value: Any) -> Any:
    """One cell as JSON: what the browser can show without knowing pandas or numpy."""
    import pandas as pd

    if isinstance(value, list | tuple | dict):
        return str(value)
    if value is None or pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        # Local time: what the clock on the wall said when the run started.
        stamp = value.astimezone() if value.tzinfo is not None else value
        return stamp.strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(value, "item"):
        value = value.item()  # numpy scalars
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return float(f"{value:.{DISPLAY_DIGITS}g}")
    return str(value)
