"""In-notebook views: the comparison widget and its charts. Imported only when used."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbtrack.tracking.run import ActiveRun
    from nbtrack.widgets.live import LiveMetrics


def live_metrics(run: ActiveRun) -> LiveMetrics:
    """A chart of ``run``'s metrics that redraws as they are logged (``%%track --live``)."""
    from nbtrack.widgets.live import LiveMetrics

    return LiveMetrics(run)
