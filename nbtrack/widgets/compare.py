"""``compare()``: runs side by side under a cell — a table to filter, sort and select them, and
one chart of the selected runs.

Python keeps every run that matches and decides the order and the page, so the browser only
ever receives one page of rows and one chart, however many runs there are. The widget
refreshes itself when its store changes (see ``poller``), keeping the filter, the order, the
page and the selection.

Whatever goes wrong while handling a click, a keystroke or a refresh is said in the status
line (a front end shows a callback's exception nowhere but the log console), and the widget
is redrawn from its state, which stays whole: the next click works.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets  # type: ignore[import-untyped]

from nbtrack import config
from nbtrack.errors import NbtrackError
from nbtrack.tracking.run_table import (
    DEFAULT_SELECTION,
    PAGE_SIZE,
    RunTableState,
    check_page_size,
)
from nbtrack.tracking.search import changes_marker
from nbtrack.widgets import poller, static
from nbtrack.widgets.compare_views import CompareViews
from nbtrack.widgets.restart_note import ROOT_CLASS, RestartNote
from nbtrack.widgets.run_table import RunTable, status_html
from nbtrack.widgets.tree import descendants

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("nbtrack")

FILTER_EXAMPLE = "metrics.acc > 0.9 and params.lr = '0.1'"


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
    is never empty on open; a sort or a new filter moves that automatic choice along, and
    the table draws it as a default. What the table holds (filter, order, page, selection)
    is a ``RunTableState``; the widget draws it and hands it the clicks.
    """

    def __init__(
        self,
        experiment: str | None = None,
        runs: Sequence[object] | None = None,
        filter: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        check_page_size(page_size)  # before the store is touched
        self._lock = threading.RLock()
        self._quiet_depth = 0
        self._closed = False
        # A store file's path or a server's URL (never its token): what the view was made on.
        self._store_path = str(config.resolve_target())
        self._marker = changes_marker()
        # Taken before the first query: a change landing while we read is refreshed after.
        opened_at = poller.marker_stamp(self._marker)
        # Why the last refresh, and the last thing the user did, went wrong (status line).
        self._problem: str | None = None
        self._action_problem: str | None = None
        self._state = RunTableState(experiment, runs, filter, page_size)
        super().__init__(children=self._make_parts(filter))
        self.add_class(ROOT_CLASS)
        self._connect()
        poller.watch(self, since=opened_at)

    # -- public API ------------------------------------------------------------------------------

    @property
    def runs(self) -> pd.DataFrame:
        """The runs that match the filter, in the table's order (as ``search_runs`` returns)."""
        with self._lock:
            return self._state.runs

    @property
    def selected(self) -> list[str]:
        """Ids of the runs the chart shows."""
        with self._lock:
            return self._state.selected

    @property
    def picked(self) -> list[str]:
        """Ids of the runs picked: clicked in the chart, or with a row's pick button. They are
        highlighted in the table and in every chart (empty until something is picked)."""
        with self._lock:
            return self._state.picked

    @property
    def diff_html(self) -> str:
        """The diff view's HTML (code, params, metrics and artifacts of two runs), or ''."""
        with self._lock:
            return self._views.diff_html()

    @property
    def filter_box(self) -> Any:
        """The filter text box (setting its ``value`` is typing a filter and pressing Enter)."""
        return self._filter_box

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
            self._state.select(ids)
            self._redraw(table=True)

    def select_all(self) -> None:
        """Chart every run that matches (the "all" button)."""
        with self._lock:
            self._state.select_all()
            self._redraw(table=True)

    def select_none(self) -> None:
        """Chart no run until some are chosen (the "none" button)."""
        with self._lock:
            self._state.select_none()
            self._redraw(table=True)

    def select_top(self, n: int) -> None:
        """Chart the first ``n`` runs of the table's order: the top ``n`` by the sorted column
        (the "top" button)."""
        with self._lock:
            self._state.select_top(n)
            self._redraw(table=True)

    def pick(self, runs: Sequence[object]) -> None:
        """Highlight these runs in the table and the chart, as clicking them in the chart
        does; a run not charted yet is added to the chart. ``[]`` clears the pick."""
        ids = [str(getattr(r, "id", r)) for r in runs]
        with self._lock:
            self._state.pick(ids)
            self._redraw(table=True)

    def show_diff(self, run_a: object, run_b: object) -> None:
        """Switch to the diff view of two runs (ids or ``Run``): their code, params, metrics
        and artifacts side by side. Runs not charted yet are added to the selection."""
        ids = [str(getattr(r, "id", r)) for r in (run_a, run_b)]
        with self._lock:
            self._state.check_known(ids, "show_diff()")
            self._state.add_to_selection(ids)
            self._views.show_diff(ids[0], ids[1])
            self._redraw(table=True)

    def sort(self, column: str, descending: bool = False) -> None:
        """Order the table by ``column`` (e.g. ``"metrics.acc"``); ``""`` for the default order
        (newest first). Missing values go last either way."""
        with self._lock:
            self._state.sort(column, descending)
            self._redraw(table=True)

    def set_filter(self, text: str | None) -> None:
        """Show only the runs ``text`` matches. A bad filter is reported in the status line in
        place of a count, and the runs shown stay, greyed, until a filter that works."""
        with self._lock:
            if self._state.set_filter(text):
                self._views.update_controls(self._state)
            self._redraw(table=True)
            with self._quiet():
                self._filter_box.value = text or ""

    def go_to_page(self, page: int) -> None:
        """Show page ``page`` (from 1) of the table; out-of-range pages clamp to the ends."""
        with self._lock:
            self._state.go_to_page(page)
            self._push_table()

    def set_chart(
        self,
        kind: str | None = None,
        metric: str | None = None,
        param: str | None = None,
        runs: str | None = None,
        scale: str | None = None,
    ) -> None:
        """Switch the chart: ``kind`` is ``"history"``, ``"scatter"``, ``"bar"``,
        ``"parallel"`` or ``"diff"``; ``metric`` and ``param`` are keys (``"loss"``) as in
        the dropdowns; ``runs`` is ``"all"`` (every matching run: the default of scatter and
        parallel coordinates) or ``"selected"``; ``scale`` the params' axes: ``"auto"`` (log
        where a param spans decades), ``"linear"`` or ``"log"``."""
        with self._lock:
            self._views.set_chart(kind, metric, param, runs, scale)
            self._redraw()

    @property
    def status_text(self) -> str:
        """The status line as plain text (what the user reads above the table)."""
        with self._lock:
            text = re.sub(r"<div[^>]*>", "\n", str(self._status.value))
            return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()

    def refresh(self) -> None:
        """Read the store again, keeping the filter, order, page and selection. A store that
        cannot be read now is reported in the status line; the runs shown stay."""
        with self._lock:
            if self._closed:
                return
            if str(config.resolve_target()) != self._store_path:
                # Our runs live in the store we were opened on; the queries follow the
                # process's current store, so reading now would show another store's runs.
                self._problem = (
                    f"not refreshed: the tracking URI changed since this view was made "
                    f"({self._store_path}); call nbtrack.compare() again for the new store"
                )
                self._push_status()
                return
            try:
                self._state.refresh()
                self._problem = None
                self._views.update_controls(self._state)
                self._views.forget_histories()
                self._redraw(table=True)
            except Exception as exc:
                # Mostly called by the poller thread, where a raise reaches nobody: say it
                # where the user looks, keep the last runs, and try again on the next change.
                self._problem = f"not refreshed: {_reason(exc)}"
                if not isinstance(exc, NbtrackError):
                    log.warning("nbtrack: compare() could not refresh", exc_info=True)
                self._push_status()

    def chart_spec(self) -> dict[str, Any]:
        """The Vega-Lite spec of the chart now shown."""
        with self._lock:
            chart = self._views.chart.chart
            spec: dict[str, Any] = {} if chart is None else chart.to_dict()
            return spec

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The widget view, plus a static table and chart for where no widget front end runs
        (nbconvert to HTML, GitHub's preview): they show the ``text/html`` snapshot instead."""
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            with self._lock:
                columns = self._state.columns
                bundle["text/html"] = static.static_html(
                    columns=columns,
                    rows=self._state.page_rows(columns),
                    selected=self._state.selected,
                    chart=self._views.chart.chart,
                    caption=self._status.value,
                    total=self._state.total,
                )
        return bundle

    def close(self) -> None:
        """Free the widget and its parts (also done when its cell runs again)."""
        # ipywidgets also calls this from __del__, where a constructor that raised (a bad
        # experiment, say) left no parts behind.
        built = hasattr(self, "_views")
        with self._lock if built else nullcontext():
            self._closed = True
            poller.unwatch(self)
            for part in descendants(self) if built else []:
                part.close()
            super().close()

    @property
    def selection_bar(self) -> Any:
        """The buttons that choose the charted runs: all, none, and the top N."""
        return self._selection_bar

    def _make_parts(self, filter: str | None) -> list[Any]:
        self._filter_box = ipywidgets.Text(
            value=filter or "",
            placeholder=FILTER_EXAMPLE,
            description="filter",
            continuous_update=False,
            layout=ipywidgets.Layout(width="100%"),
        )
        self._status = ipywidgets.HTML()
        self._selection_bar = self._make_selection_bar()
        self._table = RunTable(page_size=self._state.page_size)
        self._views = CompareViews(self._state, self._quiet, self._on_chart_pick)
        self._push_table()
        self._push_status()
        views = self._views
        return [
            self._filter_box,
            self._status,
            self._selection_bar,
            self._table,
            views.controls,
            views.chart,
            views.diff_view,
            RestartNote("comparison"),
        ]

    def _make_selection_bar(self) -> Any:
        small = {"width": "auto", "height": "26px"}
        self._all_button = ipywidgets.Button(
            description="all", tooltip="chart every run that matches", layout=small
        )
        self._none_button = ipywidgets.Button(
            description="none", tooltip="chart no run until you click some", layout=small
        )
        self._top_button = ipywidgets.Button(layout=small)
        self._top_n_box = ipywidgets.BoundedIntText(
            value=DEFAULT_SELECTION,
            min=1,
            max=10_000,
            description="N",
            tooltip="how many runs the top button charts",
            style={"description_width": "16px"},
            layout={"width": "90px"},
        )
        label = ipywidgets.HTML("<span style='padding: 0 4px'>chart:</span>")
        bar = ipywidgets.HBox(
            [label, self._all_button, self._none_button, self._top_button, self._top_n_box],
            layout={"align_items": "center"},
        )
        bar.add_class("nbtrack-selection-bar")
        return bar

    def _connect(self) -> None:
        self._filter_box.observe(self._on_filter_box, names="value")
        self._table.observe(self._on_table_sort, names=["sort_by", "sort_desc"])
        self._table.observe(self._on_table_page, names="page")
        self._table.observe(self._on_table_selected, names="selected")
        self._table.observe(self._on_table_picked, names="picked")
        self._table.on_toggle(self._on_table_toggle)
        self._all_button.on_click(lambda _: self._from_front_end("all", self.select_all, False))
        self._none_button.on_click(lambda _: self._from_front_end("none", self.select_none, False))
        self._top_button.on_click(
            lambda _: self._from_front_end(
                "top", lambda: self.select_top(int(self._top_n_box.value)), False
            )
        )
        self._top_n_box.observe(self._on_top_n, names="value")
        for box in self._views.choosers:
            box.observe(self._on_view_control, names="value")

    # -- drawing ---------------------------------------------------------------------------------

    def _redraw(self, table: bool = False) -> None:
        if table:
            self._push_table()
        # The chart first: the status line says what it charts.
        self._views.draw(self._state)
        self._push_status()

    def _push_table(self) -> None:
        with self._quiet():
            self._table.show(self._state)
        self._label_top_button()

    def _label_top_button(self) -> None:
        state = self._state
        n = int(self._top_n_box.value)
        if state.sorted_by:
            order = "highest" if state.sort_desc else "lowest"
            self._top_button.description = f"top {n} by {state.sorted_by} ({order} first)"
        else:
            self._top_button.description = f"newest {n}"
        self._top_button.tooltip = "chart the first runs of the table's order (sort to choose)"

    def _push_status(self) -> None:
        problems = [p for p in (self._problem, self._action_problem) if p]
        self._status.value = status_html(self._state, self._views.charted_text, problems)

    # -- events from the front end ---------------------------------------------------------------

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Changes made by Python itself, which the change handlers must not act on."""
        self._quiet_depth += 1
        try:
            yield
        finally:
            self._quiet_depth -= 1

    def _from_front_end(self, what: str, action: Callable[[], None], change: bool = True) -> None:
        """Do what a click or a keystroke asks. The front end would show an exception nowhere
        but the log console: it goes to the status line instead, and the widget is drawn
        again from its state (whole: the state changes only once a step has succeeded).
        ``change``: called for a trait change, which is ignored when Python itself made it."""
        with self._lock:
            if self._closed or (change and self._quiet_depth):
                return
            try:
                self._action_problem = None
                action()
            except Exception as exc:
                if not isinstance(exc, NbtrackError):
                    log.warning("nbtrack: compare() could not handle %s", what, exc_info=True)
                self._action_problem = f"{what} failed: {_reason(exc)}"
                try:
                    self._redraw(table=True)
                except Exception:
                    log.warning("nbtrack: compare() could not redraw", exc_info=True)
                self._push_status()

    def _on_filter_box(self, change: dict[str, Any]) -> None:
        self._from_front_end("filter", lambda: self.set_filter(change["new"]))

    def _on_table_sort(self, change: dict[str, Any]) -> None:
        def sort() -> None:
            column = self._table.sort_by
            self.sort(column if column in self._state.sortable else "", self._table.sort_desc)

        self._from_front_end(f"sort by {self._table.sort_by}", sort)

    def _on_table_page(self, change: dict[str, Any]) -> None:
        self._from_front_end("page", lambda: self.go_to_page(int(change["new"])))

    def _on_table_selected(self, change: dict[str, Any]) -> None:
        self._from_front_end("select", lambda: self.select(self._state.known(change["new"])))

    def _on_table_toggle(self, run_id: str) -> None:
        def toggle() -> None:
            self._state.toggle(run_id)
            self._redraw(table=True)

        self._from_front_end("select", toggle, change=False)

    def _on_table_picked(self, change: dict[str, Any]) -> None:
        self._from_front_end("pick", lambda: self.pick(self._state.known(change["new"])))

    def _on_top_n(self, change: dict[str, Any]) -> None:
        self._from_front_end("top", self._label_top_button)

    def _on_chart_pick(self, change: dict[str, Any]) -> None:
        """A click in the chart: the picked runs become the table's picked rows (the chart
        already shows them highlighted, so it is not redrawn)."""

        def pick() -> None:
            value = getattr(change["new"], "value", None) or []
            ids = [
                str(item["run_id"]) for item in value if isinstance(item, dict) and "run_id" in item
            ]
            if ids != self._state.picked:
                self._state.pick_shown(ids)
                self._push_table()
                self._push_status()

        self._from_front_end("pick in the chart", pick, change=False)

    def _on_view_control(self, change: dict[str, Any]) -> None:
        def choose() -> None:
            self._views.read_controls()
            self._redraw()

        self._from_front_end("chart", choose)


def _reason(exc: BaseException) -> str:
    """An error in one line: nbtrack's own say what is wrong; others also name their type
    (a bare ``KeyError: 'metrics.auc'`` would read as "'metrics.auc'")."""
    if isinstance(exc, NbtrackError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
