"""``compare()``: runs side by side under a cell — a table to filter, sort and select them, and
one chart of the selected runs.

Python keeps every run that matches and decides the order and the page, so the browser only
ever receives one page of rows and one chart, however many runs there are. The widget
refreshes itself when its store changes (see ``poller``), keeping the filter, the order, the
page and the selection.
"""

from __future__ import annotations

import html
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import altair as alt
import ipywidgets  # type: ignore[import-untyped]
import pandas as pd

from nbtrack import config
from nbtrack.errors import InvalidValueError, NbtrackError
from nbtrack.tracking import fluent
from nbtrack.tracking.diff import diff as run_diff
from nbtrack.tracking.fluent import get_run as get_run_by_id
from nbtrack.tracking.search import changes_marker, metric_histories, runs_frame
from nbtrack.widgets import artifact_view, charts, poller, static
from nbtrack.widgets.live import enable_offline_charts
from nbtrack.widgets.run_table import RunTable, table_rows
from nbtrack.widgets.tree import descendants

PAGE_SIZE = 25
DEFAULT_SELECTION = 5
MAX_POINTS_PER_RUN = 1000
FILTER_EXAMPLE = "metrics.acc > 0.9 and params.lr = '0.1'"
FIXED_COLUMNS = ("run_name", "status", "start_time", "duration")
HIDDEN_TAGS = "tags.nbtrack."
ERROR_COLOUR = "var(--jp-error-color1, #d32f2f)"
DIFF = "diff"
# The views under the table: the charts, and the diff of two runs.
VIEWS = (*charts.KINDS, DIFF)


def compare(
    experiment: str | None = None,
    runs: Sequence[object] | None = None,
    filter: str | None = None,
) -> CompareWidget:
    """Compare runs in the notebook: filter, sort and select them, and chart the selected ones.

    Parameters
    ----------
    experiment : str, optional
        Name or id of the experiment whose runs to show; the current one by default.
    runs : sequence of run ids, ``Run`` or open runs, optional
        Exactly these runs, from any experiment, instead of an experiment's.
    filter : str, optional
        MLflow's filter syntax plus ``or`` and parentheses; editable in the widget.

    Returns
    -------
    CompareWidget
        Shown when it is the cell's last expression. It refreshes by itself as runs are
        logged; ``select``, ``sort``, ``set_filter``, ``go_to_page`` drive it from code.

    Raises
    ------
    NotFoundError
        No experiment has that name or id.
    InvalidValueError
        ``runs`` holds something that is not a run. (A bad ``filter`` is shown in the widget,
        where it can be fixed.)

    Examples
    --------
    >>> import nbtrack
    >>> view = nbtrack.compare("sweep", filter="metrics.acc > 0.9")  # doctest: +SKIP
    >>> view.sort("metrics.acc", descending=True)  # doctest: +SKIP
    >>> view.selected  # the three best runs are charted  # doctest: +SKIP
    """
    return CompareWidget(experiment=experiment, runs=runs, filter=filter)


