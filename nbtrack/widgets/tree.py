"""The widgets inside a widget: what closing a composite widget must close too.

ipywidgets keeps every open widget alive until ``close()``, and closing a box does not close
what it holds; walking ``children`` finds them all, so no hand-kept list can miss one.
"""

from __future__ import annotations

from typing import Any


def descendants(widget: Any) -> list[Any]:
    """Every widget inside ``widget``, depth first, innermost first (not ``widget`` itself)."""
    found: list[Any] = []
    for child in getattr(widget, "children", ()):
        found.extend(descendants(child))
        found.append(child)
    return found
