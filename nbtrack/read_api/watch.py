"""When the store changed, from its marker files alone: a stat each, never a query.

Every flush touches the store's marker, every registry change and every deletion replaces its
own: the three states together are a version of what a reader can see. Answers are cached per
version (``AnswerCache``), and a long-poll waits for the version to move (``version`` in a
loop of the host's, which knows how to sleep without blocking).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from nbtrack.store.current import current_store
from nbtrack.store.store import Store, marker_state

T = TypeVar("T")
# Answers kept per store version; past this the oldest are dropped (one per view and query).
MAX_CACHED = 256


def version(store: Store | None = None) -> str:
    """A short text naming the store's state: it changes when anything a page shows may have."""
    store = store or current_store()
    states = [marker_state(m) for m in (store.marker, store.registry_marker, store.stages_marker)]
    return hashlib.blake2s(repr((str(store.path), states)).encode(), digest_size=8).hexdigest()


class AnswerCache:
    """Answers by key, dropped as soon as the store's ``version`` moves.

    The version is read before the answer is computed: a change that lands while it is
    computed moves the version again, so a stale answer is never kept past the next request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = ""
        self._answers: dict[Hashable, Any] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        now = version()
        with self._lock:
            if now != self._version:
                self._version, self._answers = now, {}
            if key in self._answers:
                found: T = self._answers[key]
                return found
        answer = compute()
        with self._lock:
            if now == self._version:
                if len(self._answers) >= MAX_CACHED:
                    self._answers.pop(next(iter(self._answers)))
                self._answers[key] = answer
        return answer

    def clear(self) -> None:
        with self._lock:
            self._version, self._answers = "", {}
