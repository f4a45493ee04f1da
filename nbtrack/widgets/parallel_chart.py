"""Parallel coordinates: one line per run through an axis per param and a last axis for the
metric, each axis scaled to its own range. A pure function from runs to an Altair chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import altair as alt
import pandas as pd

from nbtrack.widgets.chart_parts import (
    HEIGHT,
    WIDTH,
    column_of,
    finite,
    highlight,
    inline_chart,
    is_numeric,
    json_row,
    no_data,
    per_run_values,
    pick_selection,
    plural,
)

MAX_PARALLEL_PARAMS: Final = 8
MAX_CATEGORY_LABELS: Final = 6


def parallel_chart(
    runs: pd.DataFrame,
    metric: str,
    params: Sequence[str] | None = None,
    picked: Sequence[str] = (),
) -> alt.LayerChart | alt.Chart:
    """Parallel coordinates: one line per run through an axis per param and a last axis for
    ``metric``, coloured by ``metric``. Each axis is scaled to its own range (its lowest and
    highest value are written at its ends); a param of text is spread over its sorted values.

    ``params`` are keys (``"lr"``); by default every param some run has, at most
    ``MAX_PARALLEL_PARAMS`` of them.

    Examples
    --------
    >>> runs = pd.DataFrame({"run_id": ["a1", "b2"], "run_name": ["swift", "calm"],
    ...                      "status": ["FINISHED"] * 2, "params.lr": [0.1, 0.01],
    ...                      "metrics.acc": [0.9, 0.8]})
    >>> [layer["mark"]["type"] for layer in parallel_chart(runs, "acc").to_dict()["layer"]]
    ['rule', 'line', 'text', 'text']
    """
    title = f"{metric} across params"
    metric_column = column_of(runs, "metrics", metric)
    if metric_column is None:
        return no_data(title, f"no run has metrics.{metric}")
    columns, dropped = _param_columns(runs, params)
    if not columns:
        return no_data(title, "no run has a param to draw an axis for")
    chosen = runs[finite(runs[metric_column])]
    if chosen.empty:
        return no_data(title, f"no run has a finite {metric}")
    axes = [
        _Axis(c.split(".", 1)[1], *_axis_positions(chosen[c])) for c in [*columns, metric_column]
    ]
    subtitle = f"{plural(dropped, 'param')} more not drawn" if dropped else ""
    # The title goes on the layered chart; the lines' layer only takes the (size-checked) data.
    points = inline_chart(_axis_points(chosen, metric_column, axes), title, subtitle, "axis points")
    order = [axis.name for axis in axes]
    x = alt.X("axis:N", title=None, sort=order, axis=alt.Axis(labelAngle=0, domain=False))
    y = alt.Y("position:Q", axis=None, scale=alt.Scale(domain=[-0.06, 1.06]))
    lines = _lines(alt.Chart(points.data), x, y, metric, picked)
    ticks = alt.Chart(alt.InlineData(values=[{"axis": name} for name in order]))
    rules = ticks.mark_rule(color="gray", opacity=0.5).encode(x=x)
    return alt.LayerChart(
        layer=[rules, lines, *_end_labels(axes, x, y)],
        title=alt.Title(title, subtitle=subtitle) if subtitle else alt.Title(title),
        width=WIDTH,
        height=HEIGHT,
    )


class _Axis(NamedTuple):
    """One axis: its name, each run's place on it (0 to 1, missing where it has none), each
    run's value as text, and whether its values are categories."""

    name: str
    position: pd.Series[Any]
    text: pd.Series[Any]
    categorical: bool


def _param_columns(runs: pd.DataFrame, params: Sequence[str] | None) -> tuple[list[str], int]:
    """The columns of the params to draw an axis for (those some run has, at most
    ``MAX_PARALLEL_PARAMS``), and how many more were left out."""
    keys = (
        [c.removeprefix("params.") for c in runs.columns if c.startswith("params.")]
        if params is None
        else list(params)
    )
    columns = [c for key in keys if (c := column_of(runs, "params", key)) is not None]
    dropped = max(0, len(columns) - MAX_PARALLEL_PARAMS)
    return columns[:MAX_PARALLEL_PARAMS], dropped


