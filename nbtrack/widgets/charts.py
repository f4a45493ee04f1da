"""Charts that compare runs: pure functions from DataFrames to Altair charts, no I/O.

Every chart is one ``alt.Chart`` of the same width, carries its data inline (only the
columns it draws, under plain field names), and has a point selection named ``pick`` over
``run_id``, so a widget can swap one chart for another and read the picked runs back.
Columns such as ``params.lr`` are renamed before they reach Vega-Lite, which would read the
dot as nested access. Values Vega cannot draw (missing, NaN, ±inf) are left out and the
subtitle says how many.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Final, Literal

import altair as alt
import pandas as pd

from nbtrack.entities import STATUS_COLOURS
from nbtrack.errors import InvalidValueError

WIDTH: Final = 560
HEIGHT: Final = 280
MAX_ROWS: Final = 5000
KINDS: Final = ("history", "scatter", "bar", "parallel")
MAX_PARALLEL_PARAMS: Final = 8
RUN_SCHEME: Final = "tableau10"

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
        return _no_data(metric, "no run selected")
    rows = histories[histories["key"] == metric]
    if rows.empty:
        return _no_data(metric, "no run selected" if histories.empty else "no run logged it")
    frame = pd.DataFrame(
        {
            "run_id": rows["run_id"].astype(str),
            "run": _run_labels(rows),
            "step": rows["step"],
            "value": rows["value"],
        }
    )[_finite(rows["value"]) & _finite(rows["step"])]
    if frame.empty:
        return _no_data(metric, f"all {_count(len(rows), 'point')} are non-finite")
    skipped = len(rows) - len(frame)
    subtitle = f"{_count(skipped, 'non-finite point')} not drawn" if skipped else ""
    pick = _pick(picked)
    chart: alt.Chart = (
        _chart(frame, metric, subtitle, "points")
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=24))
        .encode(
            x=alt.X("step:Q", title="step", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title="run", scale=alt.Scale(scheme=RUN_SCHEME)),
            detail=alt.Detail("run_id:N"),
            opacity=_highlight(pick),
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
    x_column, y_column = _column(runs, "params", param), _column(runs, "metrics", metric)
    if x_column is None or y_column is None:
        missing = f"params.{param}" if x_column is None else f"metrics.{metric}"
        return _no_data(title, f"no run has {missing}")
    numeric = _is_numeric(runs[x_column])
    has_x = _finite(runs[x_column]) if numeric else runs[x_column].notna()
    frame = _per_run(runs, x=runs[x_column], y=runs[y_column])[has_x & _finite(runs[y_column])]
    if frame.empty:
        return _no_data(title, f"no run has both {param} and {metric}")
    x_type: Literal["quantitative", "nominal"] = "quantitative" if numeric else "nominal"
    x = alt.X("x", type=x_type, title=param)
    subtitle = _runs_skipped(len(runs) - len(frame), f"{param} or {metric}")
    pick = _pick(picked)
    chart: alt.Chart = (
        _chart(frame, title, subtitle, "runs")
        .mark_point(filled=True, size=80)
        .encode(
            x=x.scale(zero=False) if numeric else x,
            y=alt.Y("y:Q", title=metric, scale=alt.Scale(zero=False)),
            color=_status_colour(),
            opacity=_highlight(pick),
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
    column = _column(runs, "metrics", metric)
    if column is None:
        return _no_data(metric, f"no run has metrics.{metric}")
    frame = _per_run(runs, x=runs[column])[_finite(runs[column])]
    if frame.empty:
        return _no_data(metric, f"no run has a finite {metric}")
    subtitle = _runs_skipped(len(runs) - len(frame), metric)
    pick = _pick(picked)
    chart: alt.Chart = (
        _chart(frame, metric, subtitle, "runs")
        .properties(height=max(HEIGHT, 16 * len(frame)))
        .mark_bar()
        .encode(
            x=alt.X("x:Q", title=metric),
            y=alt.Y("run:N", title="run", sort="-x"),
            color=_status_colour(),
            opacity=_highlight(pick),
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
            return _no_data(metric, "choose a param to plot it against")
        return scatter_chart(runs, param, metric, picked)
    if kind == "bar":
        return bar_chart(runs, metric, picked)
    if kind == "parallel":
        return parallel_chart(runs, metric, picked=picked)
    accepted = ", ".join(repr(k) for k in KINDS)
    raise InvalidValueError(f"chart kind {kind!r} is not one of {accepted}")


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
    metric_column = _column(runs, "metrics", metric)
    if metric_column is None:
        return _no_data(title, f"no run has metrics.{metric}")
    keys = (
        [c.removeprefix("params.") for c in runs.columns if c.startswith("params.")]
        if params is None
        else list(params)
    )
    columns = [c for key in keys if (c := _column(runs, "params", key)) is not None]
    dropped = max(0, len(columns) - MAX_PARALLEL_PARAMS)
    columns = columns[:MAX_PARALLEL_PARAMS]
    if not columns:
        return _no_data(title, "no run has a param to draw an axis for")
    chosen = runs[_finite(runs[metric_column])]
    if chosen.empty:
        return _no_data(title, f"no run has a finite {metric}")
    axes: list[tuple[str, pd.Series[Any], pd.Series[Any], bool]] = []
    for column in [*columns, metric_column]:
        position, text, categorical = _axis_positions(chosen[column])
        axes.append((column.split(".", 1)[1], position, text, categorical))
    per_run = _per_run(chosen, colour=chosen[metric_column])
    long = pd.concat(
        [
            per_run.assign(axis=name, order=n, position=position.to_numpy(), value=text.to_numpy())
            for n, (name, position, text, _) in enumerate(axes)
        ],
        ignore_index=True,
    )
    long = long[long["position"].notna()]
    ends = pd.DataFrame(
        [
            {"axis": name, "position": end, "label": label}
            for name, position, text, categorical in axes
            for end, label in _axis_ends(position, text, categorical)
        ]
    )
    order = [name for name, *_ in axes]
    subtitle = f"{_count(dropped, 'param')} more not drawn" if dropped else ""
    # The title goes on the layered chart; the lines' layer only takes the (size-checked) data.
    base = alt.Chart(_chart(long, title, subtitle, "axis points").data)
    x = alt.X("axis:N", title=None, sort=order, axis=alt.Axis(labelAngle=0, domain=False))
    y = alt.Y("position:Q", axis=None, scale=alt.Scale(domain=[-0.06, 1.06]))
    pick = _pick(picked)
    lines = (
        base.mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=y,
            detail=alt.Detail("run_id:N"),
            color=alt.Color("colour:Q", title=metric, scale=alt.Scale(scheme="viridis")),
            opacity=_highlight(pick),
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip("axis:N", title="axis"),
                alt.Tooltip("value:N", title="value"),
                alt.Tooltip("colour:Q", title=metric, format=".6~g"),
            ],
        )
        .add_params(pick)
    )
    ticks = alt.Chart(alt.InlineData(values=[{"axis": name} for name in order]))
    rules = ticks.mark_rule(color="gray", opacity=0.5).encode(x=x)
    labels = alt.Chart(alt.InlineData(values=[_json_row(r) for r in ends.to_dict("records")]))
    top = labels.transform_filter(alt.datum.position >= 0.5).mark_text(dy=-8, fontSize=10)
    bottom = labels.transform_filter(alt.datum.position < 0.5).mark_text(dy=8, fontSize=10)
    label = {"x": x, "y": y, "text": alt.Text("label:N")}
    return alt.LayerChart(
        layer=[rules, lines, top.encode(**label), bottom.encode(**label)],
        title=alt.Title(title, subtitle=subtitle) if subtitle else alt.Title(title),
        width=WIDTH,
        height=HEIGHT,
    )


def _axis_positions(values: pd.Series[Any]) -> tuple[pd.Series[Any], pd.Series[Any], bool]:
    """Each value's place on its axis (0 to 1, missing where it has none), its text, and
    whether the axis is categorical. Positive numbers spanning two orders of magnitude or
    more (learning rates, say) are placed on a log scale, where they spread out."""
    if _is_numeric(values):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64").where(_finite(values))
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


MAX_CATEGORY_LABELS: Final = 6


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


def alias_history_chart(
    history: pd.DataFrame, now: pd.Timestamp | None = None
) -> alt.LayerChart | alt.Chart:
    """Where each alias pointed over time: one step line per alias, a point per move, a cross
    where it was removed, each line drawn on to ``now`` while the alias still points there.

    ``history`` has the columns of ``nbtrack.get_alias_history``: ``alias``, ``version``
    (missing for a removal), ``previous_version``, ``changed_at`` (UTC), ``changed_by``.

    Examples
    --------
    >>> frame = pd.DataFrame({"alias": ["champion"], "version": [1], "previous_version": [None],
    ...                       "changed_at": [pd.Timestamp("2026-01-01", tz="UTC")],
    ...                       "changed_by": ["ada"]})
    >>> alias_history_chart(frame).to_dict()["layer"][0]["mark"]["interpolate"]
    'step-after'
    """
    title = "alias history"
    if history.empty:
        return _no_data(title, "no alias was ever set")
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    moves: list[dict[str, Any]] = []
    for alias, rows in history.sort_values("changed_at").groupby("alias", sort=True):
        # A removal ends a line; the alias's next move starts another (``stint``).
        stint = 0
        row: dict[Hashable, Any]
        for row in rows.to_dict("records"):
            removed = pd.isna(row["version"])
            moves.append(
                {
                    "alias": str(alias),
                    "stint": stint,
                    "changed_at": pd.Timestamp(row["changed_at"]).isoformat(),
                    "version": _json_value(row["previous_version" if removed else "version"]),
                    "move": move_text(row["previous_version"], row["version"]),
                    "changed_by": str(row["changed_by"]),
                    "kind": "removed" if removed else "set",
                }
            )
            stint += removed
        if not pd.isna(rows.iloc[-1]["version"]):
            moves.append({**moves[-1], "changed_at": now.isoformat(), "kind": "now"})
    frame = pd.DataFrame(moves)
    if len(frame) > MAX_ROWS:
        frame = frame.tail(MAX_ROWS)
    versions = sorted({int(v) for v in frame["version"].dropna()})
    data = alt.InlineData(values=[_json_row(row) for row in frame.to_dict("records")])
    base = alt.Chart(data)
    colour = alt.Color("alias:N", title="alias", scale=alt.Scale(scheme=RUN_SCHEME))
    times = pd.to_datetime(frame["changed_at"], utc=True, format="ISO8601")
    # Vega's default time labels turn to milliseconds (".800") when moves are seconds apart.
    short = times.max() - times.min() < pd.Timedelta(days=1)
    x = alt.X(
        "changed_at:T",
        title="changed at (UTC)",
        axis=alt.Axis(format="%H:%M:%S" if short else "%Y-%m-%d", tickCount=6, labelOverlap=True),
    )
    y = alt.Y(
        "version:Q",
        title="version",
        axis=alt.Axis(values=versions, format="d"),
        scale=alt.Scale(domain=[min(versions) - 0.5, max(versions) + 0.5]),
    )
    tooltip = [
        alt.Tooltip("alias:N"),
        alt.Tooltip("move:N", title="move"),
        alt.Tooltip("changed_at:T", title="when", format="%Y-%m-%d %H:%M:%S"),
        alt.Tooltip("changed_by:N", title="by"),
    ]
    # A removal ends its stint's line, at the version it left.
    lines = base.mark_line(interpolate="step-after", strokeWidth=2).encode(
        x=x, y=y, color=colour, detail="stint:N"
    )
    points = (
        base.transform_filter(alt.datum.kind == "set")
        .mark_point(filled=True, size=70)
        .encode(x=x, y=y, color=colour, tooltip=tooltip)
    )
    removals = (
        base.transform_filter(alt.datum.kind == "removed")
        .mark_point(shape="cross", size=90, filled=True)
        .encode(x=x, y=y, color=colour, tooltip=tooltip)
    )
    heading = alt.Title(title, subtitle="where each alias pointed, and when it moved")
    return alt.LayerChart(
        layer=[lines, points, removals], title=heading, width=WIDTH, height=HEIGHT * 2 // 3
    )


def move_text(previous: Any, version: Any) -> str:
    """One alias move in words: set, moved (from → to) or removed."""
    if pd.isna(version):
        return f"removed (was version {int(previous)})"
    if pd.isna(previous):
        return f"set to version {int(version)}"
    return f"version {int(previous)} → {int(version)}"


# -- building blocks ------------------------------------------------------------------------------


def _chart(frame: pd.DataFrame, title: str, subtitle: str, unit: str) -> alt.Chart:
    """A chart over ``frame``'s rows as plain JSON values: no data transformer is involved,
    so the global one (max_rows, writing files) neither applies nor needs changing."""
    if len(frame) > MAX_ROWS:
        raise InvalidValueError(
            f"{len(frame):,} {unit} to draw for {title!r}; a chart takes at most {MAX_ROWS:,}: "
            "downsample first (fewer points per run, or fewer runs)"
        )
    records = [_json_row(row) for row in frame.to_dict("records")]
    heading = alt.Title(title, subtitle=subtitle) if subtitle else alt.Title(title)
    return alt.Chart(alt.InlineData(values=records), title=heading, width=WIDTH, height=HEIGHT)


def _no_data(title: str, reason: str) -> alt.Chart:
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
        .add_params(_pick())
    )
    return chart


def _pick(picked: Sequence[str] = ()) -> alt.Parameter:
    """The run selection every chart carries; ``picked`` runs start out selected, so a pick
    survives the chart being redrawn (or is made from the table)."""
    if not picked:
        return alt.selection_point(name="pick", fields=["run_id"])
    return alt.selection_point(
        name="pick", fields=["run_id"], value=[{"run_id": run_id} for run_id in picked]
    )


def _highlight(pick: alt.Parameter) -> Any:
    return alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.25))


def _status_colour() -> alt.Color:
    return alt.Color("status:N", title="status", scale=_STATUS_SCALE)


def _column(runs: pd.DataFrame, prefix: str, key: str) -> str | None:
    """``prefix.key`` if ``runs`` has that column with a value (``key`` may carry the prefix)."""
    for name in (f"{prefix}.{key}", key if key.startswith(f"{prefix}.") else None):
        if name is not None and name in runs.columns and runs[name].notna().any():
            return name
    return None


def _per_run(runs: pd.DataFrame, **values: pd.Series[Any]) -> pd.DataFrame:
    """``run_id``, a unique ``run`` label and ``status`` per run, then ``values``."""
    status = runs["status"] if "status" in runs.columns else pd.Series("", index=runs.index)
    return pd.DataFrame(
        {
            "run_id": runs["run_id"].astype(str),
            "run": _run_labels(runs),
            "status": status.fillna("").astype(str),
            **values,
        }
    )


def _run_labels(frame: pd.DataFrame) -> pd.Series[str]:
    """The run name, with a short id where runs share it (and the id where it is missing)."""
    ids = frame["run_id"].astype(str)
    names = frame["run_name"] if "run_name" in frame.columns else pd.Series(None, index=frame.index)
    names = names.astype(object).where(names.notna(), ids.str[:8]).astype(str)
    shared = ids.groupby(names).transform("nunique") > 1
    return names.where(~shared, names + " (" + ids.str[:8] + ")")


def _is_numeric(values: pd.Series[Any]) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _finite(values: pd.Series[Any]) -> pd.Series[bool]:
    """Whether each value is a number Vega can draw (missing, NaN, ±inf and text are not)."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return pd.Series([math.isfinite(v) for v in numbers], index=values.index, dtype=bool)


def _json_row(row: Mapping[Hashable, Any]) -> dict[str, Any]:
    return {str(key): _json_value(value) for key, value in row.items()}


def _json_value(value: Any) -> Any:
    """Plain Python for ``json.dumps``: numpy scalars unwrapped, missing values as None."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _runs_skipped(n: int, what: str) -> str:
    return f"{_count(n, 'run')} not drawn ({what} missing or non-finite)" if n else ""
