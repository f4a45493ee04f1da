"""Several runs side by side: their values, charts of a metric and a param, the code diff."""

from __future__ import annotations

from typing import Any

from nbtrack.errors import InvalidValueError
from nbtrack.read_api import charts, queries, runs
from nbtrack.tracking.diff import MISSING, diff
from nbtrack.tracking.run_table import display_value
from nbtrack.tracking.search import metric_histories, runs_frame
from nbtrack.tracking.validation import check_name

MAX_RUNS = 50


def compare(query: queries.Query) -> dict[str, Any]:
    """``runs`` (2 to ``MAX_RUNS`` ids); ``metric`` and ``param`` choose the charts (the first
    of each by default)."""
    ids = [check_name(r, "run id") for r in queries.names(query, "runs")]
    if not 1 <= len(ids) <= MAX_RUNS:
        raise InvalidValueError(
            f"runs= names {len(ids)} runs; give from 1 to {MAX_RUNS} run ids, comma-separated"
        )
    frame = runs_frame(runs=ids)
    rows = [
        {str(k): display_value(v) for k, v in record.items()} for record in frame.to_dict("records")
    ]
    metric_keys = sorted(
        c.removeprefix("metrics.") for c in frame.columns if c.startswith("metrics.")
    )
    param_keys = sorted(c.removeprefix("params.") for c in frame.columns if c.startswith("params."))
    metric = _choice(query, "metric", _curves_first(ids, metric_keys))
    param = _choice(query, "param", param_keys)
    specs: dict[str, Any] = {}
    if metric:
        history = runs.history({"runs": ",".join(ids), "key": metric})
        specs["history"] = history["spec"]
        specs["parallel"] = charts.parallel_spec(param_keys, metric, rows)
        if param:
            specs["scatter"] = charts.scatter_spec(param, metric, rows)
    return {
        "runs": rows,
        "metric_keys": metric_keys,
        "param_keys": param_keys,
        "metric": metric,
        "param": param,
        "charts": specs,
        "diff": _diff(ids) if len(ids) >= 2 else None,
    }


def _curves_first(ids: list[str], keys: list[str]) -> list[str]:
    """``keys`` with those logged at several steps first: the default chart is then a curve."""
    points = metric_histories(ids, None, 2)
    curves = set(points.loc[points.duplicated(["run_id", "key"]), "key"])
    return sorted(keys, key=lambda k: k not in curves)


def _keys(columns: Any, prefix: str) -> list[str]:
    return sorted(str(c).removeprefix(prefix) for c in columns if str(c).startswith(prefix))


def _choice(query: queries.Query, name: str, keys: list[str]) -> str | None:
    chosen = queries.text(query, name)
    if chosen is None:
        return keys[0] if keys else None
    if chosen not in keys:
        raise InvalidValueError(
            f"{name}={chosen!r} is not one of these runs' {name}s; give one of: "
            f"{', '.join(sorted(keys))}"
        )
    return chosen


def _diff(ids: list[str]) -> dict[str, Any]:
    found = diff(ids[0], ids[1])
    return {
        "a": ids[0],
        "b": ids[1],
        "code_lines": list(found.code_lines),
        "params": {k: [_side(a), _side(b)] for k, (a, b) in found.param_changes.items()},
        "metrics": {k: [_side(a), _side(b)] for k, (a, b) in found.metric_changes.items()},
    }


def _side(value: Any) -> Any:
    return None if value is MISSING else display_value(value)
