"""The background thread that moves this process's journal into the store.

It flushes by time or size (every ``interval_s``, or sooner once the journal holds
``Journal.wake_at`` records), never per call: each flush holds the file lock for a few
milliseconds, and eager flushing would starve other kernels. When another open holds the store
(a reader, most often) it steps back and tries again shortly: a reader ingests this process's
records anyway.
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
        interval_s: float = 0.1,
    ) -> None:
        self._flush = flush
        super().__init__(has_pending, heartbeat, interval_s)

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
                if self._has_pending():
                    self._flush(LOCK_WAIT_S)
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
