"""The background thread that moves this process's journal into the store.

It flushes in batches, never per call: each flush holds the file lock for a few milliseconds,
and eager flushing would starve other kernels. It looks at the journal every ``interval_s``
and ingests once the journal has been quiet for one look, once the oldest record not yet
ingested has waited ``MAX_DELAY_S``, or at once when the journal holds ``Journal.wake_at``
records. Flushing at every look instead cost one ingestion per ~0.1 s of steady logging: for
autologged fits back to back, ~50 ms of CPU (open, ingest, checkpoint) every few fits, half
a core. What anyone reads is unchanged: every read ingests what is pending first. Only
another process that watches the store's marker without reading sees a steady writer's
records up to ``MAX_DELAY_S`` later. When another open holds the store (a reader, most often)
it steps back and tries again shortly: a reader ingests this process's records anyway.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from nbtrack.errors import StoreBusyError, StoreError
from nbtrack.store.gateway import StoreInUse

log = logging.getLogger("nbtrack")

HEARTBEAT_S = 2.0
# A background flush waits this long for a DuckDB lock held outside nbtrack's turns (a
# DuckDB shell, say): readers queue behind the flush meanwhile, so it must stay short.
LOCK_WAIT_S = 0.2
# How soon to try again after stepping back for another open of the store.
IN_USE_RETRY_S = 0.05
# The longest pause between attempts while the store cannot take records.
MAX_PAUSE_S = 30.0
# The longest a record waits for the flusher while the journal keeps growing.
MAX_DELAY_S = 1.0


class JournalThread:
    """A daemon thread of this process that moves its journal somewhere: woken early by
    ``wake`` (the journal filled up), ended by ``stop``. A forked child inherits the object but
    not the thread, so ``alive`` is false there and the child starts its own. Subclasses set
    their own attributes before calling ``__init__``, which starts the thread, and give
    ``_loop``."""

    thread_name = "nbtrack-journal"

    def __init__(
        self,
        has_pending: Callable[[], bool],
        heartbeat: Callable[[], None],
        interval_s: float = 0.1,
    ) -> None:
        self._has_pending = has_pending
        self._heartbeat = heartbeat
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._pid == os.getpid() and self._thread.is_alive()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self.alive and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        raise NotImplementedError


class Flusher(JournalThread):
    """Ingests this process's journal into the store file (and what others left)."""

    thread_name = "nbtrack-flusher"

    def __init__(
        self,
        flush: Callable[[float], object],
        has_pending: Callable[[], bool],
        heartbeat: Callable[[], None],
        position: Callable[[], object],
        interval_s: float = 0.1,
    ) -> None:
        self._flush = flush
        self._batch = _Batch(position)
        super().__init__(has_pending, heartbeat, interval_s)

    def wake(self) -> None:
        """The journal filled up: flush at once, without waiting for it to go quiet."""
        self._batch.full = True
        super().wake()

    def _loop(self) -> None:
        last_beat = 0.0
        pause = self.interval_s
        last_fault: str | None = None
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if started - last_beat >= HEARTBEAT_S:
                    self._heartbeat()
                    last_beat = started
                if self._has_pending() and self._batch.ready(started):
                    self._flush(LOCK_WAIT_S)
                    self._batch.flushed()
                pause = self.interval_s
            except StoreInUse:
                pause = IN_USE_RETRY_S
            except StoreBusyError as exc:
                # Records stay safe in the journal; try again later, backing off.
                pause = min(pause * 2, 5.0)
                log.info("nbtrack: %s; will retry", exc)
            except StoreError as exc:
                # A damaged store or a full disk: said once, then retried quietly (records
                # stay in the journal) until it is repaired or space is freed.
                pause = min(pause * 2, MAX_PAUSE_S)
                if str(exc) != last_fault:
                    log.warning("nbtrack: %s", exc)
                    last_fault = str(exc)
            except Exception:
                pause = min(pause * 2, MAX_PAUSE_S)
                log.exception("nbtrack: could not flush the journal; will retry")
            else:
                last_fault = None
            self._wake.wait(pause)
            self._wake.clear()


class _Batch:
    """When the records a journal gathered since the last flush are worth a flush."""

    def __init__(self, position: Callable[[], object]) -> None:
        self._position = position
        self._seen: object = None
        self._waiting_since: float | None = None
        self.full = False

    def ready(self, now: float) -> bool:
        """Whether to flush now: the journal did not move since the last look (or has
        nothing new), it filled up, or its oldest new record has waited ``MAX_DELAY_S``."""
        position = self._position()
        moved, self._seen = position != self._seen, position
        if not moved or self.full:
            return True
        if self._waiting_since is None:
            self._waiting_since = now
        return now - self._waiting_since >= MAX_DELAY_S

    def flushed(self) -> None:
        self._waiting_since = None
        self.full = False
