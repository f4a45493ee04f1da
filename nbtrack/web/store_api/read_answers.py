"""Answers to a client's reads kept while the store stays as it was: no DuckDB open for them.

``get_run`` through a server costs a DuckDB open and a few statements (about 3 ms here) each
time, though a notebook asks for the same run again and again while nothing changes. A read
whose result depends only on the store's rows (``CACHED``, by operation name) is answered
from here while the store's marker — replaced after every change, by any process — is the
file it was when the answer was made, and nothing waits to be written (the server's journal,
its clients' mirrors, a dead process's journal: ``Store.settled``). That is the rule every
long-lived reader follows: read again only when the store changed. A read that looks at the
clock (a search computes running runs' durations) is never kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from nbtrack.errors import StoreError
from nbtrack.store.markers import MarkerState, marker_state
from nbtrack.store.store import Store

# The reads that are a function of the store's rows and their arguments alone.
CACHED = frozenset({"nbtrack.store.runs:get_run", "nbtrack.store.runs:find_run"})
# At most 1,024 x (4 KiB + 16 KiB) kept: a run's answer is a few KiB; a bigger one is made anew.
MAX_ANSWERS = 1024
MAX_BODY_BYTES = 4 * 1024
MAX_ANSWER_BYTES = 16 * 1024


class ReadAnswers:
    """Encoded answers of ``CACHED`` reads of one store, by request body and marker state."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._answers: OrderedDict[bytes, tuple[MarkerState, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, kind: str, operation: str, body: bytes, run: Callable[[], bytes]) -> bytes:
        """The encoded answer to ``body``: kept, or made by ``run`` (and kept if it may be)."""
        if kind != "read" or operation not in CACHED or len(body) > MAX_BODY_BYTES:
            return run()
        if not self.store.settled():
            # What waits goes in first, so that the answer can be kept under the state after.
            try:
                self.store.flush()
            except StoreError:
                return run()  # the read itself says what is wrong, or reads without writing
        # Taken before the read: an answer made while a change lands is kept under the state
        # before it, which never comes back, so it is never given out.
        state = marker_state(self.store.marker)
        if state is not None:
            with self._lock:
                kept = self._answers.get(body)
                if kept is not None and kept[0] == state and self.store.settled():
                    self._answers.move_to_end(body)
                    return kept[1]
        encoded = run()
        if state is not None and len(encoded) <= MAX_ANSWER_BYTES:
            with self._lock:
                self._answers[body] = (state, encoded)
                self._answers.move_to_end(body)
                while len(self._answers) > MAX_ANSWERS:
                    self._answers.popitem(last=False)
        return encoded
