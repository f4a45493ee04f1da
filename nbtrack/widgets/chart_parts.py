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
    """A chart of the usual size that says why there is nothing to draw."""
    message = f"no data for {title}"
    chart: alt.Chart = (
        alt.Chart(
            alt.InlineData(values=[{"text": message}]),
            title=alt.Title(message, subtitle=reason),
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
