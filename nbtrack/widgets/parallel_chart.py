"""Parallel coordinates: one line per run through an axis per param and a last axis for the
metric, each axis scaled to its own range. A pure function from runs to an Altair chart.

Sweeps are what this chart is for, so it takes their shapes as they come: a param of text (a
solver, a criterion) is an axis of categories; a param that spans decades (C from 0.003 to 10)
is a log axis; and a run without a param (a random forest has no C) crosses that axis at its
own marked place under it, "not set", instead of vanishing from it or reading as "nan". Params
that the same runs have (one model family's) sit side by side, so two families read as two
groups of axes with a clear drop between them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import altair as alt
import numpy as np
import pandas as pd

from nbtrack.widgets.chart_parts import (
    HEIGHT,
    WIDTH,
    column_of,
    finite,
    highlight,
    inline_chart,
    is_numeric,
    no_data,
    per_run_values,
    pick_selection,
    plural,
    wants_log,
)

MAX_PARALLEL_PARAMS: Final = 8
MAX_CATEGORY_LABELS: Final = 6
# Where a run without the param crosses its axis: below the axis, which runs from 0 to 1.
MISSING_AT: Final = -0.18
MISSING_LABEL: Final = "not set"
# Labels closer than this to one already on the axis are left out (they would overlap).
MIN_LABEL_GAP: Final = 0.09


class _Axis(NamedTuple):
    """One axis: its name, each run's place on it (0 to 1, ``MISSING_AT`` where it has no
    value), each run's value as text, and the labels written along it (place, text)."""

    name: str
    position: pd.Series[Any]
    text: pd.Series[Any]
    labels: list[tuple[float, str]]
    log: bool


def parallel_chart(
    runs: pd.DataFrame,
    metric: str,
    params: Sequence[str] | None = None,
    picked: Sequence[str] = (),
    log: bool | None = None,
) -> alt.LayerChart | alt.Chart:
    """Parallel coordinates: one line per run through an axis per param and a last axis for
    ``metric``, coloured by ``metric``. Each axis is scaled to its own range; a param of text
    is spread over its sorted values; a run without a param crosses its axis at the place
    marked "not set" under it.

    ``params`` are keys (``"lr"``); by default every param some run has, at most
    ``MAX_PARALLEL_PARAMS`` of them, those the same runs have side by side. ``log``: True
    puts every numeric param with values above zero on a log axis, False none, None those
    that span two decades or more.

    Examples
    --------
    >>> runs = pd.DataFrame({"run_id": ["a1", "b2"], "run_name": ["swift", "calm"],
    ...                      "status": ["FINISHED"] * 2, "params.lr": [0.1, 0.01],
    ...                      "metrics.acc": [0.9, 0.8]})
    >>> [layer["mark"]["type"] for layer in parallel_chart(runs, "acc").to_dict()["layer"]]
    ['rule', 'line', 'text', 'text', 'text', 'text', 'point']
    """
    title = f"{metric} across params"
    metric_column = column_of(runs, "metrics", metric)
    if metric_column is None:
        return no_data(title, f"no run has metrics.{metric}")
    chosen = runs[finite(runs[metric_column])]
    if chosen.empty:
        return no_data(title, f"no run has a finite {metric}")
    columns, dropped = _param_columns(chosen, params)
    if not columns:
        return no_data(title, "no run has a param to draw an axis for")
    axes = [_param_axis(c.split(".", 1)[1], chosen[c], log) for c in columns]
    axes.append(_numeric_axis(metric, chosen[metric_column], log=False))
    subtitle = _subtitle(axes, dropped, len(runs) - len(chosen), metric)
    # The title goes on the layered chart; the lines' layer only takes the (size-checked) data.
    points = inline_chart(_axis_points(chosen, metric_column, axes), title, subtitle, "points")
    missing = any((axis.position == MISSING_AT).any() for axis in axes)
    order = [axis.name for axis in axes]
    x = alt.X("axis:N", title=None, sort=order, axis=alt.Axis(labelAngle=0, domain=False))
    low = MISSING_AT - 0.08 if missing else -0.06
    y = alt.Y("position:Q", axis=None, scale=alt.Scale(domain=[low, 1.06]))
    ticks = alt.Chart(alt.InlineData(values=[{"axis": name} for name in order]))
    # Each axis line runs from its lowest value to its highest; "not set" sits apart below.
    rules = ticks.mark_rule(color="gray", opacity=0.5).encode(
        x=x, y=alt.Y(datum=0.0, type="quantitative", axis=None), y2=alt.Y2(datum=1.0)
    )
    return alt.LayerChart(
        layer=[
            rules,
            _lines(alt.Chart(points.data), x, y, metric, picked),
            *_labels(axes, x, y),
        ],
        title=alt.Title(title, subtitle=subtitle) if subtitle else alt.Title(title),
        width=WIDTH,
        height=HEIGHT,
    )


def _param_columns(runs: pd.DataFrame, params: Sequence[str] | None) -> tuple[list[str], int]:
    """The columns of the params to draw an axis for (those some run has, at most
    ``MAX_PARALLEL_PARAMS``), and how many more were left out. Params every run has come
    first, then each group of params the same runs have (a model family's), largest first."""
    keys = (
        [c.removeprefix("params.") for c in runs.columns if c.startswith("params.")]
        if params is None
        else list(params)
    )
    columns = [c for key in keys if (c := column_of(runs, "params", key)) is not None]
    having = {c: tuple(np.flatnonzero(runs[c].notna().to_numpy())) for c in columns}
    columns.sort(key=lambda c: (-len(having[c]), having[c], c.lower()))
    dropped = max(0, len(columns) - MAX_PARALLEL_PARAMS)
    return columns[:MAX_PARALLEL_PARAMS], dropped


