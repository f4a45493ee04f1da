"""The flusher of a process that logs to a server: its journal's bytes sent in the background.

It plays the part ``store/flusher.py`` plays beside a store file: every ``interval_s`` (or
sooner, once the journal holds ``Journal.wake_at`` records) it sends the journal's new whole
lines, keeps the heartbeat, and now and then sends what dead processes left in the spool. A
logging call never waits for it. While the server does not answer it backs off — doubling up
to ``MAX_PAUSE_S``, jittered so that a team's clients do not return in step — and the bytes
wait on disk; it says once that the server is away and once that it is back.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from nbtrack.errors import NbtrackError, ServerUnreachableError
from nbtrack.store.flusher import JournalThread

log = logging.getLogger("nbtrack")

HEARTBEAT_S = 2.0
# The longest pause between attempts while the server does not answer: an outage ends in
# catching up within about this long.
MAX_PAUSE_S = 2.0
# How often the spool is looked at for journals of dead processes.
LEFTOVERS_EVERY_S = 5.0


class Delivery(JournalThread):
    """A daemon thread calling ``send`` (this process's journal) and ``send_leftovers``."""

    thread_name = "nbtrack-sender"

    def __init__(
        self,
        send: Callable[[], object],
        send_leftovers: Callable[[], object],
        has_pending: Callable[[], bool],
        heartbeat: Callable[[], None],
        interval_s: float = 0.1,
    ) -> None:
        self._send = send
        self._send_leftovers = send_leftovers
        self.away: str | None = None
        super().__init__(has_pending, heartbeat, interval_s)

    def _loop(self) -> None:
        last_beat = 0.0
        last_leftovers = 0.0
        pause = self.interval_s
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if now - last_beat >= HEARTBEAT_S:
                    self._heartbeat()
                    last_beat = now
                if self._has_pending():
                    self._send()
                if now - last_leftovers >= LEFTOVERS_EVERY_S:
                    self._send_leftovers()
                    last_leftovers = now
                pause = self.interval_s
                self._back()
            except NbtrackError as exc:
                # Everything stays in the journal; sent once the server takes it again.
                pause = min(max(pause * 2, 0.2), MAX_PAUSE_S) * random.uniform(0.5, 1.0)
                self._away(exc)
            except Exception:
                pause = MAX_PAUSE_S
                log.exception("nbtrack: could not send the journal; will retry")
            self._wake.wait(pause)
            self._wake.clear()

    def _away(self, exc: NbtrackError) -> None:
        if self.away is None:
            kind = "does not answer" if isinstance(exc, ServerUnreachableError) else "refuses"
            log.warning("nbtrack: the server %s; logging goes on, sent later: %s", kind, exc)
        self.away = str(exc)

    def _back(self) -> None:
        if self.away is not None:
            log.warning("nbtrack: the server answers again; the journal is being sent")
            self.away = None
