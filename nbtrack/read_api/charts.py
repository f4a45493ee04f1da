"""Vega-Lite specs of the pages' charts, as plain dicts with their data inline.

The same charts as the widgets' (curves per run, a param against a metric, parallel
coordinates), written as data rather than Altair objects so that the read API needs neither
Altair nor pandas to answer, and the pages only hand a spec to ``vegaEmbed``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# A name, never fetched: the bundled Vega-Lite (6.x, from vl-convert) draws it.
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WIDTH = 560
HEIGHT = 260
Spec = dict[str, Any]
Row = dict[str, Any]


def history_spec(key: str, points: Sequence[Row]) -> Spec:
    """``key`` against its step, one line per run (``points``: run_id, run_name, step, value)."""
    values = [{**p, "run": _label(p)} for p in points if isinstance(p.get("value"), int | float)]
    return {
        "$schema": SCHEMA,
        "title": key,
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": values},
        "mark": {"type": "line", "point": len(values) <= 60, "tooltip": True},
        "encoding": {
            "x": {
                "field": "step",
                "type": "quantitative",
                "title": "step",
                "axis": {"format": "d", "tickMinStep": 1},
            },
            "y": {"field": "value", "type": "quantitative", "title": key, "scale": {"zero": False}},
            "color": {"field": "run", "type": "nominal", "title": "run"},
        },
    }


def scatter_spec(param: str, metric: str, runs: Sequence[Row]) -> Spec:
    """One point per run: ``params.<param>`` across, ``metrics.<metric>`` up."""
    x, y = f"params.{param}", f"metrics.{metric}"
    values = [
        {"run": _label(r), "x": r.get(x), "y": r.get(y)}
        for r in runs
        if r.get(x) is not None and isinstance(r.get(y), int | float)
    ]
    numeric = all(isinstance(v["x"], int | float) for v in values)
    return {
        "$schema": SCHEMA,
        "title": f"{metric} against {param}",
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": values},
        "mark": {"type": "point", "filled": True, "size": 90, "tooltip": True},
        "encoding": {
            "x": {
                "field": "x",
                "type": "quantitative" if numeric else "nominal",
                "title": param,
                **({"scale": {"zero": False}} if numeric else {}),
            },
            "y": {"field": "y", "type": "quantitative", "title": metric, "scale": {"zero": False}},
            "color": {"field": "run", "type": "nominal"},
        },
    }


def parallel_spec(params: Sequence[str], metric: str, runs: Sequence[Row]) -> Spec:
    """Parallel coordinates: an axis per numeric param and the metric, each scaled 0 to 1."""
    axes = [f"params.{p}" for p in params] + [f"metrics.{metric}"]
    numeric = [a for a in axes if _numeric(a, runs)]
    values: list[Row] = []
    for axis in numeric:
        found = [float(r[axis]) for r in runs if _finite(r.get(axis))]
        low, high = min(found), max(found)
        for r in runs:
            if _finite(r.get(axis)):
                scaled = 0.5 if high == low else (float(r[axis]) - low) / (high - low)
                values.append({"run": _label(r), "axis": axis, "scaled": scaled, "value": r[axis]})
    return {
        "$schema": SCHEMA,
        "title": f"params and {metric}",
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": values},
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {
                "field": "axis",
                "type": "nominal",
                "sort": numeric,
                "title": None,
                "axis": {"labelAngle": 0},
            },
            "y": {"field": "scaled", "type": "quantitative", "axis": None},
            "color": {"field": "run", "type": "nominal"},
            "detail": {"field": "run"},
            "tooltip": [{"field": "run"}, {"field": "axis"}, {"field": "value"}],
        },
    }


def _numeric(axis: str, runs: Sequence[Row]) -> bool:
    found = [r.get(axis) for r in runs if r.get(axis) is not None]
    return any(_finite(v) for v in found) and all(isinstance(v, int | float) for v in found)


def _finite(value: object) -> bool:
    # NaN and infinities have no place on a 0-1 axis; the run leaves that axis out.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _label(row: Row) -> str:
    run_id = str(row.get("run_id", ""))
    return f"{row.get('run_name') or run_id[:8]} ({run_id[:8]})"
