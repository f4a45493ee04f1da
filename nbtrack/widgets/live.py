"""``%%track --live``: the metrics of the running cell, drawn under it as they are logged.

The cell is someone's training loop, so drawing must cost it next to nothing (the goal: under
5 % of the cell's time, the first use in a kernel included). The live chart is therefore a
small JavaScript view of our own (``live_chart.js``: SVG lines, no Vega): the kernel imports
neither Altair nor vl-convert for it (≈ 3.5 s the first time in a kernel) and sends each
metric's points as two arrays, not a Vega-Lite spec to validate. Points are kept in memory as
the run logs them (no store read) and thinned as they grow; a thread sends them at most
``REDRAWS_PER_S`` times a second, and less often when sending costs more than
``DRAW_BUDGET`` of the time, so training never waits for drawing.

``enable_offline_charts`` (the other charts' one-off JavaScript bundle) lives here too.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import anywidget
import traitlets

if TYPE_CHECKING:
    import altair as alt

    from nbtrack.tracking.run import ActiveRun

REDRAWS_PER_S: Final = 4
# The share of the time the drawing thread may spend sending points (it holds the GIL).
DRAW_BUDGET: Final = 0.01
MAX_POINTS_PER_KEY: Final = 2000
JS_PATH: Final = Path(__file__).with_name("live_chart.js")

_offline_lock = threading.Lock()
_offline = False


def enable_offline_charts() -> None:
    """Make Altair's JupyterChart load its JavaScript from vl-convert, not a CDN (once)."""
    global _offline
    with _offline_lock:
        if not _offline:
            import altair as alt

            alt.JupyterChart.enable_offline()
            _offline = True


class LiveChart(anywidget.AnyWidget):
    """A panel per metric, drawn in the browser from ``series``: ``{key: {"steps": [...],
    "values": [...]}}``. ``done`` once the cell has ended."""

    # The file's text rather than a Path: a Path makes anywidget keep every instance alive
    # for hot reloading (see run_table.RunTable).
    _esm = JS_PATH.read_text(encoding="utf-8")

    series = traitlets.Dict().tag(sync=True)
    run_name = traitlets.Unicode("").tag(sync=True)
    done = traitlets.Bool(False).tag(sync=True)
    restart_message = traitlets.Unicode(
        "The kernel restarted since this chart was drawn: it shows the metrics up to then. "
        "Run the cell again to track a new run."
    ).tag(sync=True)

    @property
    def chart(self) -> alt.FacetChart | alt.Chart:
        """The same points as an Altair chart (to export or test; imports Altair)."""
        from nbtrack.widgets.charts import live_chart

        return live_chart(self.points_frame())

    def points_frame(self) -> Any:
        """The points drawn, long: ``metric``, ``step``, ``value``."""
        import pandas as pd

        rows = [
            (key, step, value)
            for key, points in self.series.items()
            for step, value in zip(points["steps"], points["values"], strict=True)
        ]
        return pd.DataFrame(rows, columns=["metric", "step", "value"])


class LiveMetrics:
    """A chart of a run's metrics that grows while the run logs."""

    def __init__(self, run: ActiveRun) -> None:
        self._points: dict[str, list[tuple[int, float]]] = {}
        self._strides: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._version = 0
        self._drawn = -1
        self.redraws = 0
        self.draw_seconds = 0.0
        self._stop = threading.Event()
        self.widget = LiveChart(run_name=run.name or run.id[:8])
        run.watch_metrics(self._add)
        self._thread = threading.Thread(target=self._loop, name="nbtrack-live", daemon=True)
        self._thread.start()

    def _add(self, key: str, step: int, value: float) -> None:
        # Runs in the training loop: appends only. Past the cap, every other point goes and
        # only every stride-th new point is kept, so memory and chart size stay bounded.
        seen = self._seen.get(key, 0)
        self._seen[key] = seen + 1
        stride = self._strides.get(key, 1)
        if seen % stride == 0 and math.isfinite(value):
            points = self._points.setdefault(key, [])
            points.append((step, value))
            if len(points) > MAX_POINTS_PER_KEY:
                del points[1::2]  # the first point stays: where the curve starts
                self._strides[key] = stride * 2
        self._version += 1

    def _loop(self) -> None:
        wait = 1 / REDRAWS_PER_S
        while not self._stop.wait(wait):
            cost = self._redraw()
            # A redraw that costs more than the budget spaces the next one out.
            wait = max(1 / REDRAWS_PER_S, cost / DRAW_BUDGET)

    def _redraw(self) -> float:
        """Send the points if they changed; returns the seconds it took."""
        if self._drawn == self._version:
            return 0.0
        started = time.perf_counter()
        self._drawn = self._version
        series = {}
        for key, points in list(self._points.items()):
            copy = list(points)  # the training thread may be appending
            series[key] = {"steps": [p[0] for p in copy], "values": [p[1] for p in copy]}
        self.widget.series = series
        self.redraws += 1
        cost = time.perf_counter() - started
        self.draw_seconds += cost
        return cost

    def stop(self) -> None:
        """The cell ended: draw the last points and stop the thread."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._redraw()
        self.widget.done = True

    def points(self) -> dict[str, list[tuple[int, float]]]:
        return {key: list(points) for key, points in self._points.items()}