def _axis_points(chosen: pd.DataFrame, metric_column: str, axes: list[_Axis]) -> pd.DataFrame:
    """Where each run's line crosses each axis it has a value on (one row per crossing)."""
    per_run = per_run_values(chosen, colour=chosen[metric_column])
    long = pd.concat(
        [
            per_run.assign(axis=name, order=n, position=position.to_numpy(), value=text.to_numpy())
            for n, (name, position, text, _) in enumerate(axes)
        ],
        ignore_index=True,
    )
    return long[long["position"].notna()]


def _lines(base: alt.Chart, x: alt.X, y: alt.Y, metric: str, picked: Sequence[str]) -> alt.Chart:
    """One line per run, coloured by ``metric``, the ``picked`` runs highlighted."""
    pick = pick_selection(picked)
    lines: alt.Chart = (
        base.mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=y,
            detail=alt.Detail("run_id:N"),
            color=alt.Color("colour:Q", title=metric, scale=alt.Scale(scheme="viridis")),
            opacity=highlight(pick),
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip("axis:N", title="axis"),
                alt.Tooltip("value:N", title="value"),
                alt.Tooltip("colour:Q", title=metric, format=".6~g"),
            ],
        )
        .add_params(pick)
    )
    return lines


def _end_labels(axes: list[_Axis], x: alt.X, y: alt.Y) -> list[alt.Chart]:
    """The values written along each axis: above its upper half's, below its lower half's."""
    ends = pd.DataFrame(
        [
            {"axis": name, "position": end, "label": label}
            for name, position, text, categorical in axes
            for end, label in _axis_ends(position, text, categorical)
        ]
    )
    labels = alt.Chart(alt.InlineData(values=[json_row(r) for r in ends.to_dict("records")]))
    top = labels.transform_filter(alt.datum.position >= 0.5).mark_text(dy=-8, fontSize=10)
    bottom = labels.transform_filter(alt.datum.position < 0.5).mark_text(dy=8, fontSize=10)
    label = {"x": x, "y": y, "text": alt.Text("label:N")}
    return [top.encode(**label), bottom.encode(**label)]


def _axis_positions(values: pd.Series[Any]) -> tuple[pd.Series[Any], pd.Series[Any], bool]:
    """Each value's place on its axis (0 to 1, missing where it has none), its text, and
    whether the axis is categorical. Positive numbers spanning two orders of magnitude or
    more (learning rates, say) are placed on a log scale, where they spread out."""
    if is_numeric(values):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64").where(finite(values))
        text = numbers.map(lambda v: "" if pd.isna(v) else f"{v:.6g}")
        low, high = numbers.min(), numbers.max()
        if low > 0 and high / low >= 100:
            numbers, low, high = numbers.map(math.log10), math.log10(low), math.log10(high)
        span = high - low
        position = (numbers - low) / span if span > 0 else numbers * 0 + 0.5
        return position, text, False
    text = values.map(lambda v: None if v is None or v is pd.NA else str(v))
    categories = sorted({t for t in text if t is not None})
    place = {c: (n / (len(categories) - 1) if len(categories) > 1 else 0.5)
             for n, c in enumerate(categories)}  # fmt: skip
    return text.map(lambda t: place.get(t) if t is not None else None), text.fillna(""), True


def _axis_ends(
    position: pd.Series[Any], text: pd.Series[Any], categorical: bool
) -> list[tuple[float, str]]:
    """An axis's labels: its lowest and highest value, or every category when they are few."""
    known = pd.DataFrame({"position": position, "text": text}).dropna()
    known = known.drop_duplicates("position").sort_values("position")
    if known.empty:
        return []
    if categorical and len(known) <= MAX_CATEGORY_LABELS:
        return [(float(p), str(t)) for p, t in zip(known["position"], known["text"], strict=True)]
    first, last = known.iloc[0], known.iloc[-1]
    ends = [(float(first["position"]), str(first["text"]))]
    if last["position"] != first["position"]:
        ends.append((float(last["position"]), str(last["text"])))
    return ends
