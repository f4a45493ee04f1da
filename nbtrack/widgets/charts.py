"""Charts that compare runs: pure functions from DataFrames to Altair charts, no I/O.

Every chart is one ``alt.Chart`` of the same width, carries its data inline (only the
columns it draws, under plain field names), and has a point selection named ``pick`` over
``run_id``, so a widget can swap one chart for another and read the picked runs back.
Columns such as ``params.lr`` are renamed before they reach Vega-Lite, which would read the
dot as nested access. Values Vega cannot draw (missing, NaN, ±inf) are left out and the
subtitle says how many, as it says where an axis is not the plain one (a log axis for a param
that spans decades, bars that start near the data).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

import altair as alt
import pandas as pd

from nbtrack.entities import STATUS_COLOURS
from nbtrack.errors import InvalidValueError
from nbtrack.widgets.chart_parts import (
    HEIGHT,
    RUN_SCHEME,
    WIDTH,
    column_of,
    decades,
    finite,
    highlight,
    inline_chart,
    is_numeric,
    json_row,
    near_baseline,
    no_data,
    per_run_values,
    pick_selection,
    plural,
    run_labels,
    short_number,
    wants_log,
)
from nbtrack.widgets.parallel_chart import parallel_chart

KINDS: Final = ("history", "scatter", "bar", "parallel")

_STATUS_SCALE: Final = alt.Scale(
    domain=list(STATUS_COLOURS), range=[f"rgb({rgb})" for rgb in STATUS_COLOURS.values()]
)


def history_chart(histories: pd.DataFrame, metric: str, picked: Sequence[str] = ()) -> alt.Chart:
    """One line per run: ``metric`` over steps. A metric every run logged once (a final
    accuracy) has no history to draw: it is a point per run instead, not a column of dots
    at one step.

    ``histories`` is long: columns ``run_id``, ``run_name``, ``key``, ``step``, ``value``,
    possibly for several keys; only the rows whose key is ``metric`` are drawn.

    Examples
    --------
    >>> frame = pd.DataFrame({"run_id": ["a1", "a1"], "run_name": ["swift"] * 2,
    ...                       "key": ["loss"] * 2, "step": [0, 1], "value": [0.9, 0.4]})
    >>> history_chart(frame, "loss").to_dict()["mark"]["type"]
    'line'
    """
    if not {"run_id", "key", "step", "value"} <= set(histories.columns):
        return no_data(metric, "no run to draw")
    rows = histories[histories["key"] == metric]
    if rows.empty:
        return no_data(metric, f"none of these runs logged {metric}")
    frame = pd.DataFrame(
        {
            "run_id": rows["run_id"].astype(str),
            "run": run_labels(rows),
            "step": rows["step"],
            "value": rows["value"],
        }
    )[finite(rows["value"]) & finite(rows["step"])]
    if frame.empty:
        return no_data(metric, f"all {plural(len(rows), 'point')} are non-finite")
    skipped = len(rows) - len(frame)
    subtitle = f"{plural(skipped, 'non-finite point')} not drawn" if skipped else ""
    pick = pick_selection(picked)
    if frame.groupby("run_id").size().max() == 1:
        return _point_per_run(frame, metric, subtitle, pick)
    chart: alt.Chart = (
        inline_chart(frame, metric, subtitle, "points")
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=24))
        .encode(
            x=alt.X("step:Q", title="step", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title="run", scale=alt.Scale(scheme=RUN_SCHEME)),
            detail=alt.Detail("run_id:N"),
            opacity=highlight(pick),
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip("run_id:N", title="run_id"),
                alt.Tooltip("step:Q", title="step"),
                alt.Tooltip("value:Q", title=metric, format=".6~g"),
            ],
        )
        .add_params(pick)
    )
    return chart


def _point_per_run(
    frame: pd.DataFrame, metric: str, subtitle: str, pick: alt.Parameter
) -> alt.Chart:
    """A metric logged once per run: its value per run, best on top, as dots on an axis
    close to the values (dots, unlike bars, say nothing about zero)."""
    note = "logged once per run: a point each"
    chart: alt.Chart = (
        inline_chart(frame, metric, f"{note} · {subtitle}" if subtitle else note, "points")
        .properties(height=max(HEIGHT // 2, 18 * len(frame)))
        .mark_point(filled=True, size=90)
        .encode(
            x=alt.X("value:Q", title=metric, scale=alt.Scale(zero=False, padding=12)),
            y=alt.Y("run:N", title="run", sort="-x"),
            color=alt.Color("run:N", title="run", scale=alt.Scale(scheme=RUN_SCHEME), legend=None),
            opacity=highlight(pick),
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip("run_id:N", title="run_id"),
                alt.Tooltip("step:Q", title="step"),
                alt.Tooltip("value:Q", title=metric, format=".6~g"),
            ],
        )
        .add_params(pick)
    )
    return chart


def scatter_chart(
    runs: pd.DataFrame,
    param: str,
    metric: str,
    picked: Sequence[str] = (),
    log: bool | None = None,
) -> alt.Chart:
    """One point per run: param ``param`` across, metric ``metric`` up, coloured by status.

    ``runs`` has one row per run with MLflow-style columns (``run_id``, ``run_name``,
    ``status``, ``params.<key>``, ``metrics.<key>``), as ``search_runs`` returns them.
    A numeric param is drawn on a continuous axis, any other as categories. The axis is
    logarithmic when ``log`` is True, or, by default (None), when the param's values are all
    above zero and span two decades or more (C from 0.003 to 10); the subtitle says so.

    Examples
    --------
    >>> runs = pd.DataFrame({"run_id": ["a1", "b2"], "run_name": ["swift", "calm"],
    ...                      "status": ["FINISHED"] * 2, "params.lr": [0.1, 0.01],
    ...                      "metrics.acc": [0.9, 0.8]})
    >>> scatter_chart(runs, "lr", "acc").to_dict()["encoding"]["x"]["type"]
    'quantitative'
    """
    title = f"{metric} by {param}"
    x_column, y_column = column_of(runs, "params", param), column_of(runs, "metrics", metric)
    if x_column is None or y_column is None:
        missing = f"params.{param}" if x_column is None else f"metrics.{metric}"
        return no_data(title, f"no run has {missing}")
    numeric = is_numeric(runs[x_column])
    has_x = finite(runs[x_column]) if numeric else runs[x_column].notna()
    frame = per_run_values(runs, x=runs[x_column], y=runs[y_column])[has_x & finite(runs[y_column])]
    if frame.empty:
        return no_data(title, f"no run has both {param} and {metric}")
    x_type: Literal["quantitative", "nominal"] = "quantitative" if numeric else "nominal"
    x = alt.X("x", type=x_type, title=param)
    log_x = numeric and wants_log(frame["x"], log)
    notes = [
        f"log axis: {param} spans {decades(frame['x']):.1f} decades" if log_x else "",
        _runs_skipped(len(runs) - len(frame), f"{param} or {metric}"),
    ]
    if numeric and log and not log_x:
        notes.insert(0, f"linear axis: {param} has values ≤ 0, which a log axis cannot place")
    subtitle = " · ".join(note for note in notes if note)
    scale = alt.Scale(type="log") if log_x else alt.Scale(zero=False)
    pick = pick_selection(picked)
    chart: alt.Chart = (
        inline_chart(frame, title, subtitle, "runs")
        .mark_point(filled=True, size=80)
        .encode(
            x=x.scale(scale) if numeric else x,
            y=alt.Y("y:Q", title=metric, scale=alt.Scale(zero=False)),
            color=_status_colour(),
            opacity=highlight(pick),
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip("x", type=x_type, title=param),
                alt.Tooltip("y:Q", title=metric, format=".6~g"),
                alt.Tooltip("status:N", title="status"),
            ],
        )
        .add_params(pick)
    )
    return chart


def bar_chart(runs: pd.DataFrame, metric: str, picked: Sequence[str] = ()) -> alt.Chart:
    """One bar per run: its latest ``metric``, largest on top, coloured by status.

    When the values crowd far from zero (AUCs of 0.991 to 0.998) the bars start near them,
    not at zero, so they look as different as they are; the subtitle gives the start.

    Examples
    --------
    >>> runs = pd.DataFrame({"run_id": ["a1", "b2"], "run_name": ["swift", "calm"],
    ...                      "status": ["FINISHED", "FAILED"], "metrics.acc": [0.9, 0.8]})
    >>> bar_chart(runs, "acc").to_dict()["encoding"]["y"]["sort"]
    '-x'
    """
    column = column_of(runs, "metrics", metric)
    if column is None:
        return no_data(metric, f"no run has metrics.{metric}")
    frame = per_run_values(runs, x=runs[column])[finite(runs[column])]
    if frame.empty:
        return no_data(metric, f"no run has a finite {metric}")
    near = near_baseline(frame["x"])
    notes = [
        f"bars start at {short_number(near[0])}, not 0: the values differ by "
        f"{short_number(float(frame['x'].max() - frame['x'].min()))}"
        if near
        else "",
        _runs_skipped(len(runs) - len(frame), metric),
    ]
    subtitle = " · ".join(note for note in notes if note)
    x = alt.X("x:Q", title=metric)
    if near is not None:
        x = x.scale(domain=sorted(near), nice=False, zero=False)
    pick = pick_selection(picked)
    base = (
        inline_chart(frame, metric, subtitle, "runs")
        .properties(height=max(HEIGHT, 16 * len(frame)))
        .mark_bar(clip=True)
    )
    chart: alt.Chart = (
        (base if near is None else base.encode(x2=alt.X2(datum=near[0])))
        .encode(
            x=x,
            y=alt.Y("run:N", title="run", sort="-x"),
            color=_status_colour(),
            opacity=highlight(pick),
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip("x:Q", title=metric, format=".6~g"),
                alt.Tooltip("status:N", title="status"),
            ],
        )
        .add_params(pick)
    )
    return chart


def chart_for(
    kind: str,
    runs: pd.DataFrame,
    histories: pd.DataFrame,
    metric: str,
    param: str | None,
    picked: Sequence[str] = (),
    log: bool | None = None,
) -> alt.Chart | alt.LayerChart:
    """The chart of ``kind`` (``"history"``, ``"scatter"``, ``"bar"`` or ``"parallel"``) for
    ``metric``, with the ``picked`` runs selected; ``log`` chooses the params' axes (True:
    log, False: linear, None: log where a param spans decades).

    Examples
    --------
    >>> chart_for("pie", pd.DataFrame(), pd.DataFrame(), "acc", None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbtrack.errors.InvalidValueError: chart kind 'pie' is not one of 'history', ..., 'parallel'
    """
    if kind == "history":
        return history_chart(histories, metric, picked)
    if kind == "scatter":
        if param is None:
            return no_data(metric, "choose a param to plot it against")
        return scatter_chart(runs, param, metric, picked, log=log)
    if kind == "bar":
        return bar_chart(runs, metric, picked)
    if kind == "parallel":
        return parallel_chart(runs, metric, picked=picked, log=log)
    accepted = ", ".join(repr(k) for k in KINDS)
    raise InvalidValueError(f"chart kind {kind!r} is not one of {accepted}")


def live_chart(points: pd.DataFrame) -> alt.FacetChart | alt.Chart:
    """What ``%%track --live`` drew, as Altair: a row per metric, ``value`` over ``step``,
    each with its own y scale. ``points`` is long: ``metric``, ``step``, ``value``.

    Examples
    --------
    >>> frame = pd.DataFrame({"metric": ["loss"] * 2, "step": [0, 1], "value": [0.9, 0.4]})
    >>> live_chart(frame).to_dict()["facet"]["row"]["field"]
    'metric'
    """
    if points.empty:
        return no_data("metrics", "waiting for the first metric…")
    rows = [json_row(row) for row in points.to_dict("records")]
    base = (
        alt.Chart(alt.Data(values=rows))
        .mark_line(point=len(rows) <= 60)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            tooltip=["metric:N", "step:Q", "value:Q"],
        )
        .properties(width=WIDTH, height=160)
    )
    return base.facet(row=alt.Row("metric:N", title=None)).resolve_scale(y="independent")


def _status_colour() -> alt.Color:
    return alt.Color("status:N", title="status", scale=_STATUS_SCALE)


def _runs_skipped(n: int, what: str) -> str:
    return f"{plural(n, 'run')} not drawn ({what} missing or non-finite)" if n else ""
