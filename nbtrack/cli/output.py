"""What the commands print: tables a person reads, JSON for scripts, progress bars."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def print_rows(rows: list[dict[str, Any]], as_json: bool) -> int:
    if as_json:
        print(json.dumps(rows, default=_json_value))
        return 0
    if not rows:
        print("nothing to show")
        return 0
    import pandas as pd

    print(table(pd.DataFrame(rows)))
    return 0


def _json_value(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def terminal_width() -> int | None:
    """The width to fit a table in: COLUMNS, else the terminal's; None (every column) when
    stdout is a file or a pipe, whose reader scrolls or cuts as they like."""
    return shutil.get_terminal_size(fallback=(0, 0)).columns or None


def table(frame: pd.DataFrame) -> str:
    """``frame`` as the runs list shows runs: local times, ``-`` where a value is missing,
    numbers on the right, within the terminal's width."""
    from nbtrack.tracking.formatting import cell_text, right_aligned
    from nbtrack.tracking.run_listing import text_table

    cells = {str(c): [cell_text(str(c), value) for value in frame[c]] for c in frame.columns}
    right = {str(c) for c in frame.columns if right_aligned(frame, c)}
    return text_table(cells, right, terminal_width())


def progress(label: str, done: int, total: int, detail: str = "") -> None:
    """A progress bar on a terminal; one final line otherwise (logs stay readable)."""
    if total <= 0:
        return
    width = 30
    filled = int(width * done / total)
    line = f"{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {detail}"
    if sys.stderr.isatty():
        end = "\n" if done == total else ""
        print(f"\r{line:<80}", end=end, file=sys.stderr, flush=True)
    elif done == total:
        print(line, file=sys.stderr)
