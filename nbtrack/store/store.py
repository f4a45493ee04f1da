"""One store file: its journal, its flusher, and short-lived connections that read and write it.

The store is the DuckDB file plus the live journals. A read or a write the user waits for first
ingests every journal's complete lines — this process's, other live processes' and dead
ones' — then runs its query in the same open: it sees everything any process has logged, and
read-your-own-writes costs one connect, not two. When nothing is waiting in any journal it
opens the file read-only, so readers do not exclude each other. The background flusher does the
same ingestion in batches (once the journal is quiet for 0.1 s, at least every second while it
grows), unless another process already stored what this one logged, and steps back whenever
someone else holds the store.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from nbtrack.errors import StoreError, StoreReadOnlyError
from nbtrack.store import gateway, owed
from nbtrack.store.flusher import Flusher
from nbtrack.store.ingest import IngestResult, ingest_pending
from nbtrack.store.journal import Journal
from nbtrack.store.markers import ChangeWatch, MarkerState, marker_state, replace_marker
from nbtrack.store.schema import SCHEMA_VERSION, check_readable, ensure_schema
from nbtrack.store.segments import (
    any_dead_journal,
    read_hint,
    stored_per_hint,
    unstored_bytes,
)

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger("nbtrack")

P = ParamSpec("P")
T = TypeVar("T")
Query = Callable[Concatenate["duckdb.DuckDBPyConnection", P], T]


class _NeedsWrite(Exception):
    """The store must be created or migrated before it can be read."""


class Store:
    """A DuckDB store file and this process's journal for it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.journal = Journal(path, on_open=self._ensure_flusher)
        self._flusher: Flusher | None = None
        self._flusher_lock = threading.Lock()
        self._schema_ready = False
        self._changes = ChangeWatch(self.marker)

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def marker(self) -> Path:
        """A file replaced after every change to the store (its text names the process and the
        change): pollers stat it, never DuckDB."""
        return self.folder / f".{self.path.name}.changed"

    def changes_outside_journal(self) -> int | None:
        """How many changes to the store came from anywhere but this process's journal (other
        processes, synchronous writes) as far as this process has seen, from a file read and a
        few stats, no DuckDB; None while another process's journal holds records the store
        does not have yet. While the number stays the same, the store holds what it held then
        plus what this process's journal has had since."""
        count = self._changes.outside_changes()
        if unstored_bytes(self.path, self.journal.root, skip=self.journal.name):
            return None
        return count

    @property
    def registry_marker(self) -> Path:
        """A file replaced after every change to the model registry (a version registered, an
        alias moved, a version archived or deleted): servers following an alias stat it
        instead of querying DuckDB, and metric traffic never wakes them."""
        return self.folder / f".{self.path.name}.registry"

    def write_registry(
        self,
        operation: Query[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``write``, then replace the registry marker: a registry change is announced only
        once it is committed."""
        result = self.write(operation, *args, **kwargs)
        replace_marker(self.registry_marker)
        return result

    @property
    def stages_marker(self) -> Path:
        """A file replaced after a run or experiment is deleted, restored or purged: a process
        about to write a run's artifacts stats it, and asks the store only when it changed."""
        return self.folder / f".{self.path.name}.stages"

    def stages_state(self) -> MarkerState:
        """The stages marker as it is now (a stat, no store access)."""
        return marker_state(self.stages_marker)

    def write_stages(
        self,
        operation: Query[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``write``, then replace the stages marker: announced only once committed, so a
        process that saw the old marker and then read the store missed nothing."""
        result = self.write(operation, *args, **kwargs)
        replace_marker(self.stages_marker)
        return result

    # -- connections ----------------------------------------------------------------------------

    @contextmanager
    def _connect(
        self,
        *,
        read_only: bool,
        deadline_s: float,
        background: bool = False,
        one_thread: bool = False,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only and not self.folder.exists():
            try:
                self.folder.mkdir(parents=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder of the store {self.path}: {exc}"
                ) from exc
        with gateway.connect(
            self.path,
            read_only=read_only,
            deadline_s=deadline_s,
            background=background,
            one_thread=one_thread,
        ) as con:
            if not read_only and not self._schema_ready:
                ensure_schema(con, self.path)
                self._schema_ready = True
            elif read_only and not self._schema_ready:
                if check_readable(con, self.path) != SCHEMA_VERSION:
                    raise _NeedsWrite
                # Checked once per process, as on the read-write side.
                self._schema_ready = True
            yield con

    def read(
        self,
        query: Query[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``query(con, ...)`` after this process's records are in the store.

        Read-only (several processes may read at once) unless something must be written
        first: this process's records, journals left by dead processes, or a schema to create.
        """
        owed.wait()
        if self._nothing_to_write():
            try:
                return self._read_only(query, *args, **kwargs)
            except _NeedsWrite:
                pass
        try:
            with self._connect(read_only=False, deadline_s=gateway.DEFAULT_DEADLINE_S) as con:
                self._ingest_pending(con)
                return query(con, *args, **kwargs)
        except StoreReadOnlyError:
            # A store read-only on disk can still be read, if this process has nothing to add.
            if self.journal.has_pending() or not self.path.exists():
                raise
            return self._read_only(query, *args, **kwargs)

    def settled(self) -> bool:
        """Whether nothing waits to be written into the store: no journal (this process's,
        another live one's, a dead one's, a server's mirror) holds a byte it does not. A stat
        of the journals and the ingestion hint, no DuckDB."""
        return self._nothing_to_write()

    def _nothing_to_write(self) -> bool:
        if not self.path.exists():
            return False
        root = self.journal.root
        return not any_dead_journal(root, self.journal.name) and not unstored_bytes(self.path, root)

    def _read_only(self, query: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self._connect(read_only=True, deadline_s=gateway.DEFAULT_DEADLINE_S) as con:
            return query(con, *args, **kwargs)

    def write(
        self,
        operation: Query[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``operation(con, ...)`` in one transaction, under the file lock, right now."""
        owed.wait()
        with self._connect(read_only=False, deadline_s=gateway.DEFAULT_DEADLINE_S) as con:
            self._ingest_pending(con)
            con.execute("BEGIN TRANSACTION")
            try:
                result = operation(con, *args, **kwargs)
                con.execute("COMMIT")
            except BaseException:
                _roll_back_quietly(con)
                raise
            with self._changes.lock:
                # Counted as a change outside the journal, even this process's own: what a
                # synchronous write does (a rename, a tag deleted) no journal line says.
                self._changes.announce(outside=True)
        return result

    def sql(self, query: str, timeout_s: float) -> pd.DataFrame:
        """``query`` on a read-only connection with file access off (no COPY, ATTACH, ...),
        stopped after ``timeout_s`` seconds or by Ctrl-C.

        Only the ingestion of pending records takes the write lock, briefly, before the
        query; the query itself holds the store read-only, so other readers go on and a
        writer waits for it at most ``timeout_s``.
        """
        from nbtrack.store.search import run_sql

        return self._on_sql_connection(lambda con: run_sql(con, query, timeout_s))

    def sql_arrow(self, query: str, timeout_s: float, max_rows: int) -> pa.Table:
        """``sql`` as an Arrow table, refused (``InvalidValueError``) past ``max_rows`` rows:
        what a server sends its clients."""
        from nbtrack.store.sql_arrow import run_sql_arrow

        return self._on_sql_connection(lambda con: run_sql_arrow(con, query, timeout_s, max_rows))

    def _on_sql_connection(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        from nbtrack.store.search import SQL_SETTINGS

        owed.wait()
        if not self._schema_ready or not self._nothing_to_write():
            self.read(lambda con: None)
        with gateway.connect(
            self.path,
            read_only=True,
            deadline_s=gateway.DEFAULT_DEADLINE_S,
            config=dict(SQL_SETTINGS),
        ) as con:
            check_readable(con, self.path)
            return work(con)

    def export(
        self, folder: Path, tables: list[str], progress: Callable[[str], None] | None = None
    ) -> list[Path]:
        """Copy each table to ``folder/<table>.parquet``: one consistent read-only snapshot."""
        owed.wait()
        if not self._schema_ready or not self._nothing_to_write():
            self.read(lambda con: None)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        with self._connect(read_only=True, deadline_s=gateway.DEFAULT_DEADLINE_S) as con:
            for table in tables:
                target = folder / f"{table}.parquet"
                partial = folder / f".{table}.parquet.partial"
                # The relation API takes the path as an argument: no SQL text is built from it.
                con.table(table).write_parquet(str(partial))
                os.replace(partial, target)
                written.append(target)
                if progress is not None:
                    progress(table)
        return written

    def flush(
        self, deadline_s: float = gateway.DEFAULT_DEADLINE_S, background: bool = False
    ) -> IngestResult:
        """Ingest every journal now: this process's, other live ones' and dead ones'. A
        ``background`` flush raises ``gateway.StoreInUse`` instead of waiting for anyone."""
        if not background:
            owed.wait()  # what a background thread still owes the journal goes in too
        with self._connect(
            read_only=False, deadline_s=deadline_s, background=background, one_thread=True
        ) as con:
            return self._ingest_pending(con)

    def _ingest_pending(self, con: duckdb.DuckDBPyConnection) -> IngestResult:
        result = ingest_pending(con, self.journal, self.path)
        if result.records or result.dead_journals:
            with self._changes.lock:
                self._changes.announce(outside=result.foreign)
        return result

    # -- lifecycle ------------------------------------------------------------------------------

    def _ensure_flusher(self) -> None:
        with self._flusher_lock:
            if self._flusher is None or not self._flusher.alive:
                self._flusher = Flusher(
                    self._flush_in_background,
                    self.journal.has_pending,
                    self.journal.heartbeat,
                    self.journal.position,
                )
                self.journal.wake = self._flusher.wake

    def _flush_in_background(self, deadline_s: float) -> None:
        # Another process's flush or read may already have stored everything this process
        # logged: then only finished segments need deleting, and the store is not opened.
        self.journal.roll()
        closed, current = self.journal.segments()
        hint = read_hint(self.path)
        mine = [*closed, *([current] if current else [])]
        if all(stored_per_hint(path, hint) for path in mine) and not any_dead_journal(
            self.journal.root, self.journal.name
        ):
            self.journal.forget(closed)
            return
        self.flush(deadline_s, background=True)

    def close(self) -> None:
        """Stop the flusher, flush what is left, and remove the journal if it is empty."""
        owed.wait(timeout_s=owed.EXIT_WAIT_S)
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.stop()
        self.journal.roll(0)  # closed, so that it can be deleted once stored
        if self.journal.has_pending():
            try:
                self.flush(deadline_s=10.0)
            except StoreError as exc:
                # The journal stays; the next process to open the store ingests it.
                log.warning("nbtrack: %s; the journal is kept at %s", exc, self.journal.root)
                return
        self.journal.remove()


def _roll_back_quietly(con: duckdb.DuckDBPyConnection) -> None:
    # After a failed COMMIT there may be no transaction left: that second error must not hide
    # the first.
    import duckdb

    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def get_store(path: Path) -> Store:
    """The one ``Store`` of this process for ``path``."""
    with _stores_lock:
        store = _stores.get(path)
        if store is None:
            store = _stores[path] = Store(path)
        return store


def _reset_locks_after_fork() -> None:
    # Another thread may have held one of these at fork time; the child starts fresh.
    global _stores_lock
    _stores_lock = threading.Lock()
    for store in _stores.values():
        store._flusher_lock = threading.Lock()
        store._changes.after_fork()


os.register_at_fork(after_in_child=_reset_locks_after_fork)


@atexit.register
def close_all() -> None:
    """Close every store this process opened (at exit, and between tests)."""
    # A background thread's logging goes into the stores before they close.
    owed.wait(timeout_s=owed.EXIT_WAIT_S)
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        try:
            store.close()
        except Exception:
            log.exception("nbtrack: could not close the store %s", store.path)
