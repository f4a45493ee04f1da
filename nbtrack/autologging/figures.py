"""The confusion-matrix picture of a classifier's training predictions, as SVG text.

Written by hand rather than drawn with matplotlib: matplotlib is not one of nbtrack's
dependencies, and drawing this picture with it costs about 30 ms on this machine (text
rendering, measured with cells on the figure itself; an ``Axes`` is ~120 ms) — as long as the
10,000-row fit autolog must add at most 5 % to. This takes well under a millisecond, needs
nothing installed, stays sharp at any size, and shows in a browser, JupyterLab and the UI.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbtrack.autologging.sklearn_metrics import Confusion

FILE = "training_confusion_matrix.svg"
# Past this many classes the numbers would not fit in their cells: the colours alone tell it.
_MAX_ANNOTATED = 20
_CELL, _LEFT, _TOP, _BOTTOM = 56, 110, 40, 70
# Matplotlib's "Blues" at its light and dark ends, mixed by the count's share of the largest.
_LIGHT, _DARK = (222, 235, 247), (8, 48, 107)


def confusion_svg(table: Confusion) -> str:
    """Rows the true labels, columns the predicted ones, each cell shaded by its count."""
    size = len(table.labels)
    cell = max(12, min(_CELL, 480 // size))
    width, height = _LEFT + size * cell + 20, _TOP + size * cell + _BOTTOM
    largest = float(table.matrix.max()) or 1.0
    names = [_short(label) for label in table.labels]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">'
        "training confusion matrix</text>",
    ]
    for row in range(size):
        y = _TOP + row * cell
        parts.append(_label(_LEFT - 8, y + cell / 2, names[row], "end"))
        for col in range(size):
            x = _LEFT + col * cell
            share = float(table.matrix[row, col]) / largest
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{_shade(share)}"/>'
            )
            if size <= _MAX_ANNOTATED:
                colour = "white" if share > 0.5 else "black"
                parts.append(
                    f'<text x="{x + cell / 2}" y="{y + cell / 2}" text-anchor="middle" '
                    f'dominant-baseline="central" fill="{colour}">'
                    f"{table.matrix[row, col]:g}</text>"
                )
    bottom = _TOP + size * cell
    for col in range(size):
        parts.append(_label(_LEFT + (col + 0.5) * cell, bottom + 16, names[col], "middle"))
    middle_y, middle_x = _TOP + size * cell / 2, _LEFT + size * cell / 2
    parts += [
        f'<text x="18" y="{middle_y}" text-anchor="middle" '
        f'transform="rotate(-90 18 {middle_y})">true label</text>',
        f'<text x="{middle_x}" y="{height - 16}" text-anchor="middle">predicted label</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def _label(x: float, y: float, text: str, anchor: str) -> str:
    return (
        f'<text x="{x}" y="{y}" text-anchor="{anchor}" dominant-baseline="central" '
        f'font-size="11">{escape(text)}</text>'
    )


def _shade(share: float) -> str:
    red, green, blue = (round(a + (b - a) * share) for a, b in zip(_LIGHT, _DARK, strict=True))
    return f"#{red:02x}{green:02x}{blue:02x}"


def _short(label: object) -> str:
    text = str(label)
    return text if len(text) <= 14 else text[:13] + "…"
