"""What every chart of runs is built from: its size, its data inline as plain JSON values, the
``pick`` selection over ``run_id``, and the chart that says why there is nothing to draw.

Charts share these so a widget can swap one chart for another and read the picked runs back.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Final

import altair as alt
import pandas as pd

from nbtrack.errors import InvalidValueError

WIDTH: Final = 560
HEIGHT: Final = 280
MAX_ROWS: Final = 5000
RUN_SCHEME: Final = "tableau10"
# How JupyterChart draws: SVG keeps text crisp at any zoom, selectable and readable by screen
# readers (and by tests); the charts here hold at most MAX_ROWS marks, well within its reach.
EMBED_OPTIONS: Final = {"renderer": "svg"}
# A numeric param whose largest value is this many times its smallest (two decades: C from
# 0.01 to 1) is drawn on a log axis, where a grid of 0.003, 0.03, 0.3, 3 spreads out evenly.
LOG_RATIO: Final = 100.0
# Bars start near the data (not at zero) when the values differ by less than this share of
# their size: AUCs of 0.991 and 0.998 drawn from zero are two bars of the same length.
NEAR_SPREAD: Final = 0.25


def inline_chart(frame: pd.DataFrame, title: str, subtitle: str, unit: str) -> alt.Chart:
    """A chart over ``frame``'s rows as plain JSON values: no data transformer is involved,
    so the global one (max_rows, writing files) neither applies nor needs changing."""
    if len(frame) > MAX_ROWS:
        raise InvalidValueError(
            f"{len(frame):,} {unit} to draw for {title!r}; a chart takes at most {MAX_ROWS:,}: "
            "downsample first (fewer points per run, or fewer runs)"
        )
    records = [json_row(row) for row in frame.to_dict("records")]
    heading = alt.Title(title, subtitle=subtitle) if subtitle else alt.Title(title)
    return alt.Chart(alt.InlineData(values=records), title=heading, width=WIDTH, height=HEIGHT)


def no_data(title: str, reason: str) -> alt.Chart:
    """A chart of the usual size, titled as the chart would be, that says once, in its
    middle, why there is nothing to draw (the view keeps its place as charts are swapped)."""
    chart: alt.Chart = (
        alt.Chart(
            alt.InlineData(values=[{"text": reason}]),
            title=alt.Title(title),
            width=WIDTH,
            height=HEIGHT,
            view=alt.ViewBackground(stroke=None),
        )
        .mark_text(fontSize=14, color="gray")
        .encode(text=alt.Text("text:N"), x=alt.value(WIDTH / 2), y=alt.value(HEIGHT / 2))
        .add_params(pick_selection())
    )
    return chart


def pick_selection(picked: Sequence[str] = ()) -> alt.Parameter:
    """The run selection every chart carries; ``picked`` runs start out selected, so a pick
    survives the chart being redrawn (or is made from the table)."""
    if not picked:
        return alt.selection_point(name="pick", fields=["run_id"])
    return alt.selection_point(
        name="pick", fields=["run_id"], value=[{"run_id": run_id} for run_id in picked]
    )


def highlight(pick: alt.Parameter) -> Any:
    return alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.25))


def column_of(runs: pd.DataFrame, prefix: str, key: str) -> str | None:
    """``prefix.key`` if ``runs`` has that column with a value (``key`` may carry the prefix)."""
    for name in (f"{prefix}.{key}", key if key.startswith(f"{prefix}.") else None):
        if name is not None and name in runs.columns and runs[name].notna().any():
            return name
    return None


def per_run_values(runs: pd.DataFrame, **values: pd.Series[Any]) -> pd.DataFrame:
    """``run_id``, a unique ``run`` label and ``status`` per run, then ``values``."""
    status = runs["status"] if "status" in runs.columns else pd.Series("", index=runs.index)
    return pd.DataFrame(
        {
            "run_id": runs["run_id"].astype(str),
            "run": run_labels(runs),
            "status": status.fillna("").astype(str),
            **values,
        }
    )


def run_labels(frame: pd.DataFrame) -> pd.Series[str]:
    """The run name, with a short id where runs share it (and the id where it is missing)."""
    ids = frame["run_id"].astype(str)
    names = frame["run_name"] if "run_name" in frame.columns else pd.Series(None, index=frame.index)
    names = names.astype(object).where(names.notna(), ids.str[:8]).astype(str)
    shared = ids.groupby(names).transform("nunique") > 1
    return names.where(~shared, names + " (" + ids.str[:8] + ")")


def is_numeric(values: pd.Series[Any]) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def finite(values: pd.Series[Any]) -> pd.Series[bool]:
    """Whether each value is a number Vega can draw (missing, NaN, ±inf and text are not)."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return pd.Series([math.isfinite(v) for v in numbers], index=values.index, dtype=bool)


def json_row(row: Mapping[Hashable, Any]) -> dict[str, Any]:
    return {str(key): json_value(value) for key, value in row.items()}


def json_value(value: Any) -> Any:
    """Plain Python for ``json.dumps``: numpy scalars unwrapped, missing values as None."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def positive_numbers(values: pd.Series[Any]) -> pd.Series[float]:
    """The finite values above zero, as floats (what a log axis can place)."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")[finite(values)]
    return numbers[numbers > 0]


def decades(values: pd.Series[Any]) -> float:
    """How many powers of ten the positive values span (0 when fewer than two)."""
    numbers = positive_numbers(values)
    if len(numbers) < 2:
        return 0.0
    return math.log10(float(numbers.max()) / float(numbers.min()))


def wants_log(values: pd.Series[Any], log: bool | None) -> bool:
    """Whether to draw numeric ``values`` on a log axis: as asked (``log``), or by themselves
    (None) when they are all above zero and span ``LOG_RATIO`` or more. Never for values a log
    axis cannot place (zero or below)."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")[finite(values)]
    if numbers.empty or (numbers <= 0).any():
        return False
    return log if log is not None else decades(values) >= math.log10(LOG_RATIO)


def near_baseline(values: pd.Series[Any]) -> tuple[float, float] | None:
    """Where bars should start and the axis end, close to the data, for values that crowd far
    from zero (None when bars from zero tell them apart). The start leaves room, so the bar
    of the value nearest to it is still a bar."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")[finite(values)]
    if numbers.empty:
        return None
    low, high = float(numbers.min()), float(numbers.max())
    size = max(abs(low), abs(high))
    if low == high or low <= 0 <= high or (high - low) >= NEAR_SPREAD * size:
        return None
    room = (high - low) * 0.25
    if low > 0:
        start, end = low - room, high + room * 0.2
        return None if start <= 0 else (start, end)
    start, end = high + room, low - room * 0.2  # all below zero: bars grow to the left
    return None if start >= 0 else (start, end)


def short_number(value: float) -> str:
    """A value for an axis label or a subtitle: at most four significant digits."""
    return f"{value:.4g}"
