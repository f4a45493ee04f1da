"""The run table's state: which runs, narrowed by what filter, in what order, on which page,
and which of them are selected and picked; what it says about them (a filter refused, a key no
run has, a sort that cannot apply).

A plain object, no widget behind it, so every face that lists runs (``compare()`` in a
notebook, the web UI, the JupyterLab extension) filters, sorts, pages and selects them the same
way, and so it is tested without a browser. It keeps every run that matches and decides the
order and the page; a view is handed one page of JSON-ready rows (``page_rows``), however many
runs there are. It is not thread-safe: its owner locks around it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from nbtrack.entities import format_duration
from nbtrack.errors import InvalidValueError, NbtrackError
from nbtrack.tracking import _current
from nbtrack.tracking.filter_keys import HIDDEN_TAGS, keys_named, unknown_key_note
from nbtrack.tracking.search import runs_frame

if TYPE_CHECKING:
    import pandas as pd

PAGE_SIZE = 25
DEFAULT_SELECTION = 5
FIXED_COLUMNS = ("run_name", "status", "start_time", "duration")
DISPLAY_DIGITS = 6


class RunTableState:
    """The runs of an experiment (or exactly the runs given) that match a filter, sorted and
    paged, with the runs selected (charted) and picked (highlighted) among them.

    Until runs are selected by hand, the first ``DEFAULT_SELECTION`` of the current order are,
    so a view has something to show on open; a sort or a new filter moves that automatic
    choice along, while a hand-made selection stays. ``auto_selected`` tells a view which it
    is, so it can show the default as a default; the first click on a row replaces it.

    Parameters
    ----------
    experiment : str, optional
        Name or id of the experiment whose runs to list; the current one by default.
    runs : sequence of run ids, ``Run`` or open runs, optional
        Exactly these runs, from any experiment, instead of an experiment's.
    filter : str, optional
        MLflow's filter syntax plus ``or`` and parentheses. A bad one does not raise: the
        runs are listed unfiltered and ``filter_error`` says what is wrong.
    page_size : int
        Rows per page.

    Raises
    ------
    NotFoundError
        No experiment has that name or id.
    InvalidValueError
        ``runs`` holds something that is not a run, or ``page_size`` is not a positive int.

    Examples
    --------
    >>> table = RunTableState("sweep", filter="metrics.acc > 0.9")  # doctest: +SKIP
    >>> table.sort("metrics.acc", descending=True)  # doctest: +SKIP
    >>> table.page_rows()[0]["run_name"]  # the best run  # doctest: +SKIP
    """

    def __init__(
        self,
        experiment: str | None = None,
        runs: Sequence[object] | None = None,
        filter: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.page_size = check_page_size(page_size)
        self.given_runs: list[object] | None = (
            None if runs is None else [getattr(r, "id", r) for r in runs]
        )
        if runs is None and experiment is None:
            experiment = _current.experiment_name()
        self.experiment = experiment
        self.filter: str | None = None
        # Why the last filter asked for was refused (the one before it stays in force).
        self.filter_error: str | None = None
        # The keys the filter names that no run has, with near misses (the filter matched
        # nothing because of them, or less than it seems to say).
        self.filter_note: str | None = None
        self._frame = self._first_query(filter)
        self.sort_by = ""
        self.sort_desc = False
        self._ordered = self._frame
        self.page = 1
        self._selected: list[str] = []
        self._auto_select = True
        self._picked: list[str] = []
        self._choose_default_selection()
        self._note_unknown_keys()

    # -- what a view reads -----------------------------------------------------------------------

    @property
    def frame(self) -> pd.DataFrame:
        """Every run that matches, in the store's order (newest first); not a copy."""
        return self._frame

    @property
    def ordered(self) -> pd.DataFrame:
        """Every run that matches, in the table's order; not a copy."""
        return self._ordered

    @property
    def runs(self) -> pd.DataFrame:
        """A copy of the runs that match, in the table's order (as ``search_runs`` returns)."""
        return self._ordered.reset_index(drop=True).copy()

    @property
    def total(self) -> int:
        """How many runs match."""
        return len(self._frame)

    @property
    def pages(self) -> int:
        """How many pages the runs fill (at least one, even when there are none)."""
        return max(1, math.ceil(len(self._frame) / self.page_size))

    @property
    def selected(self) -> list[str]:
        """Ids of the selected runs (those a view charts)."""
        return list(self._selected)

    @property
    def auto_selected(self) -> bool:
        """Whether the selection is the automatic one (the first runs of the order), not a
        choice the user made."""
        return self._auto_select

    @property
    def stale(self) -> bool:
        """Whether the runs listed are not what the filter box says: the last filter typed was
        refused (``filter_error``), so these match the one before it (``filter``)."""
        return self.filter_error is not None

    @property
    def sorted_by(self) -> str:
        """The column the runs are in order of: ``sort_by``, or ``""`` while no run listed
        has it (they are then in the store's order, and ``sort_by`` applies again once runs
        that have it are listed)."""
        return self.sort_by if _can_sort(self._frame, self.sort_by) else ""

    @property
    def sort_note(self) -> str | None:
        """Why the runs are not in the order asked for, if they are not."""
        if not self.sort_by or self.sorted_by:
            return None
        return (
            f"not sorted by {self.sort_by}: none of these runs has it, so newest first "
            "(the sort comes back when runs that have it are listed)"
        )

    @property
    def picked(self) -> list[str]:
        """Ids of the picked runs (highlighted everywhere; empty until some are picked)."""
        return list(self._picked)

    @property
    def columns(self) -> list[str]:
        """The columns to show: the fixed ones, the experiment when there are several, then
        metrics, params and tags (nbtrack's own tags left out), each sorted by name."""
        names = list(self._frame.columns)
        several = "experiment" in names and self._frame["experiment"].nunique() > 1
        return [
            *FIXED_COLUMNS,
            *(["experiment"] if several else []),
            *sorted(c for c in names if c.startswith("metrics.")),
            *sorted(c for c in names if c.startswith("params.")),
            *sorted(c for c in names if c.startswith("tags.") and not c.startswith(HIDDEN_TAGS)),
        ]

    @property
    def sortable(self) -> list[str]:
        """The columns ``sort`` accepts."""
        return [c for c in self.columns if c == "duration" or c in self._frame.columns]

    @property
    def empty_message(self) -> str:
        """What to say where the rows would be when no run matches."""
        if self.filter:
            note = f": {self.filter_note}" if self.filter_note else ""
            return f"No run matches this filter{note}."
        if self.given_runs is not None:
            return "None of the given runs exists any more."
        return (
            f"No runs yet in experiment {self.experiment!r}: they appear here as they are "
            "logged (with nbtrack.start_run() or %%track)."
        )

    def page_rows(self, columns: list[str] | None = None) -> list[dict[str, Any]]:
        """The current page's runs as JSON-ready dicts keyed by ``columns`` (by default
        ``self.columns``), each also carrying ``run_id``."""
        start = (self.page - 1) * self.page_size
        page = self._ordered.iloc[start : start + self.page_size]
        durations = _durations(page).map(_duration_text)
        return table_rows(
            page.assign(duration=durations), self.columns if columns is None else columns
        )

    def known(self, ids: Sequence[str]) -> list[str]:
        """Those of ``ids`` that are among the runs that match, in the order given."""
        present = set(self._frame["run_id"])
        return [run_id for run_id in ids if run_id in present]

    def labels(self, ids: Sequence[str]) -> dict[str, str]:
        """``name (short id)`` of each of ``ids`` the table holds, in the order given."""
        rows = self._frame[self._frame["run_id"].isin(ids)]
        names = dict(zip(rows["run_id"], rows["run_name"].fillna(""), strict=True))
        labels = {run_id: f"{names.get(run_id) or run_id[:8]} ({run_id[:8]})" for run_id in ids}
        return {run_id: labels[run_id] for run_id in ids if run_id in names}

    # -- what a user does ------------------------------------------------------------------------

    def set_filter(self, text: str | None) -> bool:
        """Keep only the runs ``text`` matches (``""`` or None: every run), back on page 1.
        A bad filter changes nothing but ``filter_error``; returns whether it was applied."""
        wanted = (text or "").strip() or None
        try:
            frame = self._query(wanted)
        except InvalidValueError as exc:
            self.filter_error = str(exc)
            return False
        self._replace_frame(frame)
        self.filter, self.filter_error = wanted, None
        self.page = 1
        self._note_unknown_keys()
        return True

    def refresh(self) -> None:
        """Read the runs again, keeping the filter, order, page and selection (of the runs
        still there). Raises ``NbtrackError`` when the store cannot be read, changing nothing."""
        self._replace_frame(self._query(self.filter))
        self.page = min(self.page, self.pages)
        self._note_unknown_keys()

    def sort(self, column: str, descending: bool = False) -> None:
        """Order by ``column`` (e.g. ``"metrics.acc"``; ``""`` for the store's order, newest
        first), back on page 1. Missing values go last either way."""
        if column and column not in self.sortable:
            raise InvalidValueError(
                f"sort(): no column {column!r}; sortable: {', '.join(self.sortable)}"
            )
        self.sort_by, self.sort_desc = column, bool(descending)
        self.page = 1
        self._reorder()

    def go_to_page(self, page: int) -> None:
        """Turn to page ``page`` (from 1); out-of-range pages clamp to the ends."""
        if isinstance(page, bool) or not isinstance(page, int):
            raise InvalidValueError(f"go_to_page(): page must be an int, got {page!r}")
        self.page = min(max(1, page), self.pages)

    def select(self, ids: Sequence[str]) -> None:
        """Select exactly these runs: a hand-made choice, which sorting no longer moves."""
        self.check_known(ids, "select()")
        self._selected = list(dict.fromkeys(ids))
        self._auto_select = False

    def toggle(self, run_id: str) -> None:
        """A click on a run's row. While the selection is the automatic one, the click starts
        the user's own with that run (the default five were never chosen, so a click on one of
        them must not remove the run it meant); after that it adds or removes the run."""
        self.check_known([run_id], "toggle()")
        if self._auto_select:
            chosen = [run_id]
        elif run_id in self._selected:
            chosen = [r for r in self._selected if r != run_id]
        else:
            chosen = [*self._selected, run_id]
        self._selected, self._auto_select = chosen, False

    def select_all(self) -> None:
        """Select every run that matches, in the table's order."""
        self.select(list(self._ordered["run_id"]))

    def select_none(self) -> None:
        """Select no run (a choice: a refresh does not bring the automatic five back)."""
        self.select([])

    def select_top(self, n: int) -> None:
        """Select the first ``n`` runs of the table's order: the top ``n`` by the sorted
        column (the newest ``n`` while unsorted)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidValueError(f"select_top(): n must be a positive int, got {n!r}")
        self.select(list(self._ordered["run_id"].head(n)))

    def pick(self, ids: Sequence[str]) -> None:
        """Pick exactly these runs (``[]`` clears the pick), select those not selected yet,
        and turn to the page of the first unless one is on this page."""
        self.check_known(ids, "pick()")
        self._picked = list(dict.fromkeys(ids))
        self.add_to_selection(self._picked)
        self._show_page_of(self._picked)

    def pick_shown(self, ids: Sequence[str]) -> None:
        """Pick the runs clicked in a view of the selected ones: ids the table does not hold
        are ignored and the selection is left alone (the view already shows them)."""
        self._picked = self.known(list(dict.fromkeys(ids)))
        self._show_page_of(self._picked)

    def add_to_selection(self, ids: Sequence[str]) -> None:
        """Select the runs of ``ids`` not selected yet (a hand-made choice from then on)."""
        missing = [run_id for run_id in ids if run_id not in self._selected]
        if missing:
            self._selected = [*self._selected, *missing]
            self._auto_select = False

    def check_known(self, ids: Sequence[str], what: str) -> None:
        """Raise, naming ``what`` was called, unless every one of ``ids`` is in the table."""
        known = set(self._frame["run_id"])
        unknown = [run_id for run_id in ids if run_id not in known]
        if unknown:
            raise InvalidValueError(
                f"{what}: {', '.join(map(repr, unknown[:3]))} not among the "
                f"{len(known)} runs this widget shows (filter: {self.filter!r})"
            )

    # -- keeping it consistent -------------------------------------------------------------------

    def _first_query(self, filter: str | None) -> pd.DataFrame:
        """The runs to open with; a bad filter is kept for show, a bad experiment or run raises."""
        wanted = (filter or "").strip() or None
        try:
            frame = self._query(wanted)
        except InvalidValueError as exc:
            if wanted is None:
                raise
            frame = self._query(None)
            self.filter_error = str(exc)
        else:
            self.filter = wanted
        return frame

    def _query(self, filter: str | None) -> pd.DataFrame:
        return runs_frame(experiment=self.experiment, runs=self.given_runs, filter=filter)

    def _replace_frame(self, frame: pd.DataFrame) -> None:
        # Everything that can fail comes first: a state half replaced is a widget whose
        # later clicks look ignored.
        ordered = _sorted(frame, self.sort_by, self.sort_desc)
        known = set(frame["run_id"])
        had_selection = bool(self._selected)
        self._frame, self._ordered = frame, ordered
        self._selected = [run_id for run_id in self._selected if run_id in known]
        self._picked = [run_id for run_id in self._picked if run_id in known]
        if had_selection and not self._selected:
            # The runs chosen are all gone: show something rather than an empty chart. A
            # selection emptied on purpose (select_none) stays empty.
            self._auto_select = True
        if self._auto_select:
            self._choose_default_selection()

    def _reorder(self) -> None:
        self._ordered = _sorted(self._frame, self.sort_by, self.sort_desc)
        if self._auto_select:
            self._choose_default_selection()

    def _note_unknown_keys(self) -> None:
        """Say which keys the filter names that no run has (with near misses)."""
        present = set(self._frame.columns)
        missing = [key for key in keys_named(self.filter) if key not in present]
        if missing:
            # Not among the runs that match; maybe not among any: ask the unfiltered runs.
            try:
                present = set(self._query(None).columns)
            except NbtrackError:
                self.filter_note = None  # a note is not worth an error: the runs are right
                return
            missing = [key for key in missing if key not in present]
        where = f"experiment {self.experiment!r}" if self.given_runs is None else "the runs given"
        self.filter_note = unknown_key_note(missing, sorted(present), where)

    def _choose_default_selection(self) -> None:
        self._selected = list(self._ordered["run_id"].head(DEFAULT_SELECTION))

    def _show_page_of(self, ids: list[str]) -> None:
        """Turn to the page holding the first of ``ids``, unless one is on this page."""
        order = list(self._ordered["run_id"])
        pages = {order.index(run_id) // self.page_size + 1 for run_id in ids if run_id in order}
        if pages and self.page not in pages:
            self.page = min(pages)


def check_page_size(page_size: int) -> int:
    """``page_size`` if it is a positive int; raises otherwise."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise InvalidValueError(f"page_size must be a positive int, got {page_size!r}")
    return page_size


