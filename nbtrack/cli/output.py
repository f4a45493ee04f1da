"""What the commands print: tables a person reads, JSON for scripts, progress bars."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def print_rows(rows: list[dict[str, Any]], as_json: bool) -> int:
    if as_json:
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("nothing to show")
        return 0
    import pandas as pd

    print(table(pd.DataFrame(rows)))
    return 0


def table(frame: pd.DataFrame) -> str:
    import pandas as pd

    shown = frame.copy()
    for column in shown.columns:
        if isinstance(shown[column].dtype, pd.DatetimeTZDtype):
            shown[column] = shown[column].dt.strftime("%Y-%m-%d %H:%M:%S")
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        return shown.to_string(index=False, na_rep="")


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
