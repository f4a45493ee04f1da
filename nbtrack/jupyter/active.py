"""The run a kernel is running now, for the lab's status bar: one small answer per store change.

``%%track`` tags each run with its kernel's id, so the lab, which knows the id of the kernel
of the notebook in front, asks for the RUNNING run with that tag in any experiment.
"""

from __future__ import annotations

import math
import re
from typing import Any

from nbtrack.errors import InvalidValueError
from nbtrack.read_api.watch import AnswerCache
from nbtrack.tracking import fluent, search

KERNEL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
KERNEL_TAG = "nbtrack.kernel_id"
_answers = AnswerCache()


def active_run(kernel_id: str) -> dict[str, Any] | None:
    """The newest RUNNING run of ``kernel_id``: id, name, start (epoch seconds) and its
    first metric's latest value; None when the kernel runs none."""
    if not KERNEL_ID.fullmatch(kernel_id):
        raise InvalidValueError(
            f"kernel={kernel_id!r} is not accepted; give a Jupyter kernel id (a UUID)"
        )
    return _answers.get(kernel_id, lambda: _find(kernel_id))


def _find(kernel_id: str) -> dict[str, Any] | None:
    experiments = [e.id for e in fluent.list_experiments() if not e.deleted]
    if not experiments:
        return None
    # The id was checked against KERNEL_ID above, and the filter is parsed, never pasted.
    found = search.search_runs(
        experiment=experiments,
        filter=f"tags.{KERNEL_TAG} = '{kernel_id}' and attributes.status = 'RUNNING'",
        order_by="start_time DESC",
        max_results=1,
    )
    if found.empty:
        return None
    row = found.iloc[0]
    metrics = [c for c in found.columns if c.startswith("metrics.") and _number(row[c])]
    first = metrics[0] if metrics else None
    return {
        "run_id": str(row["run_id"]),
        "name": str(row["run_name"]),
        "start": row["start_time"].timestamp(),
        "metric": first.removeprefix("metrics.") if first else None,
        "value": float(row[first]) if first else None,
    }


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
