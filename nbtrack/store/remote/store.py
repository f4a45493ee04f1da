"""The store of a process whose tracking URI is an ``nbtrack server``: a journal here, rows there.

Logging is what it is beside a store file: each record is appended to this process's journal
before the call returns. The journal lives in the *spool folder* —
``.nbtrack-remote/<host>_<port>/`` in the folder where the local store would have been found
(``config.discover_store``), so ``nbtrack sync`` run in the same project finds what a dead
process left — and the background sender (``delivery.py``) ships its whole lines to the
server, which mirrors and ingests them (``store/mirrors.py``). Reads and synchronous writes go
to the server, after this process's unsent lines (read-your-own-writes), through
``calls.py``. Files logged as artifacts wait in the same spool folder (``artifacts.py``),
sent after the journal that made their runs.

Two things a run needs must not wait for the network. The experiment of a new run is asked of
the server once per process and remembered in the spool folder, so a process started while the
server is away still opens runs in an experiment the project used before. ``stages_state`` —
checked on every artifact write — is the server's stages marker as the last answer to the
sender carried it, not a request.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack import config
from nbtrack.entities import Experiment
from nbtrack.errors import InvalidValueError, NbtrackError, ServerError, ServerUnreachableError
from nbtrack.store import experiments, owed
from nbtrack.store.ingest import IngestResult
from nbtrack.store.journal import Journal
from nbtrack.store.markers import MarkerState
from nbtrack.store.remote import artifacts, calls, experiment_cache
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.store.remote.delivery import Delivery
from nbtrack.store.remote.leftovers import delivered_journals, send_leftovers
from nbtrack.store.remote.sender import Answer, SegmentSender, post_end
from nbtrack.store.remote.watching import ChangeWatcher
from nbtrack.store.store import P, Query, Store, T

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

log = logging.getLogger("nbtrack")

SPOOL_FOLDER = ".nbtrack-remote"
# At a clean exit: how long to keep trying to deliver before leaving the rest to `nbtrack sync`.
CLOSE_DEADLINE_S = 5.0
# The sender's requests: one that hangs must not hold up a clean exit for long.
SEND_TIMEOUT_S = 10.0
ARTIFACT_RETRY_S = 1.0
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


def spool_folder_for(address: config.ServerAddress, start: Path | None = None) -> Path:
    """Where a process in ``start`` (the working directory) keeps its journals for the server
    at ``address``."""
    parts = urllib.parse.urlsplit(address.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    name = f"{_UNSAFE.sub('_', parts.hostname or 'server')}_{port}"
    project = config.discover_store(start or Path.cwd()).parent
    return project / SPOOL_FOLDER / name


class RemoteStore(Store):
    """A server as this process's store: ``journal``, ``read``, ``write``, ``sql``, ``flush``,
    ``stages_state``, ``close``, plus ``connection``, ``address`` and ``spool_folder``."""

    def __init__(self, address: config.ServerAddress, spool_folder: Path) -> None:
        self.address = address
        self.spool_folder = spool_folder
        # Never a file: it places the spool's journals and artifacts, as a store file would.
        self.path = spool_folder / "server"
        self.connection = ServerConnection(address)
        self._sending = ServerConnection(address, timeout_s=SEND_TIMEOUT_S)
        self.journal = Journal(self.path, self._ensure_flusher, root=spool_folder / "journals")
        # Artifacts logged by this project's processes, sent after the journal that made their
        # runs (``artifacts.py``).
        self.artifact_spool = spool_folder / "artifacts"
        self._artifacts_lock = threading.Lock()
        self._artifacts_due = 0.0
        self._flusher_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._watcher = ChangeWatcher(
            ServerConnection(address, timeout_s=5.0),
            {"changed": super().marker, "registry": super().registry_marker},
        )
        self._delivery: Delivery | None = None
        self._sender: SegmentSender | None = None
        self._schema_ready = True
        self._stages: MarkerState = None

    # -- sending --------------------------------------------------------------------------------

    def send_journal(self) -> bool:
        """Send this process's unsent whole lines now; whether the server holds them all.
        Raises ``ServerUnreachableError`` when it does not answer."""
        with self._send_lock:
            self.journal.roll()
            closed, current = self.journal.segments()
            name = self.journal.name
            if name is None:
                return True
            if self._sender is None or self._sender.journal != name:
                self._sender = SegmentSender(self._sending, name, self._answered)
            for path in closed:
                if not self._sender.send(path):
                    return False
                self.journal.forget([path])
            return current is None or self._sender.send(current)

    def send_artifacts(self) -> bool:
        """Send the spooled artifacts after this process's journal; whether none are left."""
        # One sender at a time in this process: a read waits for the background's upload in
        # flight instead of finding that file claimed and reading without it.
        with self._artifacts_lock:
            sent = self.send_journal() and artifacts.send_pending(
                self._sending,
                self.artifact_spool,
                delivered_journals(self.journal.root, self.journal.name),
            )
            # A file the server cannot take yet (its run is still on its way) is tried again
            # a second later, not on every turn of the sender.
            self._artifacts_due = time.monotonic() + (0.0 if sent else ARTIFACT_RETRY_S)
            return sent

    def spool(self, source: Path, destination: str) -> None:
        """Keep a copy of the local file ``source`` in the artifact spool, for
        ``destination`` in the server's tree, and see that the sender will send it."""
        artifacts.spool_copy(self.artifact_spool, source, destination, self.journal.name)
        self._ensure_flusher()
        self._artifacts_due = 0.0
        if self._delivery is not None:
            self._delivery.wake()

    def _has_pending(self) -> bool:
        if self.journal.has_pending():
            return True
        return time.monotonic() >= self._artifacts_due and bool(
            artifacts.pending(self.artifact_spool)
        )

    def _answered(self, answer: Answer) -> None:
        if answer.stages != self._stages:
            self._stages = answer.stages

    def send_leftovers(self) -> None:
        """Send what dead processes left in this spool folder (``leftovers.py``)."""
        send_leftovers(
            self._sending, self.journal.root, self.journal.name, timeout_s=SEND_TIMEOUT_S
        )

    def _ensure_flusher(self) -> None:
        with self._flusher_lock:
            if self._delivery is None or not self._delivery.alive:
                self._delivery = Delivery(
                    self.send_artifacts,
                    self.send_leftovers,
                    self._has_pending,
                    self.journal.heartbeat,
                )
                self.journal.wake = self._delivery.wake

    # -- what watchers stat ---------------------------------------------------------------------

    @property
    def marker(self) -> Path:
        """A local file replaced when the server's store changes (``watching.py``)."""
        self._watcher.ensure_running()
        return super().marker

    @property
    def registry_marker(self) -> Path:
        """A local file replaced when the server's registry changes (``watching.py``)."""
        self._watcher.ensure_running()
        return super().registry_marker

    # -- what the server answers ----------------------------------------------------------------

    def read(self, query: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        owed.wait()
        self.send_journal()
        result: T = calls.call(self.connection, "read", query, *args, **kwargs)
        return result

    def write(self, operation: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        owed.wait()
        if operation is experiments.experiment_for_runs and not kwargs:
            made: T = self._experiment_for_runs(*args)  # type: ignore[assignment]
            self._watcher.changed_here("changed")  # a new experiment, perhaps
            return made
        self.send_journal()
        result: T = calls.call(self.connection, "write", operation, *args, **kwargs)
        # As a store file's write replaces its marker: this process reads its own change next.
        self._watcher.changed_here("changed")
        return result

    def write_registry(self, operation: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        owed.wait()
        self.send_journal()
        result: T = calls.call(self.connection, "write_registry", operation, *args, **kwargs)
        self._watcher.changed_here("changed", "registry")
        return result

    def write_stages(self, operation: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        owed.wait()
        self.send_journal()
        result: T = calls.call(self.connection, "write_stages", operation, *args, **kwargs)
        self._watcher.changed_here("changed")
        # This process's own change of stage is news to its runs at once; the sender's next
        # answer brings the server's marker.
        self._stages = (time.time_ns(), -1, -1)
        return result

    def sql(self, query: str, timeout_s: float) -> pd.DataFrame:
        owed.wait()
        self.send_journal()
        return calls.sql(self.connection, query, timeout_s)

    def stages_state(self) -> MarkerState:
        return self._stages

    def flush(self, deadline_s: float = CLOSE_DEADLINE_S, background: bool = False) -> IngestResult:
        """Send this process's journal now (the server ingests it)."""
        owed.wait()  # what a background thread still owes the journal goes too
        self.send_journal()
        return IngestResult()

    @contextmanager
    def _connect(
        self,
        *,
        read_only: bool,
        deadline_s: float,
        background: bool = False,
        one_thread: bool = False,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        raise InvalidValueError(
            f"this process logs to the server {self.address.url}, and this needs a local store "
            f"file: give a .duckdb path to set_tracking_uri or {config.URI_VARIABLE}"
        )
        yield  # pragma: no cover

    # -- the experiment of a new run ------------------------------------------------------------

    def _experiment_for_runs(self, name: Any) -> Experiment:
        try:
            found = self._ask_experiment(name)
        except ServerUnreachableError as exc:
            cached = experiment_cache.remembered(self.spool_folder).get(name)
            if cached is None:
                raise ServerUnreachableError(
                    f"{exc}. The experiment {name!r} is new to this project: it can be made "
                    "only while the server answers (an experiment used before works offline)"
                ) from None
            return cached
        experiment_cache.remember(self.spool_folder, found, name)
        return found

    def _ask_experiment(self, name: str) -> Experiment:
        answer = self.connection.request(
            "POST",
            f"{calls.PREFIX}/experiments/for-runs",
            json.dumps({"name": name}).encode(),
            {"Content-Type": "application/json"},
        )
        try:
            return experiment_cache.experiment_from_json(answer.json())
        except ValueError:
            raise ServerError(
                f"the server {self.address.url} answered an experiment with {answer.body[:200]!r}"
            ) from None

    # -- the end --------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the sender, deliver what is left for up to ``CLOSE_DEADLINE_S``, end the
        journal on the server and send what dead processes left; whatever is still undelivered
        stays in the spool folder for ``nbtrack sync`` (or the next process), and stderr says
        so."""
        self._watcher.stop()
        owed.wait(timeout_s=owed.EXIT_WAIT_S)
        delivery, self._delivery = self._delivery, None
        if delivery is not None:
            delivery.stop()
        try:
            self._deliver_at_close()
        finally:
            self.connection.close()
            self._sending.close()

    def _deliver_at_close(self) -> None:
        self.journal.roll(0)
        name = self.journal.name
        deadline = time.monotonic() + CLOSE_DEADLINE_S
        if name is None:
            # Nothing logged, but a registered model's copy may be spooled.
            if artifacts.pending(self.artifact_spool):
                self._close_artifacts(deadline)
            return
        self._sending.timeout_s = 2.0
        while True:
            try:
                if self.send_journal():
                    post_end(self._sending, name, False, time.time_ns() // 1000, 2.0)
                    self.journal.remove()
                    # What this process's forked children left (they exit without atexit).
                    self.send_leftovers()
                    self._close_artifacts(deadline)
                    return
            except NbtrackError as exc:
                if time.monotonic() >= deadline:
                    print(
                        f"nbtrack: the server {self.address.url} did not take everything this "
                        f"process logged ({exc}); it is kept in {self.journal.root} — run "
                        "`nbtrack sync` there once the server answers",
                        file=sys.stderr,
                    )
                    return
            time.sleep(0.2)

    def _close_artifacts(self, deadline: float) -> None:
        delivered = delivered_journals(self.journal.root, self.journal.name)
        while not artifacts.send_pending(self._sending, self.artifact_spool, delivered):
            if time.monotonic() >= deadline:
                print(
                    f"nbtrack: the server {self.address.url} did not take every artifact this "
                    f"project logged; they are kept in {self.artifact_spool} — run "
                    "`nbtrack sync` there once the server answers",
                    file=sys.stderr,
                )
                return
            time.sleep(0.2)


_remote: dict[tuple[str, Path], RemoteStore] = {}
_remote_lock = threading.Lock()


def get_remote_store(address: config.ServerAddress) -> RemoteStore:
    """The one ``RemoteStore`` of this process for the server at ``address`` and the spool
    folder of the working directory."""
    spool = spool_folder_for(address)
    with _remote_lock:
        found = _remote.get((address.url, spool))
        if found is None:
            found = _remote[(address.url, spool)] = RemoteStore(address, spool)
        elif found.address != address:
            # NBTRACK_TOKEN changed: the same journal goes on, with the new token.
            found.address = found.connection.address = found._sending.address = address
        return found


def _reset_after_fork() -> None:
    # Another thread may have held one of these at fork time; the child starts fresh, with a
    # journal of its own (journal.py) and so a sender of its own.
    global _remote_lock
    _remote_lock = threading.Lock()
    for store in _remote.values():
        store._flusher_lock = threading.Lock()
        store._send_lock = threading.Lock()
        store._artifacts_lock = threading.Lock()
        store._sender = None


os.register_at_fork(after_in_child=_reset_after_fork)


def close_all() -> None:
    """Close every remote store of this process (at exit: ``store/current.py``; between
    tests)."""
    with _remote_lock:
        stores = list(_remote.values())
        _remote.clear()
    for store in stores:
        try:
            store.close()
        except Exception:
            log.exception("nbtrack: could not close the journal for %s", store.address.url)
