"""The confusion-matrix picture of a classifier's training predictions.

Drawn on a ``matplotlib.figure.Figure`` (the Agg canvas its ``savefig`` uses for PNG), never
through ``pyplot``: no global figure list to leak, no backend switched in the user's session,
nothing drawn into the notebook's output. Without matplotlib there is no picture, said once.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from nbtrack.autologging.options import note

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nbtrack.autologging.sklearn_metrics import Confusion

FILE = "training_confusion_matrix.png"
# Past this many classes the numbers would not fit in their cells: the colours alone tell it.
_MAX_ANNOTATED = 20
_said_missing = False


def available() -> bool:
    """Whether matplotlib is installed (said once when it is not)."""
    global _said_missing
    if importlib.util.find_spec("matplotlib") is not None:
        return True
    if not _said_missing:
        _said_missing = True
        note("matplotlib is not installed: no confusion-matrix picture (pip install matplotlib)")
    return False


def confusion_figure(table: Confusion) -> Figure:
    """Rows the true labels, columns the predicted ones, each cell its count."""
    from matplotlib.figure import Figure

    size = len(table.labels)
    side = min(2.0 + 0.5 * size, 10.0)
    figure = Figure(figsize=(side, side), dpi=80, layout="constrained")
    axes = figure.add_subplot()
    axes.imshow(table.matrix, cmap="Blues")
    names = [str(label) for label in table.labels]
    axes.set_xticks(range(size), names, rotation=45 if size > 6 else 0)
    axes.set_yticks(range(size), names)
    axes.set_xlabel("predicted label")
    axes.set_ylabel("true label")
    axes.set_title("training confusion matrix")
    if size <= _MAX_ANNOTATED:
        threshold = table.matrix.max() / 2
        for row in range(size):
            for col in range(size):
                value = table.matrix[row, col]
                text = f"{value:g}" if value != int(value) else f"{int(value)}"
                colour = "white" if value > threshold else "black"
                axes.text(col, row, text, ha="center", va="center", color=colour)
    return figure
