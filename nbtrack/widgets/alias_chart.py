"""The alias history of a registered model drawn over time, and one move put in words: what
the registry widget shows under its versions. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import altair as alt
import pandas as pd

from nbtrack.widgets.chart_parts import (
    HEIGHT,
    MAX_ROWS,
    RUN_SCHEME,
    WIDTH,
    json_row,
    json_value,
    no_data,
)


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
        return no_data(title, "no alias was ever set")
    frame = _moves(history, pd.Timestamp.now(tz="UTC") if now is None else now)
    base = alt.Chart(alt.InlineData(values=[json_row(row) for row in frame.to_dict("records")]))
    x, y = _time_axis(frame["changed_at"]), _version_axis(frame["version"])
    colour = alt.Color("alias:N", title="alias", scale=alt.Scale(scheme=RUN_SCHEME))
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


def _moves(history: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """One row per point drawn: each move of each alias, plus a last one at ``now`` for an
    alias that still points somewhere (the newest ``MAX_ROWS`` rows at most)."""
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
                    "version": json_value(row["previous_version" if removed else "version"]),
                    "move": move_text(row["previous_version"], row["version"]),
                    "changed_by": str(row["changed_by"]),
                    "kind": "removed" if removed else "set",
                }
            )
            stint += removed
        if not pd.isna(rows.iloc[-1]["version"]):
            moves.append({**moves[-1], "changed_at": now.isoformat(), "kind": "now"})
    frame = pd.DataFrame(moves)
    return frame.tail(MAX_ROWS) if len(frame) > MAX_ROWS else frame


def _time_axis(changed_at: pd.Series[Any]) -> alt.X:
    times = pd.to_datetime(changed_at, utc=True, format="ISO8601")
    # Vega's default time labels turn to milliseconds (".800") when moves are seconds apart.
    short = times.max() - times.min() < pd.Timedelta(days=1)
    return alt.X(
        "changed_at:T",
        title="changed at (UTC)",
        axis=alt.Axis(format="%H:%M:%S" if short else "%Y-%m-%d", tickCount=6, labelOverlap=True),
    )


def _version_axis(version: pd.Series[Any]) -> alt.Y:
    """Whole versions only, with half a version of room above and below."""
    versions = sorted({int(v) for v in version.dropna()})
    return alt.Y(
        "version:Q",
        title="version",
        axis=alt.Axis(values=versions, format="d"),
        scale=alt.Scale(domain=[min(versions) - 0.5, max(versions) + 0.5]),
    )


def move_text(previous: Any, version: Any) -> str:
    """One alias move in words: set, moved (from → to) or removed."""
    if pd.isna(version):
        return f"removed (was version {int(previous)})"
    if pd.isna(previous):
        return f"set to version {int(version)}"
    return f"version {int(previous)} → {int(version)}"
