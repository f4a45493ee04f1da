"""Replacing a framework's functions, and putting every one of them back.

Turned off, autolog leaves nothing behind: each replacement is recorded and undone in reverse
order, so ``fit`` is the framework's own function again and costs nothing extra.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, MutableMapping
from typing import Any

Wrapper = Callable[[Callable[..., Any]], Callable[..., Any]]
MARK = "__nbtrack_autolog__"


def is_ours(function: object) -> bool:
    return getattr(function, MARK, False) is True


def mark(function: Callable[..., Any]) -> Callable[..., Any]:
    setattr(function, MARK, True)
    return function


class Patches:
    """The replacements made so far, to be undone together."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def replace(self, owner: type | object, name: str, wrap: Wrapper) -> bool:
        """Wrap ``owner.name`` as defined on ``owner`` itself (a function, or scikit-learn's
        ``available_if`` descriptor, whose availability check must keep working)."""
        original = vars(owner).get(name)
        if original is None or is_ours(original) or is_ours(getattr(original, "fn", None)):
            return False
        if inspect.isfunction(original):
            replacement: object = mark(wrap(original))
        elif inspect.isfunction(getattr(original, "fn", None)):
            replacement = copy.copy(original)
            replacement.fn = mark(wrap(original.fn))  # type: ignore[attr-defined]
        else:
            return False
        setattr(owner, name, replacement)
        self._undo.append(lambda: setattr(owner, name, original))
        return True

    def rebind(self, namespace: MutableMapping[str, Any], name: str, new: object) -> None:
        """Point a name the user already bound (``from sklearn.metrics import f1_score``) at
        the wrapped function; put back only if it still holds ours when undone."""
        original = namespace[name]
        namespace[name] = new

        def undo() -> None:
            if namespace.get(name) is new:
                namespace[name] = original

        self._undo.append(undo)

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()
