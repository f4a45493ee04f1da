"""What the registry widget draws, as HTML: the summary line of a registered model, the cells of
its version grid (the widget adds each row's buttons), the alias history table and the
status line. Functions of entities and frames; nothing here reads the store or acts on it.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any, Final

import ipywidgets  # type: ignore[import-untyped]

from nbtrack.entities import ARCHIVED, ModelVersion, RegisteredModel
from nbtrack.widgets.alias_chart import move_text

if TYPE_CHECKING:
    import pandas as pd

MAX_HISTORY_ROWS: Final = 20
ERROR_COLOUR: Final = "var(--jp-error-color1, #d32f2f)"
OK_COLOUR: Final = "var(--jp-success-color1, #388e3c)"
_CELL: Final = "padding: 2px 8px; white-space: nowrap"
_CHIP: Final = (
    "display: inline-block; margin-right: 4px; padding: 0 7px; border-radius: 9px; "
    "background: var(--jp-brand-color3, #bbdefb); color: var(--jp-ui-font-color0, #000)"
)


def summary_html(model: RegisteredModel | None) -> str:
    """How many versions, the aliases as chips, the description and the tags of ``model``
    (or how to register one, while there is none)."""
    if model is None:
        return (
            "<i>No registered model yet: register one with "
            "<code>nbtrack.register_model(uri, name)</code> or "
            "<code>nbtrack.log_model(..., registered_model_name=name)</code>; it appears "
            "here by itself.</i>"
        )
    parts = [f"{model.version_count} version{'' if model.version_count == 1 else 's'}"]
    if model.aliases:
        parts.append(
            " ".join(
                _chip(f"{alias} → v{version}") for alias, version in sorted(model.aliases.items())
            )
        )
    if model.description:
        parts.append(f"<i>{html.escape(model.description)}</i>")
    if model.tags:
        parts.append(", ".join(f"{html.escape(k)}={html.escape(v)}" for k, v in model.tags.items()))
    return f'<div style="{_CELL}; line-height: 28px">{" · ".join(parts)}</div>'


def heading_cells(headings: list[str]) -> list[Any]:
    """The grid's first row (metric columns named by their key)."""
    return [
        ipywidgets.HTML(f'<b style="{_CELL}">{html.escape(h.removeprefix("metrics."))}</b>')
        for h in headings
    ]


def version_cells(version: ModelVersion, run: dict[str, Any], metrics: list[str]) -> list[Any]:
    """The cells of ``version``'s row before its buttons: number, status, aliases, the run
    behind it (``run``, a row of ``search_runs``) with its ``metrics``, and when it was
    registered; an archived version is greyed."""
    tone = "opacity: 0.55;" if version.status == ARCHIVED else ""
    run_label = run.get("run_name") or ""
    run_html = (
        f'<span title="{html.escape(version.run_id)}">{html.escape(str(run_label))} '
        f"<code>{html.escape(version.run_id[:8])}</code></span>"
        if version.run_id
        else '<span title="registered from a folder">—</span>'
    )
    texts = [
        f"<b>v{version.version}</b>",
        html.escape(version.status),
        " ".join(_chip(a) for a in version.aliases),
        run_html,
        *(_number(run.get(column)) for column in metrics),
        html.escape(version.created_at.strftime("%Y-%m-%d %H:%M")),
    ]
    return [ipywidgets.HTML(f'<div style="{_CELL}; {tone}">{text}</div>') for text in texts]


def older_versions_cell(more: int) -> Any:
    """The note under the grid when ``more`` older versions are left out."""
    note = f"{more} older version{'' if more == 1 else 's'} not shown"
    return ipywidgets.HTML(f'<i style="{_CELL}">{note}</i>')


def history_html(history: pd.DataFrame) -> str:
    """The latest alias moves (``get_alias_history``'s rows), newest first, as a table; one
    short line while there is none."""
    if history.empty:
        return (
            f'<div style="{_CELL}; opacity: 0.7"><i>No alias set yet: promote a version to '
            "start the alias history.</i></div>"
        )
    rows = history.iloc[::-1].head(MAX_HISTORY_ROWS)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="{_CELL}">{html.escape(text)}</td>'
            for text in (
                row["changed_at"].strftime("%Y-%m-%d %H:%M:%S"),
                str(row["alias"]),
                move_text(row["previous_version"], row["version"]),
                str(row["changed_by"]),
            )
        )
        + "</tr>"
        for row in rows.to_dict("records")
    )
    head = "".join(
        f'<th style="{_CELL}; text-align: left">{h}</th>'
        for h in ("changed at (UTC)", "alias", "move", "by")
    )
    more = len(history) - len(rows)
    tail = f'<div style="{_CELL}"><i>{more} earlier moves not shown</i></div>' if more else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{tail}"


def status_html(text: str, ok: bool) -> str:
    """The status line: what the last action did (``ok``), or why it was refused."""
    colour = OK_COLOUR if ok else ERROR_COLOUR
    return f'<div style="color: {colour}; white-space: pre-wrap; {_CELL}">{html.escape(text)}</div>'


def _chip(text: str) -> str:
    return f'<span style="{_CHIP}">{html.escape(text)}</span>'


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))