class CompareWidget(ipywidgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """A filter box, a run table and one chart of the runs selected in it.

    Until the user picks runs, the first few of the current order are charted, so the chart
    is never empty on open; a sort or a new filter moves that automatic choice along.
    """

    def __init__(
        self,
        experiment: str | None = None,
        runs: Sequence[object] | None = None,
        filter: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise InvalidValueError(f"page_size must be a positive int, got {page_size!r}")
        self._lock = threading.RLock()
        self._quiet_depth = 0
        self._closed = False
        self._runs_arg = None if runs is None else [getattr(r, "id", r) for r in runs]
        if runs is None and experiment is None:
            experiment = fluent.current_experiment_name()
        self._experiment = experiment
        self._store_path = config.resolve_store_path()
        self._marker = changes_marker()
        # Taken before the first query: a change landing while we read is refreshed after.
        opened_at = poller.marker_stamp(self._marker)
        self._filter: str | None = None
        self._filter_error: str | None = None
        self._problem: str | None = None
        self._frame = self._first_query(filter)
        self._sort_by = ""
        self._sort_desc = False
        self._ordered = self._frame
        self._page = 1
        self._page_size = page_size
        self._selected: list[str] = []
        self._auto_select = True
        self._histories: dict[tuple[tuple[str, ...], str, int], pd.DataFrame] = {}
        self._picked: list[str] = []
        self._diff_pair: tuple[str, str] | None = None
        self._kind: str = charts.KINDS[0]
        self._metric: str | None = None
        self._param: str | None = None
        self._choose_default_selection()

        super().__init__(children=self._make_parts(filter))
        self._connect()
        poller.watch(self, since=opened_at)

    # -- public API ------------------------------------------------------------------------------

    @property
    def runs(self) -> pd.DataFrame:
        """The runs that match the filter, in the table's order (as ``search_runs`` returns)."""
        with self._lock:
            return self._ordered.reset_index(drop=True).copy()

    @property
    def selected(self) -> list[str]:
        """Ids of the runs the chart shows."""
        with self._lock:
            return list(self._selected)

    @property
    def picked(self) -> list[str]:
        """Ids of the runs picked: clicked in the chart, or with a row's pick button. They are
        highlighted in the table and in every chart (empty until something is picked)."""
        with self._lock:
            return list(self._picked)

    @property
    def diff_html(self) -> str:
        """The diff view's HTML (code, params, metrics and artifacts of two runs), or ''."""
        with self._lock:
            return str(self._diff_view.value) if self._kind == DIFF else ""

    @property
    def table(self) -> RunTable:
        """The run table widget (its traits are what the browser sees)."""
        return self._table

    @property
    def marker(self) -> Path | None:
        """The file whose changes make this widget refresh; None once closed."""
        return None if self._closed else self._marker

    def select(self, runs: Sequence[object]) -> None:
        """Chart exactly these runs (ids or ``Run`` objects) from those the table holds."""
        ids = [str(getattr(r, "id", r)) for r in runs]
        with self._lock:
            self._check_known(ids, "select()")
            self._selected = list(dict.fromkeys(ids))
            self._auto_select = False
            self._redraw(table=True)

    def pick(self, runs: Sequence[object]) -> None:
        """Highlight these runs in the table and the chart, as clicking them in the chart
        does; a run not charted yet is added to the chart. ``[]`` clears the pick."""
        ids = [str(getattr(r, "id", r)) for r in runs]
        with self._lock:
            self._check_known(ids, "pick()")
            self._picked = list(dict.fromkeys(ids))
            self._chart_too(self._picked)
            self._show_page_of(self._picked)
            self._redraw(table=True)

    def show_diff(self, run_a: object, run_b: object) -> None:
        """Switch to the diff view of two runs (ids or ``Run``): their code, params, metrics
        and artifacts side by side. Runs not charted yet are added to the selection."""
        ids = [str(getattr(r, "id", r)) for r in (run_a, run_b)]
        with self._lock:
            self._check_known(ids, "show_diff()")
            self._chart_too(ids)
            self._diff_pair = (ids[0], ids[1])
            with self._quiet():
                self._kind_box.value = DIFF
            self._read_controls()
            self._redraw(table=True)

    def sort(self, column: str, descending: bool = False) -> None:
        """Order the table by ``column`` (e.g. ``"metrics.acc"``); ``""`` for the default order
        (newest first). Missing values go last either way."""
        with self._lock:
            if column and column not in self._sortable():
                raise InvalidValueError(
                    f"sort(): no column {column!r}; sortable: {', '.join(self._sortable())}"
                )
            self._sort_by, self._sort_desc = column, bool(descending)
            self._page = 1
            self._reorder()
            self._redraw(table=True)

    def set_filter(self, text: str | None) -> None:
        """Show only the runs ``text`` matches; a bad filter is reported in the status line
        and the runs shown stay as they were."""
        wanted = (text or "").strip() or None
        with self._lock:
            try:
                frame = self._query(wanted)
            except InvalidValueError as exc:
                self._filter_error = str(exc)
            else:
                self._filter, self._filter_error = wanted, None
                self._replace_frame(frame)
                self._page = 1
                self._redraw(table=True)
            with self._quiet():
                self._filter_box.value = text or ""
            self._push_status()

    def go_to_page(self, page: int) -> None:
        """Show page ``page`` (from 1) of the table; out-of-range pages clamp to the ends."""
        if isinstance(page, bool) or not isinstance(page, int):
            raise InvalidValueError(f"go_to_page(): page must be an int, got {page!r}")
        with self._lock:
            self._page = min(max(1, page), self._pages())
            self._push_table()

    def set_chart(
        self, kind: str | None = None, metric: str | None = None, param: str | None = None
    ) -> None:
        """Switch the chart: ``kind`` is ``"history"``, ``"scatter"`` or ``"bar"``; ``metric``
        and ``param`` are keys (``"loss"``) as in the dropdowns."""
        with self._lock:
            if kind is not None and kind not in VIEWS:
                raise InvalidValueError(f"chart kind {kind!r} is not one of {VIEWS}")
            for name, value, box in (
                ("metric", metric, self._metric_box),
                ("param", param, self._param_box),
            ):
                if value is not None and value not in box.options:
                    known = ", ".join(box.options) or "none logged yet"
                    raise InvalidValueError(f"{name} {value!r} is not one of: {known}")
            with self._quiet():
                if kind is not None:
                    self._kind_box.value = kind
                if metric is not None:
                    self._metric_box.value = metric
                if param is not None:
                    self._param_box.value = param
            self._read_controls()
            self._redraw()

    def refresh(self) -> None:
        """Read the store again, keeping the filter, order, page and selection. A store that
        cannot be read now is reported in the status line; the runs shown stay."""
        with self._lock:
            if self._closed:
                return
            if config.resolve_store_path() != self._store_path:
                # Our runs live in the store we were opened on; the queries follow the
                # process's current store, so reading now would show another store's runs.
                self._problem = (
                    f"not refreshed: the tracking URI changed since this view was made "
                    f"({self._store_path}); call nbtrack.compare() again for the new store"
                )
                self._push_status()
                return
            try:
                frame = self._query(self._filter)
            except NbtrackError as exc:
                # Mostly called by the poller thread, where a raise reaches nobody: say it
                # where the user looks, keep the last runs, and try again on the next change.
                self._problem = f"not refreshed: {exc}"
                self._push_status()
                return
            self._problem = None
            self._replace_frame(frame)
            self._page = min(self._page, self._pages())
            self._histories.clear()
            self._redraw(table=True)

    def chart_spec(self) -> dict[str, Any]:
        """The Vega-Lite spec of the chart now shown."""
        with self._lock:
            chart = self._chart.chart
            spec: dict[str, Any] = {} if chart is None else chart.to_dict()
            return spec

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The widget view, plus a static table and chart for where no widget front end runs
        (nbconvert to HTML, GitHub's preview): they show the ``text/html`` snapshot instead."""
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            with self._lock:
                columns = self._columns()
                bundle["text/html"] = static.static_html(
                    columns=columns,
                    rows=self._page_rows(columns),
                    selected=list(self._selected),
                    chart=self._chart.chart,
                    caption=self._status.value,
                    total=len(self._frame),
                )
        return bundle

    def close(self) -> None:
        """Free the widget and its parts (also done when its cell runs again)."""
        # ipywidgets also calls this from __del__, where a constructor that raised (a bad
        # experiment, say) left no parts behind.
        built = hasattr(self, "_controls")
        with self._lock if built else nullcontext():
            self._closed = True
            poller.unwatch(self)
            for part in descendants(self) if built else []:
                part.close()
            super().close()

    def _make_parts(self, filter: str | None) -> list[Any]:
        self._filter_box = ipywidgets.Text(
            value=filter or "",
            placeholder=FILTER_EXAMPLE,
            description="filter",
            continuous_update=False,
            layout=ipywidgets.Layout(width="100%"),
        )
        self._status = ipywidgets.HTML()
        self._table = RunTable(page_size=self._page_size)
        self._kind_box = ipywidgets.ToggleButtons(
            options=list(VIEWS), value=self._kind, style={"button_width": "80px"}
        )
        self._kind_box.add_class("nbtrack-views")
        self._metric_box = ipywidgets.Dropdown(description="metric", options=[])
        self._param_box = ipywidgets.Dropdown(description="param", options=[])
        self._all_runs_box = ipywidgets.Checkbox(
            value=False, description="all runs", indent=False, layout={"width": "auto"}
        )
        self._diff_a_box = ipywidgets.Dropdown(description="run A", options=[])
        self._diff_b_box = ipywidgets.Dropdown(description="run B", options=[])
        self._diff_view = ipywidgets.HTML()
        self._diff_view.add_class("nbtrack-diff")
        self._update_controls()
        enable_offline_charts()
        self._chart = alt.JupyterChart(self._build_chart())
        self._watch_chart_selection()
        self._controls = ipywidgets.HBox(
            [
                self._kind_box,
                self._metric_box,
                self._param_box,
                self._all_runs_box,
                self._diff_a_box,
                self._diff_b_box,
            ],
            layout={"flex_flow": "row wrap"},
        )
        self._push_table()
        self._push_status()
        self._show_view()
        return [
            self._filter_box,
            self._status,
            self._table,
            self._controls,
            self._chart,
            self._diff_view,
        ]

    def _connect(self) -> None:
        self._filter_box.observe(self._on_filter_box, names="value")
        self._table.observe(self._on_table_sort, names=["sort_by", "sort_desc"])
        self._table.observe(self._on_table_page, names="page")
        self._table.observe(self._on_table_selected, names="selected")
        self._table.observe(self._on_table_picked, names="picked")
        for box in (self._kind_box, self._metric_box, self._param_box, self._all_runs_box):
            box.observe(self._on_chart_control, names="value")
        for box in (self._diff_a_box, self._diff_b_box):
            box.observe(self._on_diff_control, names="value")

    # -- data ------------------------------------------------------------------------------------

    def _check_known(self, ids: list[str], what: str) -> None:
        known = set(self._frame["run_id"])
        unknown = [run_id for run_id in ids if run_id not in known]
        if unknown:
            raise InvalidValueError(
                f"{what}: {', '.join(map(repr, unknown[:3]))} not among the "
                f"{len(known)} runs this widget shows (filter: {self._filter!r})"
            )

    def _chart_too(self, ids: list[str]) -> None:
        """Add the runs not charted yet to the selection (a user's choice from then on)."""
        missing = [run_id for run_id in ids if run_id not in self._selected]
        if missing:
            self._selected = [*self._selected, *missing]
            self._auto_select = False

    def _show_page_of(self, ids: list[str]) -> None:
        """Turn to the page holding the first of ``ids``, unless one is on this page."""
        order = list(self._ordered["run_id"])
        pages = {order.index(run_id) // self._page_size + 1 for run_id in ids if run_id in order}
        if pages and self._page not in pages:
            self._page = min(pages)

    def _first_query(self, filter: str | None) -> pd.DataFrame:
        """The runs to open with; a bad filter is shown, a bad experiment or run raises."""
        wanted = (filter or "").strip() or None
        try:
            frame = self._query(wanted)
        except InvalidValueError as exc:
            if wanted is None:
                raise
            frame = self._query(None)
            self._filter_error = str(exc)
        else:
            self._filter = wanted
        return frame

    def _query(self, filter: str | None) -> pd.DataFrame:
        return runs_frame(experiment=self._experiment, runs=self._runs_arg, filter=filter)

    def _replace_frame(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._reorder()
        known = set(frame["run_id"])
        self._selected = [run_id for run_id in self._selected if run_id in known]
        self._picked = [run_id for run_id in self._picked if run_id in known]
        if not self._selected:
            self._auto_select = True
        if self._auto_select:
            self._choose_default_selection()
        self._update_controls()

    def _reorder(self) -> None:
        self._ordered = _sorted(self._frame, self._sort_by, self._sort_desc)
        if self._auto_select:
            self._choose_default_selection()

    def _choose_default_selection(self) -> None:
        self._selected = list(self._ordered["run_id"].head(DEFAULT_SELECTION))

    def _columns(self) -> list[str]:
        names = list(self._frame.columns)
        several = "experiment" in names and self._frame["experiment"].nunique() > 1
        return [
            *FIXED_COLUMNS,
            *(["experiment"] if several else []),
            *sorted(c for c in names if c.startswith("metrics.")),
            *sorted(c for c in names if c.startswith("params.")),
            *sorted(c for c in names if c.startswith("tags.") and not c.startswith(HIDDEN_TAGS)),
        ]

    def _sortable(self) -> list[str]:
        return [c for c in self._columns() if c == "duration" or c in self._frame.columns]

    def _pages(self) -> int:
        return max(1, math.ceil(len(self._frame) / self._page_size))

    def _page_rows(self, columns: list[str]) -> list[dict[str, Any]]:
        start = (self._page - 1) * self._page_size
        page = self._ordered.iloc[start : start + self._page_size]
        return table_rows(page.assign(duration=_durations(page)), columns)

    def _histories_for(self, ids: list[str], metric: str) -> pd.DataFrame:
        # Charts refuse more than MAX_ROWS points: share them out among the selected runs.
        budget = max(2, min(MAX_POINTS_PER_RUN, charts.MAX_ROWS // max(1, len(ids)) - 1))
        key = (tuple(sorted(ids)), metric, budget)
        if key not in self._histories:
            self._histories[key] = metric_histories(ids, [metric], max_points=budget)
        return self._histories[key]

    # -- drawing ---------------------------------------------------------------------------------

    def _redraw(self, table: bool = False) -> None:
        if table:
            self._push_table()
        self._push_status()
        self._show_view()
        if self._kind == DIFF:
            self._draw_diff()
        else:
            self._chart.chart = self._build_chart()
            self._watch_chart_selection()

    def _show_view(self) -> None:
        diff = self._kind == DIFF
        self._chart.layout.display = "none" if diff else None
        self._diff_view.layout.display = None if diff else "none"
        for box in (self._diff_a_box, self._diff_b_box):
            box.layout.display = None if diff else "none"
        self._metric_box.layout.display = "none" if diff else None
        self._param_box.layout.display = None if self._kind == "scatter" else "none"
        self._all_runs_box.layout.display = None if self._kind == "parallel" else "none"

    def _watch_chart_selection(self) -> None:
        # JupyterChart makes a new ``selections`` object for every chart it is given.
        selections = self._chart.selections
        if "pick" in selections.trait_names():
            selections.observe(self._on_chart_pick, names="pick")

    def _draw_diff(self) -> None:
        labels = self._run_labels(self._selected)
        options = [(label, run_id) for run_id, label in labels.items()]
        pair = self._diff_pair
        if pair is None or not all(run_id in labels for run_id in pair):
            chosen = [p for p in self._picked if p in labels] + list(labels)
            unique = list(dict.fromkeys(chosen))
            pair = (unique[0], unique[1]) if len(unique) >= 2 else None
        self._diff_pair = pair
        with self._quiet():
            for box, value in zip(
                (self._diff_a_box, self._diff_b_box), pair or (None, None), strict=True
            ):
                box.options = options
                box.value = value
        if pair is None:
            self._diff_view.value = _note_html(
                "Select two runs in the table (click their rows) to see their code, params, "
                "metrics and artifacts side by side."
            )
            return
        if pair[0] == pair[1]:
            self._diff_view.value = _note_html("Run A and run B are the same run.")
            return
        try:
            self._diff_view.value = run_diff(pair[0], pair[1])._repr_html_() + (
                artifact_view.side_by_side(get_run_by_id(pair[0]), get_run_by_id(pair[1]))
            )
        except NbtrackError as exc:
            self._diff_view.value = _note_html(f"cannot compare these runs: {exc}")

    def _run_labels(self, ids: list[str]) -> dict[str, str]:
        rows = self._frame[self._frame["run_id"].isin(ids)]
        names = dict(zip(rows["run_id"], rows["run_name"].fillna(""), strict=True))
        labels = {run_id: f"{names.get(run_id) or run_id[:8]} ({run_id[:8]})" for run_id in ids}
        return {run_id: labels[run_id] for run_id in ids if run_id in names}

    def _build_chart(self) -> alt.Chart | alt.LayerChart:
        if self._frame.empty:
            return _message_chart("no runs to chart", self._empty_message())
        if self._metric is None:
            return _message_chart("no metrics yet", "runs appear here once they log a metric")
        if not self._selected and not (self._kind == "parallel" and self._all_runs_box.value):
            return _message_chart("no run selected", "click rows in the table to chart them")
        every = self._kind == "parallel" and bool(self._all_runs_box.value)
        chosen = (
            self._ordered if every else self._ordered[self._ordered["run_id"].isin(self._selected)]
        )
        histories = (
            self._histories_for(self._selected, self._metric)
            if self._kind == "history"
            else pd.DataFrame(columns=["run_id", "run_name", "key", "step", "value"])
        )
        picked = [run_id for run_id in self._picked if run_id in set(chosen["run_id"])]
        try:
            return charts.chart_for(
                self._kind, chosen, histories, self._metric, self._param, picked
            )
        except InvalidValueError as exc:
            return _message_chart("too much to draw", str(exc))

    def _push_table(self) -> None:
        columns = self._columns()
        with self._quiet(), self._table.hold_sync():
            self._table.columns = columns
            self._table.rows = self._page_rows(columns)
            self._table.total = len(self._frame)
            self._table.page = self._page
            self._table.page_size = self._page_size
            self._table.sort_by = self._sort_by
            self._table.sort_desc = self._sort_desc
            self._table.selected = list(self._selected)
            self._table.picked = list(self._picked)
            self._table.empty_message = self._empty_message()

    def _push_status(self) -> None:
        n = len(self._frame)
        where = (
            f"experiment <b>{html.escape(str(self._experiment))}</b>"
            if self._runs_arg is None
            else "the runs given"
        )
        parts = [where, f"{n:,} run{'' if n == 1 else 's'}"]
        if self._filter:
            parts[1] += " match the filter" if n != 1 else " matches the filter"
        if n:
            parts.append(f"{len(self._selected)} charted")
        if self._picked:
            names = ", ".join(self._run_labels(self._picked).values())
            parts.append(f"picked: {html.escape(names)} (click the chart's background to clear)")
        text = " · ".join(parts)
        for error in (self._problem, self._filter_error):
            if error:
                text += (
                    f'<div style="color: {ERROR_COLOUR}; white-space: pre-wrap; '
                    f'font-family: var(--jp-code-font-family, monospace)">'
                    f"{html.escape(error)}</div>"
                )
        self._status.value = text

    def _empty_message(self) -> str:
        if self._filter:
            return "No run matches this filter."
        if self._runs_arg is not None:
            return "None of the given runs exists any more."
        return (
            f"No runs yet in experiment {self._experiment!r}: they appear here as they are "
            "logged (with nbtrack.start_run() or %%track)."
        )

    def _update_controls(self) -> None:
        keys = {
            prefix: sorted(c[len(prefix) :] for c in self._frame.columns if c.startswith(prefix))
            for prefix in ("metrics.", "params.")
        }
        with self._quiet():
            for box, options in (
                (self._metric_box, keys["metrics."]),
                (self._param_box, keys["params."]),
            ):
                current = box.value
                if list(box.options) != options:
                    box.options = options
                if current not in options:
                    current = self._first_choice(box, options)
                box.value = current
            self._metric_box.disabled = not keys["metrics."]
        self._read_controls()

    def _first_choice(self, box: Any, options: list[str]) -> str | None:
        """The first key, or for metrics the first one with a history: a curve says more
        than a lone point when the chart opens."""
        if box is not self._metric_box or len(options) < 2 or not self._selected:
            return options[0] if options else None
        sample = metric_histories(self._selected, options, max_points=2)
        longest = sample.groupby(["key", "run_id"]).size().groupby(level="key").max()
        return next((key for key in options if longest.get(key, 0) > 1), options[0])

    def _read_controls(self) -> None:
        self._kind = str(self._kind_box.value)
        self._metric = self._metric_box.value
        self._param = self._param_box.value
        self._param_box.disabled = self._kind != "scatter" or not self._param_box.options
        if self._kind == DIFF:
            a, b = self._diff_a_box.value, self._diff_b_box.value
            if a is not None and b is not None:
                self._diff_pair = (str(a), str(b))

    # -- events from the front end ---------------------------------------------------------------

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Changes made by Python itself, which the change handlers must not act on."""
        self._quiet_depth += 1
        try:
            yield
        finally:
            self._quiet_depth -= 1

    def _on_filter_box(self, change: dict[str, Any]) -> None:
        with self._lock:
            if not self._quiet_depth:
                self.set_filter(change["new"])

    def _on_table_sort(self, change: dict[str, Any]) -> None:
        with self._lock:
            if not self._quiet_depth:
                column = self._table.sort_by
                self.sort(column if column in self._sortable() else "", self._table.sort_desc)

    def _on_table_page(self, change: dict[str, Any]) -> None:
        with self._lock:
            if not self._quiet_depth:
                self.go_to_page(int(change["new"]))

    def _on_table_selected(self, change: dict[str, Any]) -> None:
        with self._lock:
            if not self._quiet_depth:
                known = set(self._frame["run_id"])
                self.select([run_id for run_id in change["new"] if run_id in known])

    def _on_table_picked(self, change: dict[str, Any]) -> None:
        with self._lock:
            if not self._quiet_depth:
                known = set(self._frame["run_id"])
                self.pick([run_id for run_id in change["new"] if run_id in known])

    def _on_chart_pick(self, change: dict[str, Any]) -> None:
        """A click in the chart: the picked runs become the table's picked rows (the chart
        already shows them highlighted, so it is not redrawn)."""
        value = getattr(change["new"], "value", None) or []
        ids = [str(item["run_id"]) for item in value if isinstance(item, dict) and "run_id" in item]
        with self._lock:
            if self._closed or ids == self._picked:
                return
            known = set(self._frame["run_id"])
            self._picked = [run_id for run_id in dict.fromkeys(ids) if run_id in known]
            self._show_page_of(self._picked)
            self._push_table()
            self._push_status()

    def _on_diff_control(self, change: dict[str, Any]) -> None:
        with self._lock:
            if not self._quiet_depth:
                self._read_controls()
                self._redraw()

    def _on_chart_control(self, change: dict[str, Any]) -> None:
        with self._lock:
            if not self._quiet_depth:
                self._read_controls()
                self._redraw()


def _sorted(frame: pd.DataFrame, column: str, descending: bool) -> pd.DataFrame:
    if not column or frame.empty:
        return frame
    values = _durations(frame) if column == "duration" else frame[column]
    return (
        frame.assign(_order=_sort_key(values))
        .sort_values("_order", ascending=not descending, na_position="last", kind="stable")
        .drop(columns="_order")
    )


def _sort_key(values: pd.Series[Any]) -> pd.Series[Any]:
    """Numbers and times as they are; text case-insensitively; mixed params as numbers when
    every value is one, else as text."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() == values.notna().sum():
        return numbers
    return values.astype("string").str.lower()


def _durations(frame: pd.DataFrame) -> pd.Series[float]:
    """Seconds from start to end, or to now for a run still going."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="float64")
    now = pd.Timestamp(datetime.now(UTC))
    ends = frame["end_time"].where(frame["end_time"].notna(), now)
    return ((ends - frame["start_time"]).dt.total_seconds()).round(1)


def _message_chart(title: str, detail: str) -> alt.Chart:
    """A chart of the usual size that says why there is nothing to draw."""
    return (
        alt.Chart(
            alt.Data(values=[{"text": title}]),
            title=alt.Title(title, subtitle=detail),
            width=charts.WIDTH,
            height=charts.HEIGHT,
        )
        .mark_text(fontSize=14, color="gray")
        .encode(text=alt.Text("text:N"))
    )


def _note_html(text: str) -> str:
    return f'<div style="padding: 8px; font-style: italic">{html.escape(text)}</div>'