def _can_sort(frame: pd.DataFrame, column: str) -> bool:
    return column == "duration" or column in frame.columns


def _sorted(frame: pd.DataFrame, column: str, descending: bool) -> pd.DataFrame:
    """``frame`` ordered by ``column`` (``""``, or a column it lacks: as it is), missing values
    last, ties kept in their order."""
    if not column or frame.empty or not _can_sort(frame, column):
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
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() == values.notna().sum():
        return numbers
    return values.astype("string").str.lower()


def _durations(frame: pd.DataFrame) -> pd.Series[float]:
    """Seconds the run was active (the sum of its spans, as ``search_runs`` gives them), or
    from start to end, or to now for a run still going, in a frame without them."""
    import pandas as pd

    if frame.empty:
        return pd.Series([], index=frame.index, dtype="float64")
    # Not rounded: a 32 ms run must not read "0 ms" once its text gets a unit.
    if "duration" in frame.columns:
        return frame["duration"].astype("float64")
    now = pd.Timestamp(datetime.now(UTC))
    ends = frame["end_time"].where(frame["end_time"].notna(), now)
    return (ends - frame["start_time"]).dt.total_seconds()


def _duration_text(seconds: float) -> str | None:
    """Seconds as a person reads them, with their unit ("790 ms", "3 min 4 s")."""
    return None if math.isnan(seconds) else format_duration(timedelta(seconds=seconds))


def table_rows(page: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """``page``'s runs as JSON-safe dicts: times as text, floats rounded, NaN as None."""
    keep = ["run_id", *(c for c in columns if c != "run_id" and c in page.columns)]
    return [
        {str(key): display_value(value) for key, value in record.items()}
        for record in page[keep].to_dict("records")
    ]


def display_value(value: Any) -> Any:
    """One cell as JSON: what the browser can show without knowing pandas or numpy."""
    import pandas as pd

    if isinstance(value, list | tuple | dict):
        return str(value)
    if value is None or pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        # Local time: what the clock on the wall said when the run started.
        stamp = value.astimezone() if value.tzinfo is not None else value
        return stamp.strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(value, "item"):
        value = value.item()  # numpy scalars
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return float(f"{value:.{DISPLAY_DIGITS}g}")
    return str(value)
