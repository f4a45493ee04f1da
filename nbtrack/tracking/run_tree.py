"""Child runs under their parents: the order a table of runs needs to group them.

``search_runs`` gives each run's ``parent_run_id``; a front end that lists runs as a table
(the comparison widget, the command line, the web UI) calls ``under_parents`` to show each
child right below its parent, indented by ``depth``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def under_parents(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with ``run_id`` and ``parent_run_id``) reordered so that each run's children
    follow it, and a ``depth`` column: 0 for a run without a parent in the frame, 1 for its
    children, 2 for theirs.

    The runs at each level keep the order they had: sort the frame first (by a metric, by
    start time), then group. A child whose parent is not in the frame (filtered out, or in
    another experiment) stays where it was, at depth 0.

    Examples
    --------
    >>> under_parents(nbtrack.search_runs())[["run_name", "depth"]]  # doctest: +SKIP
    """
    ids = frame["run_id"].tolist()
    present = set(ids)
    parents = [
        parent if isinstance(parent, str) and parent in present and parent != run_id else None
        for run_id, parent in zip(ids, frame["parent_run_id"].tolist(), strict=True)
    ]
    children: dict[str, list[int]] = {}
    for row, parent in enumerate(parents):
        if parent is not None:
            children.setdefault(parent, []).append(row)
    order: list[int] = []
    depths: list[int] = []
    placed: set[int] = set()
    for root in (row for row, parent in enumerate(parents) if parent is None):
        stack = [(root, 0)]
        while stack:
            row, depth = stack.pop()
            if row in placed:
                continue
            placed.add(row)
            order.append(row)
            depths.append(depth)
            stack.extend((child, depth + 1) for child in reversed(children.get(ids[row], [])))
    # A parent chain that loops (only a hand-edited store has one) has no root: kept as is.
    for row in range(len(ids)):
        if row not in placed:
            order.append(row)
            depths.append(0)
    grouped = frame.iloc[order].copy()
    grouped["depth"] = depths
    return grouped
