"""Run values as a person reads them: times, durations, numbers and missing values as text,
and the columns of a run listing, chosen by name or prefix.

Shared by every face that lists runs as text (``nbtrack runs list``, ``%nbtrack runs``), so a
run reads the same in a terminal and in a notebook. ``--json`` and ``search_runs`` stay raw.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.entities import format_duration, format_number, format_value
from nbtrack.errors import InvalidValueError

if TYPE_CHECKING:
    import pandas as pd

MISSING = "-"
DURATION = "duration"
HIDDEN_TAGS = "tags.nbtrack."
# The longest cell a table shows; longer values end in "…" (--json has them whole).
MAX_CELL = 30
_FIRST = ("run_id", "run_name", "experiment", "status", "start_time", DURATION)


def with_duration(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``duration`` in seconds after ``start_time``: to the end, or to now for a
    run still RUNNING. A frame that has a ``duration`` column already keeps it."""
    import pandas as pd

    if DURATION in frame.columns or "start_time" not in frame.columns:
        return frame
    now = pd.Timestamp(dt.datetime.now(dt.UTC))
    ends = frame["end_time"].where(frame["end_time"].notna() | (frame["status"] != "RUNNING"), now)
    seconds = (ends - frame["start_time"]).dt.total_seconds()
    return frame.assign(**{DURATION: seconds})[_order(list(frame.columns))]


def _order(columns: list[str]) -> list[str]:
    at = columns.index("start_time") + 1
    return [*columns[:at], DURATION, *columns[at:]]


def default_columns(frame: pd.DataFrame) -> list[str]:
    """What a listing shows unless told: the run, its experiment when there are several, its
    status, start and duration, then metrics, params and tags (nbtrack's own tags left out),
    each sorted by name. ``end_time`` is left for ``--columns``: the duration says it."""
    names = list(frame.columns)
    several = "experiment" in names and frame["experiment"].nunique() > 1
    first = [c for c in _FIRST if c in names and (c != "experiment" or several)]
    return [
        *first,
        *sorted(c for c in names if c.startswith("metrics.")),
        *sorted(c for c in names if c.startswith("params.")),
        *sorted(c for c in names if c.startswith("tags.") and not c.startswith(HIDDEN_TAGS)),
    ]


def choose_columns(frame: pd.DataFrame, wanted: str | Sequence[str] | None) -> list[str]:
    """The columns ``wanted`` names, in its order: ``"run_name,params.lr,metrics."``.

    An item that is a column's exact name gives that column; any other item gives every
    column whose name starts with it (``metrics`` gives all metrics, ``params.opt`` both
    ``params.optimizer`` and ``params.opt_steps``). None or empty gives ``default_columns``.
    An item that matches nothing raises, naming near misses.
    """
    items = wanted.split(",") if isinstance(wanted, str) else list(wanted or [])
    items = [item.strip() for item in items if item.strip()]
    if not items:
        return default_columns(frame)
    names = [str(c) for c in frame.columns]
    chosen: list[str] = []
    for item in items:
        found = [item] if item in names else [c for c in names if c.startswith(item)]
        if not found:
            raise InvalidValueError(_no_column(item, names))
        chosen += [c for c in found if c not in chosen]
    return chosen


def _no_column(item: str, names: list[str]) -> str:
    near = difflib.get_close_matches(item, names, n=3, cutoff=0.6)
    groups = sorted({c.split(".", 1)[0] + "." for c in names if "." in c})
    plain = [c for c in names if "." not in c]
    return (
        f"no column is named or starts with {item!r}"
        + (f" (did you mean {', '.join(near)}?)" if near else "")
        + f"; columns: {', '.join(plain)}, or names starting with {', '.join(groups)}"
    )


def format_time(value: Any) -> str:
    """A moment in local time, to the second: ``2024-05-01 14:03:12``. Absolute rather than
    "3 min ago", which would be wrong by the time a saved notebook is read again."""
    if is_missing(value):
        return MISSING
    moment = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    if isinstance(moment, dt.datetime):
        moment = moment.astimezone() if moment.tzinfo is not None else moment
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return format_value(moment, MAX_CELL)


def format_seconds(value: Any) -> str:
    """A duration given in seconds (or as a timedelta) with its unit: ``790 ms``, ``2 min 3 s``."""
    if is_missing(value):
        return MISSING
    if hasattr(value, "total_seconds"):
        value = value.total_seconds()
    return format_duration(dt.timedelta(seconds=float(value)))


def format_param(value: Any) -> str:
    """A param as logged: whole numbers without ``.0``, other floats as Python writes them
    (``0.0001``, ``1e-05``), text cut to ``MAX_CELL`` characters."""
    if is_missing(value):
        return MISSING
    if hasattr(value, "item"):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return format_value(value, MAX_CELL)


def cell_text(column: str, value: Any) -> str:
    """One cell of a listing as text; a missing value is ``MISSING`` whatever the column."""
    if column == DURATION:
        return format_seconds(value)
    if is_missing(value):
        return MISSING
    if column == "run_id":
        return str(value)  # whole: it is what `nbtrack runs show` takes
    if isinstance(value, dt.datetime):
        return format_time(value)
    if column.startswith("metrics.") and isinstance(value, (int, float)):
        return format_number(value)
    return format_param(value)


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA; a list or dict value never is."""
    if value is None or isinstance(value, (list, tuple, dict, str)):
        return value is None
    import pandas as pd

    return bool(pd.isna(value))


def right_aligned(frame: pd.DataFrame, column: str) -> bool:
    """Numbers and durations line up on the right; text, times and ids on the left."""
    import pandas as pd

    if column == DURATION:
        return True
    series = frame[column]
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
