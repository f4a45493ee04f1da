"""The views under ``compare()``'s run table: one chart of the selected runs (history,
scatter, bar or parallel coordinates, with their choices of metric and param) or the diff of
two runs. They are drawn from the table's state and hold no runs of their own.
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
        self.kind_box = ipywidgets.ToggleButtons(
            options=list(VIEWS), value=self.kind, style={"button_width": "80px"}
        )
        self.kind_box.add_class("nbtrack-views")
        self.metric_box = ipywidgets.Dropdown(description="metric", options=[])
        self.param_box = ipywidgets.Dropdown(description="param", options=[])
        self.all_runs_box = ipywidgets.Checkbox(
            value=False, description="all runs", indent=False, layout={"width": "auto"}
        )
        self.diff_a_box = ipywidgets.Dropdown(description="run A", options=[])
        self.diff_b_box = ipywidgets.Dropdown(description="run B", options=[])
        self.diff_view = ipywidgets.HTML()
        self.diff_view.add_class("nbtrack-diff")
        self.update_controls(state)
        enable_offline_charts()
        self.chart = alt.JupyterChart(self._build_chart(state))
        self._watch_chart_selection()
        self.controls = ipywidgets.HBox(
            [
                self.kind_box,
                self.metric_box,
                self.param_box,
                self.all_runs_box,
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

    def set_chart(self, kind: str | None, metric: str | None, param: str | None) -> None:
        """Check and set the chart's kind and keys, as the buttons and dropdowns would."""
        if kind is not None and kind not in VIEWS:
            raise InvalidValueError(f"chart kind {kind!r} is not one of {VIEWS}")
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
        self.all_runs_box.layout.display = None if self.kind == "parallel" else "none"

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
        selected, ordered = state.selected, state.ordered
        if state.frame.empty:
            return _message_chart("no runs to chart", state.empty_message)
        if self.metric is None:
            return _message_chart("no metrics yet", "runs appear here once they log a metric")
        if not selected and not (self.kind == "parallel" and self.all_runs_box.value):
            return _message_chart("no run selected", "click rows in the table to chart them")
        every = self.kind == "parallel" and bool(self.all_runs_box.value)
        chosen = ordered if every else ordered[ordered["run_id"].isin(selected)]
        histories = (
            self._histories_for(selected, self.metric)
            if self.kind == "history"
            else pd.DataFrame(columns=["run_id", "run_name", "key", "step", "value"])
        )
        picked = [run_id for run_id in state.picked if run_id in set(chosen["run_id"])]
        try:
            return charts.chart_for(self.kind, chosen, histories, self.metric, self.param, picked)
        except InvalidValueError as exc:
            return _message_chart("too much to draw", str(exc))

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
    return (
        alt.Chart(
            alt.Data(values=[{"text": title}]),
            title=alt.Title(title, subtitle=detail),
            width=chart_parts.WIDTH,
            height=chart_parts.HEIGHT,
        )
        .mark_text(fontSize=14, color="gray")
        .encode(text=alt.Text("text:N"))
    )


def _note_html(text: str) -> str:
    return f'<div style="padding: 8px; font-style: italic">{html.escape(text)}</div>'
