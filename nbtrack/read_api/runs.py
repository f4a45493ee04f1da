"""Experiments, a page of runs, one run and a metric's history, as JSON-able data.

A page of runs is ``RunTableState``'s (the table the compare widget shows), kept per
experiment, filter and order for as long as the store does not change, so turning pages or
re-asking costs a slice, not a query.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any

from nbtrack.entities import HIDDEN_TAG_PREFIX, Run, format_duration
from nbtrack.errors import InvalidValueError
from nbtrack.read_api import charts, paging, queries
from nbtrack.read_api.code import highlight
from nbtrack.read_api.watch import AnswerCache
from nbtrack.store import combined
from nbtrack.store.current import current_store
from nbtrack.tracking import fluent
from nbtrack.tracking.run_table import FIXED_COLUMNS, RunTableState, display_value
from nbtrack.tracking.search import metric_histories
from nbtrack.tracking.validation import check_name

if TYPE_CHECKING:
    pass

DEFAULT_PAGE_SIZE = 50
MAX_HISTORY_POINTS = 5000
DEFAULT_HISTORY_POINTS = 1000
CELL_ID_TAG = "nbtrack.cell_id"
HISTORY_ARTIFACT = "nbtrack/session_history.py"

_tables = AnswerCache()
_table_locks: dict[tuple[Any, ...], threading.Lock] = {}
_locks_lock = threading.Lock()


def clear_cache() -> None:
    _tables.clear()


def experiments(query: queries.Query) -> dict[str, Any]:
    """Every experiment (deleted ones only with ``deleted=true``), oldest first."""
    show_deleted = queries.flag(query, "deleted")
    found = [e for e in fluent.list_experiments() if show_deleted or not e.deleted]
    return {
        "experiments": [
            {
                "id": e.id,
                "name": e.name,
                "deleted": e.deleted,
                "created_at": display_value(e.created_at),
            }
            for e in found
        ]
    }


def runs_page(query: queries.Query) -> dict[str, Any]:
    """One page of an experiment's runs: ``experiment`` (name or id), ``filter`` (the grammar
    of ``search_runs``), ``sort`` (a column, ``-`` first for descending), ``page`` (from 1),
    ``page_size`` and ``columns`` (comma-separated; the table's own by default).

    Read from SQL a page at a time (``paging``); a sort SQL cannot do goes through
    ``RunTableState``, kept per experiment, filter and order while the store is unchanged."""
    experiment = queries.required(query, "experiment", "an experiment's name or id")
    filter_text = queries.text(query, "filter")
    sort = queries.text(query, "sort", "") or ""
    page_size = queries.number(query, "page_size", DEFAULT_PAGE_SIZE, 1, queries.MAX_PAGE_SIZE)
    page = queries.number(query, "page", 1, 1, 10**9)
    asked = queries.names(query, "columns")
    if paging.can_sort(sort):
        found = paging.sql_page(experiment, filter_text, sort, page, page_size)
        shown = _asked_columns(asked) or found.columns
        rows = [{k: row.get(k) for k in ("run_id", *shown)} for row in found.rows]
        answer = _answer(experiment, found.columns, shown, rows, sort, page_size, found)
        column = sort.removeprefix("-")
        if column and column not in found.columns and found.total:
            answer["sort_note"] = (
                f"not sorted by {column}: none of these runs has it, so newest first"
            )
        return answer
    return _state_page(experiment, filter_text, sort, page, page_size, asked)


def _answer(
    experiment: str, every: list[str], columns: list[str], rows: list[dict[str, Any]], sort: str,
    page_size: int, found: paging.Page,
) -> dict[str, Any]:  # fmt: skip
    empty = None
    if found.total == 0:
        note = f": {found.filter_note}" if found.filter_note else ""
        empty = (
            f"No run matches this filter{note}."
            if found.filter
            else f"No runs yet in experiment {experiment!r}: they appear here as they are "
            "logged (with nbtrack.start_run() or %%track)."
        )
    return {
        "experiment": experiment,
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
        "page_size": page_size,
        "sort": sort,
        "filter": found.filter,
        "filter_error": found.filter_error,
        "filter_note": found.filter_note,
        "sort_note": None,
        "empty_message": empty,
        "columns": columns,
        "all_columns": every,
        "rows": rows,
    }


def columns(query: queries.Query) -> dict[str, Any]:
    """Every column the experiment's runs have (the chooser's list; the page shows those its
    own runs have)."""
    experiment = queries.required(query, "experiment", "an experiment's name or id")
    return {"experiment": experiment, "columns": paging.keys(experiment)}


def _state_page(
    experiment: str, filter_text: str | None, sort: str, page: int, page_size: int,
    asked: list[str],
) -> dict[str, Any]:  # fmt: skip
    descending = sort.startswith("-")
    key = (experiment, filter_text, sort, page_size)
    table = _tables.get(key, lambda: _table(experiment, filter_text, sort, page_size))
    with _lock_for(key):
        table.go_to_page(page)
        columns = _chosen(table.columns, asked)
        return {
            "experiment": experiment,
            "total": table.total,
            "page": table.page,
            "pages": table.pages,
            "page_size": table.page_size,
            "sort": table.sorted_by and ("-" if descending else "") + table.sorted_by,
            "filter": table.filter,
            "filter_error": table.filter_error,
            "filter_note": table.filter_note,
            "sort_note": table.sort_note,
            "empty_message": table.empty_message if table.total == 0 else None,
            "columns": columns,
            "all_columns": table.columns,
            "rows": table.page_rows(columns),
        }


def _table(experiment: str, filter_text: str | None, sort: str, size: int) -> RunTableState:
    table = RunTableState(experiment=experiment, filter=filter_text, page_size=size)
    column = sort.removeprefix("-")
    if column:
        table.sort(column, descending=sort.startswith("-"))
    return table


def _lock_for(key: tuple[Any, ...]) -> threading.Lock:
    with _locks_lock:
        return _table_locks.setdefault(key, threading.Lock())


def _asked_columns(asked: list[str]) -> list[str]:
    """The columns asked for, each a fixed column or a key (no run on this page may have it)."""
    wrong = [c for c in asked if c not in FIXED_COLUMNS and not c.startswith(paging.KEY_KINDS)]
    if wrong:
        raise InvalidValueError(
            f"columns: {', '.join(map(repr, wrong))} are not columns; give some of "
            f"{', '.join(FIXED_COLUMNS)} and metrics.<key>, params.<key> or tags.<key>"
        )
    return asked


def _chosen(every: list[str], asked: list[str]) -> list[str]:
    if not asked:
        return every
    unknown = [c for c in asked if c not in every]
    if unknown:
        raise InvalidValueError(
            f"columns: {', '.join(map(repr, unknown))} not among this table's columns; "
            f"give some of: {', '.join(every)}"
        )
    return asked


def run(run_id: str) -> dict[str, Any]:
    """One run: its values, code (highlighted), notebook, parent and children."""
    found, experiment, parent = current_store().read(
        combined.run_and_relations, check_name(run_id, "run_id")
    )
    tags = {k: v for k, v in found.tags.items() if not k.startswith(HIDDEN_TAG_PREFIX)}
    own_tags = {k: v for k, v in found.tags.items() if k.startswith(HIDDEN_TAG_PREFIX)}
    return {
        "id": found.id,
        "name": found.name,
        "experiment_id": found.experiment_id,
        "experiment": experiment,
        "status": found.status,
        "start_time": display_value(found.start_time),
        "end_time": display_value(found.end_time),
        "duration": format_duration(found.duration) or None,
        "params": {
            k: exact(v) if not isinstance(v, list | dict) else v for k, v in found.params.items()
        },
        "metrics": {k: exact(v) for k, v in found.metrics.items()},
        "tags": tags,
        "nbtrack_tags": own_tags,
        "source_name": found.source_name,
        "cell_id": found.tags.get(CELL_ID_TAG),
        "code": _code(found),
        "git_commit": found.git_commit,
        "error": found.error,
        "user": found.user,
        "host": found.host,
        "parent": parent,
        "children": [{"id": c.id, "name": c.name, "status": c.status} for c in found.children],
    }


def _param(value: Any) -> Any:
    return value if isinstance(value, list | dict) else exact(value)


def _code(found: Run) -> dict[str, Any] | None:
    if not found.source:
        return None
    return {"text": found.source, "html": highlight(found.source, found.source_name)}


def history(query: queries.Query) -> dict[str, Any]:
    """A metric's history for each of ``runs`` (comma-separated ids), thinned to at most
    ``max_points`` per run: every n-th point and always the last."""
    ids = [check_name(r, "run id") for r in queries.names(query, "runs")]
    if not ids:
        raise InvalidValueError("the query needs runs=: one or more run ids, comma-separated")
    key = queries.required(query, "key", "a metric's name")
    points = queries.number(query, "max_points", DEFAULT_HISTORY_POINTS, 2, MAX_HISTORY_POINTS)
    frame = metric_histories(ids, [key], points)
    found = [
        {"run_id": r, "run_name": n, "step": int(s), "value": exact(v)}
        for r, n, s, v in frame[["run_id", "run_name", "step", "value"]].itertuples(index=False)
    ]
    return {"key": key, "points": found, "spec": charts.history_spec(key, found)}


def exact(value: Any) -> Any:
    """A logged value as JSON without rounding; NaN and infinities as text (JSON has none)."""
    if hasattr(value, "item"):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, bool | int | float | str) or value is None else str(value)
