"""``%%track --live``: the metrics of the running cell, drawn under it as they are logged.

Points are kept in memory as the run logs them (no store read), thinned as they grow, and a
thread redraws one reused chart at most ``REDRAWS_PER_S`` times a second, only when something
changed, so training never waits for drawing.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import altair as alt

    from nbtrack.tracking.run import ActiveRun

REDRAWS_PER_S = 4
MAX_POINTS_PER_KEY = 2000

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


class LiveMetrics:
    """A chart of a run's metrics that grows while the run logs."""

    def __init__(self, run: ActiveRun) -> None:
        import altair as alt

        enable_offline_charts()
        self._points: dict[str, list[tuple[int, float]]] = {}
        self._strides: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._version = 0
        self._drawn = -1
        self.redraws = 0
        self._stop = threading.Event()
        self.widget = alt.JupyterChart(self._spec())
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
                del points[::2]
                self._strides[key] = stride * 2
        self._version += 1

    def _loop(self) -> None:
        while not self._stop.wait(1 / REDRAWS_PER_S):
            self._redraw()

    def _redraw(self) -> None:
        if self._drawn == self._version:
            return
        self._drawn = self._version
        self.widget.chart = self._spec()
        self.redraws += 1

    def stop(self) -> None:
        """The cell ended: draw the last points and stop the thread."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._redraw()

    def points(self) -> dict[str, list[tuple[int, float]]]:
        return {key: list(points) for key, points in self._points.items()}

    def _spec(self) -> alt.Chart | alt.FacetChart:
        import altair as alt

        rows: list[dict[str, Any]] = [
            {"metric": key, "step": step, "value": value}
            for key, points in list(self._points.items())
            for step, value in list(points)
        ]
        if not rows:
            return (
                alt.Chart(alt.Data(values=[{"text": "waiting for the first metric…"}]))
                .mark_text(size=13, color="gray")
                .encode(text="text:N")
                .properties(width=560, height=60)
            )
        base = (
            alt.Chart(alt.Data(values=rows))
            .mark_line(point=len(rows) <= 60)
            .encode(
                x=alt.X("step:Q", title="step"),
                y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
                tooltip=["metric:N", "step:Q", "value:Q"],
            )
            .properties(width=560, height=160)
        )
        return base.facet(row=alt.Row("metric:N", title=None)).resolve_scale(y="independent")
