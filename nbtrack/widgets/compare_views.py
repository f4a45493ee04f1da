"""The views under ``compare()``'s run table: one chart (history, scatter, bar or parallel
coordinates, with their choices of metric, param, runs and axis scale) or the diff of two runs.
They are drawn from the table's state and hold no runs of their own.

Curves and bars are drawn for the selected runs; charts of params against a metric (scatter,
parallel coordinates) for every run that matches, unless the user asks for the selected ones:
a sweep is read from all its runs, and a selection of five would hide most of a grid.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import altair as alt
import ipywidgets  # type: ignore[import-untyped]
import pandas as pd

from nbtrack.errors import InvalidValueError, NbtrackError
from nbtrack.tracking.diff import diff as run_diff
from nbtrack.tracking.fluent import get_run as get_run_by_id
from nbtrack.tracking.run_table import RunTableState
from nbtrack.tracking.search import metric_histories
from nbtrack.widgets import artifact_view, chart_parts, charts
from nbtrack.widgets.live import enable_offline_charts

MAX_POINTS_PER_RUN = 1000
DIFF = "diff"
# The views under the table: the charts, and the diff of two runs.
VIEWS = (*charts.KINDS, DIFF)
# The charts of params against a metric, which draw every matching run by default.
SWEEP_CHARTS = ("scatter", "parallel")
ALL, SELECTED = "all", "selected"
# The params' axis scale: chosen per param ("auto": log where it spans decades), or forced.
SCALES = {"auto": None, "linear": False, "log": True}


class CompareViews:
    """The view buttons and their choices, the chart and the diff, as parts for the widget
    to lay out. ``quiet`` marks changes made by Python itself, which the widget's change
    handlers must not act on; ``on_pick`` receives the chart's ``pick`` selection changes.
    """

    def __init__(
        self,
        state: RunTableState,
        quiet: Callable[[], AbstractContextManager[None]],
        on_pick: Callable[[dict[str, Any]], None],
    ) -> None:
        self._quiet = quiet
        self._on_pick = on_pick
        self._histories: dict[tuple[tuple[str, ...], str, int], pd.DataFrame] = {}
        self.diff_pair: tuple[str, str] | None = None
        self.kind: str = charts.KINDS[0]
        self.metric: str | None = None
        self.param: str | None = None
        self.runs: str = ALL
        self.scale: str = "auto"
        # What the chart shows now: the runs drawn and in words (for the status line).
        self.charted: list[str] = []
        self.charted_text: str | None = None
        self.kind_box = ipywidgets.ToggleButtons(
            options=list(VIEWS), value=self.kind, style={"button_width": "80px"}
        )
        self.kind_box.add_class("nbtrack-views")
        self.metric_box = ipywidgets.Dropdown(description="metric", options=[])
        self.param_box = ipywidgets.Dropdown(description="param", options=[])
        self.runs_box = ipywidgets.ToggleButtons(
            options=[("all matching", ALL), ("selected", SELECTED)],
            value=ALL,
            tooltips=["every run the filter matches", "only the runs selected in the table"],
            style={"button_width": "110px"},
        )
        self.runs_box.add_class("nbtrack-runs-choice")
        self.scale_box = ipywidgets.Dropdown(
            description="axis",
            options=list(SCALES),
            value="auto",
            tooltip="the params' axes: log where a param spans decades (auto), or as chosen",
            layout={"width": "150px"},
        )
        self.diff_a_box = ipywidgets.Dropdown(description="run A", options=[])
        self.diff_b_box = ipywidgets.Dropdown(description="run B", options=[])
        self.diff_view = ipywidgets.HTML()
        self.diff_view.add_class("nbtrack-diff")
        self.update_controls(state)
        enable_offline_charts()
        self.chart = alt.JupyterChart(
            self._build_chart(state), embed_options=dict(chart_parts.EMBED_OPTIONS)
        )
        self._watch_chart_selection()
        self.controls = ipywidgets.HBox(
            [
                self.kind_box,
                self.metric_box,
                self.param_box,
                self.runs_box,
                self.scale_box,
                self.diff_a_box,
                self.diff_b_box,
            ],
            layout={"flex_flow": "row wrap"},
        )
        self.show_view()

    @property
    def choosers(self) -> tuple[Any, ...]:
        """The controls that choose what the view shows (a change redraws it)."""
        return tuple(self.controls.children)

    def set_chart(
        self,
        kind: str | None,
        metric: str | None,
        param: str | None,
        runs: str | None = None,
        scale: str | None = None,
    ) -> None:
        """Check and set the chart's kind, keys, runs and scale, as the controls would."""
        if kind is not None and kind not in VIEWS:
            raise InvalidValueError(f"chart kind {kind!r} is not one of {VIEWS}")
        if runs is not None and runs not in (ALL, SELECTED):
            raise InvalidValueError(f"runs {runs!r} is not one of {(ALL, SELECTED)}")
        if scale is not None and scale not in SCALES:
            raise InvalidValueError(f"scale {scale!r} is not one of {tuple(SCALES)}")
        for name, value, box in (
            ("metric", metric, self.metric_box),
            ("param", param, self.param_box),
        ):
            if value is not None and value not in box.options:
                known = ", ".join(box.options) or "none logged yet"
                raise InvalidValueError(f"{name} {value!r} is not one of: {known}")
        with self._quiet():
            if kind is not None:
                self.kind_box.value = kind
            if metric is not None:
                self.metric_box.value = metric
            if param is not None:
                self.param_box.value = param
            if runs is not None:
                self.runs_box.value = runs
            if scale is not None:
                self.scale_box.value = scale
        self.read_controls()

    def show_diff(self, run_a: str, run_b: str) -> None:
        """Switch to the diff view of these two runs."""
        self.diff_pair = (run_a, run_b)
        with self._quiet():
            self.kind_box.value = DIFF
        self.read_controls()

    def forget_histories(self) -> None:
        """Drop the metric histories read so far (the store has changed)."""
        self._histories.clear()

    def diff_html(self) -> str:
        """The diff view's HTML, or '' while a chart is shown."""
        return str(self.diff_view.value) if self.kind == DIFF else ""

    # -- drawing ---------------------------------------------------------------------------------

    def draw(self, state: RunTableState) -> None:
        """Show the chosen view, drawn for the runs of ``state``."""
        self.show_view()
        if self.kind == DIFF:
            self.charted, self.charted_text = [], None
            self._draw_diff(state)
        else:
            self.chart.chart = self._build_chart(state)
            self._watch_chart_selection()

    def show_view(self) -> None:
        """Show the chart or the diff, and the controls that apply to it."""
        diff = self.kind == DIFF
        self.chart.layout.display = "none" if diff else None
        self.diff_view.layout.display = None if diff else "none"
        for box in (self.diff_a_box, self.diff_b_box):
            box.layout.display = None if diff else "none"
        self.metric_box.layout.display = "none" if diff else None
        self.param_box.layout.display = None if self.kind == "scatter" else "none"
        sweep = None if self.kind in SWEEP_CHARTS else "none"
        self.runs_box.layout.display = sweep
        self.scale_box.layout.display = sweep

    def _watch_chart_selection(self) -> None:
        # JupyterChart makes a new ``selections`` object for every chart it is given.
        selections = self.chart.selections
        if "pick" in selections.trait_names():
            selections.observe(self._on_pick, names="pick")

    def _draw_diff(self, state: RunTableState) -> None:
        labels = state.labels(state.selected)
        options = [(label, run_id) for run_id, label in labels.items()]
        pair = self.diff_pair
        if pair is None or not all(run_id in labels for run_id in pair):
            chosen = [p for p in state.picked if p in labels] + list(labels)
            unique = list(dict.fromkeys(chosen))
            pair = (unique[0], unique[1]) if len(unique) >= 2 else None
        self.diff_pair = pair
        with self._quiet():
            for box, value in zip(
                (self.diff_a_box, self.diff_b_box), pair or (None, None), strict=True
            ):
                box.options = options
                box.value = value
        self.diff_view.value = _diff_html(pair)

    def _build_chart(self, state: RunTableState) -> alt.Chart | alt.LayerChart:
        ordered = state.ordered
        every = self.kind in SWEEP_CHARTS and self.runs == ALL
        ids = list(ordered["run_id"]) if every else state.selected
        self.charted = [] if self.kind == DIFF else ids
        self.charted_text = self._describe(state, every)
        if state.frame.empty:
            return _message_chart("no runs to chart", state.empty_message)
        if self.metric is None:
            return _message_chart("no metrics yet", "runs appear here once they log a metric")
        if not ids:
            return _message_chart(
                "no run selected",
                "click rows in the table, or use all / top above it, to chart runs",
            )
        chosen = ordered if every else ordered[ordered["run_id"].isin(ids)]
        histories = (
            self._histories_for(ids, self.metric)
            if self.kind == "history"
            else pd.DataFrame(columns=["run_id", "run_name", "key", "step", "value"])
        )
        picked = [run_id for run_id in state.picked if run_id in set(chosen["run_id"])]
        try:
            return charts.chart_for(
                self.kind, chosen, histories, self.metric, self.param, picked, SCALES[self.scale]
            )
        except InvalidValueError as exc:
            return _message_chart("too much to draw", str(exc))

    def _describe(self, state: RunTableState, every: bool) -> str | None:
        """What the chart shows, in words for the status line (None for the diff)."""
        if self.kind == DIFF:
            return None
        if every:
            return f"charted: all {state.total:,} matching runs"
        n = len(state.selected)
        if not n:
            return "charted: none — click rows to choose"
        if state.auto_selected:
            first = "the first run" if n == 1 else f"the first {n}"
            return f"charted: {first} (by default) — click rows to choose"
        return f"charted: {n:,} selected"

    def _histories_for(self, ids: list[str], metric: str) -> pd.DataFrame:
        # Charts refuse more than MAX_ROWS points: share them out among the selected runs.
        budget = max(2, min(MAX_POINTS_PER_RUN, chart_parts.MAX_ROWS // max(1, len(ids)) - 1))
        key = (tuple(sorted(ids)), metric, budget)
        if key not in self._histories:
            self._histories[key] = metric_histories(ids, [metric], max_points=budget)
        return self._histories[key]

    # -- controls --------------------------------------------------------------------------------

    def update_controls(self, state: RunTableState) -> None:
        """Offer the metrics and params the runs of ``state`` have, keeping the choices made
        while they are still offered."""
        frame = state.frame
        keys = {
            prefix: sorted(c[len(prefix) :] for c in frame.columns if c.startswith(prefix))
            for prefix in ("metrics.", "params.")
        }
        with self._quiet():
            for box, options in (
                (self.metric_box, keys["metrics."]),
                (self.param_box, keys["params."]),
            ):
                current = box.value
                if list(box.options) != options:
                    box.options = options
                if current not in options:
                    current = self._first_choice(box, options, state.selected)
                box.value = current
            self.metric_box.disabled = not keys["metrics."]
        self.read_controls()

    def _first_choice(self, box: Any, options: list[str], selected: list[str]) -> str | None:
        """The first key, or for metrics the first one with a history: a curve says more
        than a lone point when the chart opens."""
        if box is not self.metric_box or len(options) < 2 or not selected:
            return options[0] if options else None
        sample = metric_histories(selected, options, max_points=2)
        longest = sample.groupby(["key", "run_id"]).size().groupby(level="key").max()
        return next((key for key in options if longest.get(key, 0) > 1), options[0])

    def read_controls(self) -> None:
        """Take the choices from the controls (after the user changed one)."""
        self.kind = str(self.kind_box.value)
        self.metric = self.metric_box.value
        self.param = self.param_box.value
        self.runs = str(self.runs_box.value)
        self.scale = str(self.scale_box.value)
        self.param_box.disabled = self.kind != "scatter" or not self.param_box.options
        if self.kind == DIFF:
            a, b = self.diff_a_box.value, self.diff_b_box.value
            if a is not None and b is not None:
                self.diff_pair = (str(a), str(b))


def _diff_html(pair: tuple[str, str] | None) -> str:
    if pair is None:
        return _note_html(
            "Select two runs in the table (click their rows) to see their code, params, "
            "metrics and artifacts side by side."
        )
    if pair[0] == pair[1]:
        return _note_html("Run A and run B are the same run.")
    try:
        return run_diff(pair[0], pair[1])._repr_html_() + (
            artifact_view.side_by_side(get_run_by_id(pair[0]), get_run_by_id(pair[1]))
        )
    except NbtrackError as exc:
        return _note_html(f"cannot compare these runs: {exc}")


def _message_chart(title: str, detail: str) -> alt.Chart:
    """A chart of the usual size that says why there is nothing to draw."""
    return chart_parts.no_data(title, detail)


def _note_html(text: str) -> str:
    return f'<div style="padding: 8px; font-style: italic">{html.escape(text)}</div>'