def _param_axis(name: str, values: pd.Series[Any], log: bool | None) -> _Axis:
    if is_numeric(values):
        return _numeric_axis(name, values, log)
    return _category_axis(name, values)


def _numeric_axis(name: str, values: pd.Series[Any], log: bool | None) -> _Axis:
    """Numbers placed between their lowest (0) and highest (1) value, on a log scale when
    ``wants_log``; labelled at both ends, and at each power of ten between on a log axis."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").where(finite(values))
    on_log = wants_log(numbers, log)
    scaled = numbers.map(math.log10) if on_log else numbers
    low, high = scaled.min(), scaled.max()
    span = high - low

    def place(value: float) -> float:
        return float((value - low) / span) if span > 0 else 0.5

    position = scaled.map(lambda v: MISSING_AT if pd.isna(v) else place(v))
    text = numbers.map(lambda v: MISSING_LABEL if pd.isna(v) else f"{v:.6g}")
    labels: list[tuple[float, str]] = []
    if not pd.isna(low):
        labels = [(place(low), f"{numbers.min():.4g}"), (place(high), f"{numbers.max():.4g}")]
    if on_log and span > 0:
        powers = range(math.ceil(low), math.floor(high) + 1)
        labels += [(place(power), f"{10.0**power:g}") for power in powers]
    return _Axis(name, position, text, _spaced(labels), on_log)


def _category_axis(name: str, values: pd.Series[Any]) -> _Axis:
    """Text (and yes/no) values spread evenly over the axis, in their natural order: numbers
    by value ("5" before "10"), then the rest alphabetically."""
    # A list, not ``map``: a text column maps None back to NaN.
    text = pd.Series([_text(v) for v in values], index=values.index, dtype=object)
    categories = sorted({t for t in text if t is not None}, key=_natural)
    step = 1 / (len(categories) - 1) if len(categories) > 1 else 0.0
    place = {c: (n * step if len(categories) > 1 else 0.5) for n, c in enumerate(categories)}
    position = text.map(lambda t: MISSING_AT if t is None else place[t])
    shown = (
        categories if len(categories) <= MAX_CATEGORY_LABELS else [categories[0], categories[-1]]
    )
    labels = [(place[c], c) for c in shown]
    shown_text = text.map(lambda t: MISSING_LABEL if t is None else t)
    return _Axis(name, position, shown_text, labels, False)


def _text(value: Any) -> str | None:
    """A param value as the category it is on its axis; None when the run has none (pandas
    gives NaN for a missing text value: it must not become a category called "nan")."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _natural(text: str) -> tuple[int, float, str]:
    try:
        number = float(text)
    except ValueError:
        return (1, 0.0, text.lower())
    return (0, number, text) if math.isfinite(number) else (1, 0.0, text.lower())


def _spaced(labels: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """The labels in order of importance (ends first), without the ones that would overlap."""
    kept: list[tuple[float, str]] = []
    for place, text in labels:
        if all(abs(place - other) >= MIN_LABEL_GAP for other, _ in kept):
            kept.append((place, text))
    return kept


def _subtitle(axes: list[_Axis], dropped: int, skipped: int, metric: str) -> str:
    logs = [axis.name for axis in axes if axis.log]
    notes = [
        f"log {'axes' if len(logs) > 1 else 'axis'}: {', '.join(logs)}" if logs else "",
        f"{plural(dropped, 'param')} more not drawn" if dropped else "",
        f"{plural(skipped, 'run')} without a finite {metric} not drawn" if skipped else "",
    ]
    return " · ".join(note for note in notes if note)


def _axis_points(chosen: pd.DataFrame, metric_column: str, axes: list[_Axis]) -> pd.DataFrame:
    """Where each run's line crosses each axis (one row per crossing)."""
    per_run = per_run_values(chosen, colour=chosen[metric_column])
    return pd.concat(
        [
            per_run.assign(
                axis=axis.name,
                order=n,
                position=axis.position.to_numpy(),
                value=axis.text.to_numpy(),
            )
            for n, axis in enumerate(axes)
        ],
        ignore_index=True,
    )


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


def _labels(axes: list[_Axis], x: alt.X, y: alt.Y) -> list[alt.Chart]:
    """The values written along each axis: the top one above it, the bottom one below it,
    the others beside it; and "not set" under an axis some runs have no value on."""
    rows: list[dict[str, Any]] = []
    for axis in axes:
        for place, label in axis.labels:
            side = "top" if place == 1.0 else "bottom" if place == 0.0 else "side"
            rows.append({"axis": axis.name, "position": place, "label": label, "side": side})
        if (axis.position == MISSING_AT).any():
            rows.append(
                {"axis": axis.name, "position": MISSING_AT, "label": MISSING_LABEL, "side": "gap"}
            )
    labels = alt.Chart(alt.InlineData(values=rows))
    text = {"x": x, "y": y, "text": alt.Text("label:N")}
    top = labels.transform_filter(alt.datum.side == "top").mark_text(dy=-8, fontSize=10)
    bottom = labels.transform_filter(alt.datum.side == "bottom").mark_text(dy=9, fontSize=10)
    side = labels.transform_filter(alt.datum.side == "side").mark_text(
        align="left", dx=5, fontSize=10
    )
    gaps = labels.transform_filter(alt.datum.side == "gap")
    gap = gaps.mark_text(dy=12, fontSize=10, fontStyle="italic", color="gray")
    spot = gaps.mark_point(shape="square", size=36, filled=True, color="gray")
    return [
        top.encode(**text),
        bottom.encode(**text),
        side.encode(**text),
        gap.encode(**text),
        spot.encode(x=x, y=y),
    ]
