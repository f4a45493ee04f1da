"""A page of a large experiment's runs straight from SQL: the count, the keys, and only the
rows up to the page asked for, so 50 rows of 10,000 runs cost what 50 rows cost.

The runs table's rules are ``RunTableState``'s (its columns, its refusals, its notes, its
cells); only the order is the store's (``search_runs``'s, MLflow's: missing values last,
params that read as numbers in numeric order). A sort SQL cannot express (``duration``) is
left to ``RunTableState``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from nbtrack.entities import format_duration
from nbtrack.errors import InvalidValueError
from nbtrack.store import combined
from nbtrack.store.current import current_store
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.tracking.filter_keys import HIDDEN_TAGS, keys_named, unknown_key_note
from nbtrack.tracking.filters import compile_filter, compile_order_by
from nbtrack.tracking.run_table import FIXED_COLUMNS, table_rows

if TYPE_CHECKING:
    pass

# Sorts on these columns are the store's attributes; metrics., params. and tags. are keys.
KEY_KINDS = ("metrics.", "params.", "tags.")
_ATTRIBUTES = {"run_name": "attributes.run_name", "status": "status", "start_time": "start_time"}


@dataclass
class Page:
    """One page and what the table says about it."""

    total: int
    page: int
    pages: int
    columns: list[str]
    rows: list[dict[str, Any]]
    filter: str | None
    filter_error: str | None
    filter_note: str | None


def can_sort(sort: str) -> bool:
    column = sort.removeprefix("-")
    return (
        not column or column in _ATTRIBUTES or column.startswith(("metrics.", "params.", "tags."))
    )


def sql_page(
    experiment: str, filter_text: str | None, sort: str, page: int, page_size: int
) -> Page:
    """Page ``page`` (clamped to the last) of ``experiment``'s runs matching ``filter_text``,
    in the order of ``sort`` (a column, ``-`` first for descending). Its columns are those its
    runs have (``keys`` lists every one the experiment's runs have, for a chooser)."""
    filter_error = None
    try:
        where = compile_filter(filter_text)
    except InvalidValueError as exc:
        filter_error, filter_text, where = str(exc), None, compile_filter(None)
    order = compile_order_by(_order(sort))
    store = current_store()
    root = str((store.folder / ARTIFACTS_FOLDER).resolve())

    # One connection for the count and the rows: the page and its total agree.
    total, shown, frame = store.read(
        combined.page_of_experiment_runs,
        experiment,
        (where.sql, where.params),
        (order.sql, order.params),
        page,
        page_size,
        root,
    )
    columns = _columns([str(c) for c in frame.columns])
    return Page(
        total=total,
        page=shown,
        pages=max(1, math.ceil(total / page_size)),
        columns=columns,
        rows=table_rows(frame.assign(duration=frame["duration"].map(_duration)), columns),
        filter=filter_text,
        filter_error=filter_error,
        filter_note=_note(filter_text, columns, experiment),
    )


def keys(experiment: str) -> list[str]:
    """Every column the experiment's runs could show, for the columns chooser."""

    return _columns(current_store().read(combined.experiment_run_keys, experiment))


def _order(sort: str) -> str | None:
    column = sort.removeprefix("-")
    if not column:
        return None
    return f"{_ATTRIBUTES.get(column, column)} {'DESC' if sort.startswith('-') else 'ASC'}"


def _columns(keys: list[str]) -> list[str]:
    # As RunTableState.columns: the fixed ones, then metrics, params and visible tags.
    return [
        *FIXED_COLUMNS,
        *(k for k in keys if k.startswith("metrics.")),
        *(k for k in keys if k.startswith("params.")),
        *(k for k in keys if k.startswith("tags.") and not k.startswith(HIDDEN_TAGS)),
    ]


def _duration(seconds: float | None) -> str | None:
    if seconds is None or math.isnan(seconds):
        return None
    return format_duration(timedelta(seconds=seconds))


def _note(filter_text: str | None, shown: list[str], experiment: str) -> str | None:
    missing = [key for key in keys_named(filter_text) if key not in shown]
    if not missing:
        return None
    # Not among the runs of this page; maybe not among any: ask for every key (rare: a filter
    # that names a key no run has usually matches nothing).
    every = keys(experiment)
    return unknown_key_note(
        [k for k in missing if k not in every], every, f"experiment {experiment!r}"
    )
