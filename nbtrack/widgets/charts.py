"""Charts that compare runs: pure functions from DataFrames to Altair charts, no I/O.

Every chart is one ``alt.Chart`` of the same width, carries its data inline (only the
columns it draws, under plain field names), and has a point selection named ``pick`` over
``run_id``, so a widget can swap one chart for another and read the picked runs back.
Columns such as ``params.lr`` are renamed before they reach Vega-Lite, which would read the
dot as nested access. Values Vega cannot draw (missing, NaN, ±inf) are left out and the
subtitle says how many.
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
    column_of,
    finite,
    highlight,
    inline_chart,
    is_numeric,
    no_data,
    per_run_values,
    pick_selection,
    plural,
    run_labels,
)
from nbtrack.widgets.parallel_chart import parallel_chart

KINDS: Final = ("history", "scatter", "bar", "parallel")

_STATUS_SCALE: Final = alt.Scale(
    domain=list(STATUS_COLOURS), range=[f"rgb({rgb})" for rgb in STATUS_COLOURS.values()]
)


def history_chart(histories: pd.DataFrame, metric: str, picked: Sequence[str] = ()) -> alt.Chart:
    """One line per run: ``metric`` over steps.

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
        return no_data(metric, "no run selected")
    rows = histories[histories["key"] == metric]
    if rows.empty:
        return no_data(metric, "no run selected" if histories.empty else "no run logged it")
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


def scatter_chart(
    runs: pd.DataFrame, param: str, metric: str, picked: Sequence[str] = ()
) -> alt.Chart:
    """One point per run: param ``param`` across, metric ``metric`` up, coloured by status.

    ``runs`` has one row per run with MLflow-style columns (``run_id``, ``run_name``,
    ``status``, ``params.<key>``, ``metrics.<key>``), as ``search_runs`` returns them.
    A numeric param is drawn on a continuous axis, any other as categories.

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
    subtitle = _runs_skipped(len(runs) - len(frame), f"{param} or {metric}")
    pick = pick_selection(picked)
    chart: alt.Chart = (
        inline_chart(frame, title, subtitle, "runs")
        .mark_point(filled=True, size=80)
        .encode(
            x=x.scale(zero=False) if numeric else x,
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
    subtitle = _runs_skipped(len(runs) - len(frame), metric)
    pick = pick_selection(picked)
    chart: alt.Chart = (
        inline_chart(frame, metric, subtitle, "runs")
        .properties(height=max(HEIGHT, 16 * len(frame)))
        .mark_bar()
        .encode(
            x=alt.X("x:Q", title=metric),
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
) -> alt.Chart | alt.LayerChart:
    """The chart of ``kind`` (``"history"``, ``"scatter"``, ``"bar"`` or ``"parallel"``) for
    ``metric``, with the ``picked`` runs selected.

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
        return scatter_chart(runs, param, metric, picked)
    if kind == "bar":
        return bar_chart(runs, metric, picked)
    if kind == "parallel":
        return parallel_chart(runs, metric, picked=picked)
    accepted = ", ".join(repr(k) for k in KINDS)
    raise InvalidValueError(f"chart kind {kind!r} is not one of {accepted}")


def _status_colour() -> alt.Color:
    return alt.Color("status:N", title="status", scale=_STATUS_SCALE)


def _runs_skipped(n: int, what: str) -> str:
    return f"{plural(n, 'run')} not drawn ({what} missing or non-finite)" if n else ""
