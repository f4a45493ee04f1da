"""``ActiveRun``: an open run, and where the logging logic lives.

Logging never touches DuckDB: each call validates its input, appends one line to this process's
journal and returns. A run's start and end are journal records too; only reopening a run goes
to the store at once, since it needs the run's state.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from nbtrack.entities import (
    END_STATUSES,
    FAILED,
    FINISHED,
    HIDDEN_TAG_PREFIX,
    KILLED,
    ChildRun,
    Run,
    RunSpan,
    from_micros,
)
from nbtrack.errors import (
    InvalidValueError,
    NoActiveRunError,
    StoreCorruptError,
)
from nbtrack.store import owed, records, runs
from nbtrack.store.markers import MarkerState
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.store.store import Store
from nbtrack.tracking import _current, capture
from nbtrack.tracking.validation import (
    check_name,
    mapping,
    metric_value,
    param_value,
    step_value,
    tag_value,
)

log = logging.getLogger("nbtrack")

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Never a marker's state: a run made without one checks the store at its first artifact write.
UNCHECKED: MarkerState = (-1, -1, -1)
CLOSED_BY_TAG = "nbtrack.closed_by"
GIT_DIRTY_TAG = "nbtrack.git.dirty"


class ActiveRun:
    """An open run. ``with`` ends it: FINISHED, FAILED on an exception, KILLED on Ctrl-C.

    Reading ``params``, ``metrics``, ``status``, ... returns the store's current values.
    """

    def __init__(
        self,
        store: Store,
        run: Run,
        *,
        parent: ActiveRun | None = None,
        cell: bool = False,
        params_json: Mapping[str, str] | None = None,
        last_seq: int = 0,
        last_steps: Mapping[str, int] | None = None,
        stages_seen: MarkerState = UNCHECKED,
    ) -> None:
        self.id = run.id
        self.parent = parent
        # Opened for a tracked cell, which ends it when the cell ends.
        self.cell = cell
        self.execution = capture.execution_marker()
        self._store = store
        self._append = store.journal.append
        self._prefix = records.metric_prefix(run.id)
        self._seq = itertools.count(last_seq + 1)
        self._last_step: dict[str, int] = dict(last_steps or {})
        self._metric_keys: dict[str, str] = {}
        self._params: dict[str, str] = dict(params_json or {})
        self._params_lock = threading.Lock()
        self._pid = os.getpid()
        self._depth = 0
        self._ended = False
        self._name = run.name
        self._run = run
        # The stages marker when this run was last known to be neither deleted nor purged.
        self._stages_seen = stages_seen
        # What this process logged, for a summary that needs no store read: per key the
        # (step, value) of its latest point by MLflow's rule (highest step, then newest).
        self._latest: dict[str, tuple[int, float]] = {}
        # Called with (key, step, value) for every point, e.g. by a live chart.
        self._watchers: list[Callable[[str, int, float], None]] = []
        self._tags: dict[str, str] = {}
        # The runs started inside this one by this process, for a summary without a read.
        self._children: list[ActiveRun] = []
        self._status = run.status
        self._end_time: int | None = None
        self._closing_at: int | None = None
        self._error: str | None = None

    @functools.cached_property
    def artifact_dir(self) -> Path:
        """The run's artifact folder, checked to lie in the store's: resolved when first
        needed (it follows links, a dozen system calls), not on the path of every run's start."""
        return artifact_folder(self._store, self._run.artifact_uri)

    # -- logging -------------------------------------------------------------------------------

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record one point of metric ``key``; ``step`` defaults to the key's previous step + 1."""
        if self._ended:
            self._raise_ended()
        try:
            key_json = self._metric_keys[key]
        except (KeyError, TypeError):
            key_json = self._metric_key(key)
        if type(value) is not float:
            value = metric_value(key, value)
        if step is None:
            step = self._last_step.get(key, -1) + 1
        elif type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
            step = step_value(key, step)
        self._last_step[key] = step
        latest = self._latest.get(key)
        if latest is None or step >= latest[0]:
            self._latest[key] = (step, value)
        self._append(
            records.metric_line(self._prefix, key_json, value, step, self._now(), next(self._seq))
        )
        if self._watchers:
            for watch in self._watchers:
                watch(key, step, value)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record several metrics at once; all are checked before any is written."""
        if self._ended:
            self._raise_ended()
        checked = [
            (self._metric_key(key), key, metric_value(key, value))
            for key, value in mapping(metrics, "log_metrics").items()
        ]
        if step is not None:
            step = step_value("(log_metrics)", step)
        now = self._now()
        lines = []
        for key_json, key, value in checked:
            point_step = self._last_step.get(key, -1) + 1 if step is None else step
            self._last_step[key] = point_step
            latest = self._latest.get(key)
            if latest is None or point_step >= latest[0]:
                self._latest[key] = (point_step, value)
            for watch in self._watchers:
                watch(key, point_step, value)
            lines.append(
                records.metric_line(self._prefix, key_json, value, point_step, now, next(self._seq))
            )
        if lines:
            self._append("".join(lines), records=len(lines))

    def _now(self) -> int:
        # A run ended later (``end_later``) logs as of its end: what is logged then describes
        # the state it ended in, and no point of it is newer than its end.
        closing = self._closing_at
        return time.time_ns() // 1000 if closing is None else closing

    def _metric_key(self, key: object) -> str:
        checked = check_name(key, "metric key")
        encoded = self._metric_keys.get(checked)
        if encoded is None:
            encoded = self._metric_keys[checked] = json.dumps(checked)
        return encoded

    def log_param(self, key: str, value: Any) -> None:
        """Record a param. Params are write-once: the same value again is a no-op."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record several params; if any is invalid or conflicts, none is written."""
        if self._ended:
            self._raise_ended()
        checked = []
        for key, value in mapping(params, "log_params").items():
            check_name(key, "param key")
            checked.append((key, value, *param_value(key, value)))
        with self._params_lock:
            new: dict[str, str] = {}
            for key, value, _, encoded in checked:
                previous = self._params.get(key, new.get(key))
                if previous is not None and previous != encoded:
                    raise InvalidValueError(
                        f"param {key!r} is already {json.loads(previous)!r} in this run and "
                        f"cannot change to {value!r}: params are write-once (log a new key, "
                        "or log the changing value as a metric)"
                    )
                if previous is None:
                    new[key] = encoded
            if not new:
                return
            now = time.time_ns() // 1000
            text = "".join(
                records.param_line(
                    self.id, key, plain, encoded, now, self._store.journal.next_counter()
                )
                for key, _, plain, encoded in checked
                if key in new
            )
            self._append(text, records=len(new))
            self._params.update(new)

    def watch_metrics(self, watcher: Callable[[str, int, float], None]) -> None:
        """Have ``watcher(key, step, value)`` called for every point logged from now on."""
        self._watchers.append(watcher)

    def param_keys(self) -> set[str]:
        """The params this run has (logged here, or before it was reopened)."""
        with self._params_lock:
            return set(self._params)

    def set_tag(self, key: str, value: Any) -> None:
        """Set a tag; setting it again replaces the value."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        if self._ended:
            self._raise_ended()
        checked = [
            (check_name(key, "tag key"), tag_value(key, value))
            for key, value in mapping(tags, "set_tags").items()
        ]
        now = time.time_ns() // 1000
        journal = self._store.journal
        text = "".join(
            records.tag_line(self.id, key, value, now, journal.next_counter())
            for key, value in checked
        )
        if text:
            self._append(text, records=len(checked))
            self._tags.update(checked)

    def record_tag(self, key: str, value: str) -> None:
        """A tag nbtrack itself adds, possibly after the run ended (a capture that finished
        late); the key and value are nbtrack's own, so they are not checked again."""
        journal = self._store.journal
        self._append(
            records.tag_line(self.id, key, value, time.time_ns() // 1000, journal.next_counter())
        )
        self._tags[key] = value

    def user_tags(self) -> dict[str, str]:
        """The tags a user gave this run (nbtrack's own left out), as this process knows them:
        what a child run starts with."""
        return {
            key: value
            for key, value in {**self._run.tags, **self._tags}.items()
            if not key.startswith(HIDDEN_TAG_PREFIX)
        }

    def add_child(self, child: ActiveRun) -> None:
        """Remember a run started inside this one (the store knows it from the child's
        ``parent_run_id``)."""
        self._children.append(child)

    def _raise_ended(self) -> None:
        raise NoActiveRunError(
            f"run {self._name!r} ({self.id}) has ended; reopen it with "
            f"nbtrack.start_run(run_id={self.id!r}) to log more"
        )

    def artifact_dir_for_writing(self) -> Path:
        """The run's artifact folder, once the run is known to be neither deleted nor purged
        (by any process): a deleted run's folder goes at the next gc, a purged one's is gone.

        A stat of the store's stages marker; the store is asked only when some run or
        experiment changed stage since this run last checked.
        """
        seen = self._store.stages_state()
        if seen != self._stages_seen:
            self._store.read(runs.check_loggable, self.id)
            self._stages_seen = seen
        return self.artifact_dir

    # -- ending --------------------------------------------------------------------------------

    def end(self, status: str = FINISHED, error: str | None = None) -> None:
        """End the run (FINISHED, FAILED or KILLED). Ending it again does nothing.

        One journal record: readers in every process see the run ended at once. What a
        background thread still owes this run or its children (autolog's worker) is logged
        first, so nothing lands in the run after its end.
        """
        if status not in END_STATUSES:
            raise InvalidValueError(f"status {status!r} is not one of {', '.join(END_STATUSES)}")
        if self._ended:
            return
        owed.wait(self.id)
        for child in reversed(_current.all_active()):
            if child.parent is self:
                child.end(status)
        self._ended = True
        self._status = status
        self._end_time = self._closing_at or time.time_ns() // 1000
        self._error = error
        _current.remove(self)
        journal = self._store.journal
        self._append(
            records.end_line(self.id, status, error, self._end_time, journal.next_counter())
        )

    def __enter__(self) -> ActiveRun:
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        self.end_after(exc)

    def end_after(self, error: BaseException | None) -> None:
        """End the run as its code ended: FINISHED when it ran through (``error`` is None) or
        exited with status 0 (``sys.exit()``, as the shell would read it), KILLED on Ctrl-C,
        else FAILED with the traceback kept."""
        if error is None or (isinstance(error, SystemExit) and error.code in (0, None)):
            self.end(FINISHED)
        elif isinstance(error, KeyboardInterrupt):
            self.end(KILLED, format_error(error))
        else:
            self.end(FAILED, format_error(error))

    @property
    def held(self) -> bool:
        """Whether what opened the run is still running: its ``with`` block, or its tracked
        cell (the cell ends its run, so an open cell run is a cell still executing)."""
        return self._depth > 0 or self.cell

    @property
    def ended(self) -> bool:
        return self._ended

    def end_later(self) -> None:
        """Stop being the active run now; ``end`` comes later (from autolog's worker, once the
        work it owes this run is logged) and records now as the end time."""
        self._closing_at = time.time_ns() // 1000
        _current.remove(self)

    @property
    def store(self) -> Store:
        """The store this run logs to (which the current store may no longer be)."""
        return self._store

    @property
    def closing(self) -> bool:
        """Whether the run stopped being active to be ended later (see ``end_later``)."""
        return self._closing_at is not None or self._ended

    # -- reading back --------------------------------------------------------------------------

    def local_view(self) -> Run:
        """The run as this process logged it, without reading the store (for summaries)."""
        end_time = from_micros(self._end_time)
        # The span this process opened ends where the run ended here.
        spans = tuple(
            RunSpan(span.start_time, end_time) if span.end_time is None else span
            for span in self._run.spans
        )
        known = {child.id for child in self._run.children}
        children = self._run.children + tuple(
            ChildRun(child.id, child.name, child._status)
            for child in self._children
            if child.id not in known
        )
        return dataclasses.replace(
            self._run,
            status=self._status,
            end_time=end_time,
            params={key: json.loads(value) for key, value in self._params.items()},
            metrics={key: value for key, (_, value) in self._latest.items()},
            tags={**self._run.tags, **self._tags},
            error=self._error,
            artifact_uri=str(self.artifact_dir),
            spans=spans,
            children=children,
        )

    def snapshot(self) -> Run:
        """The run as the store holds it now (this process's records included)."""
        return get_run(self._store, self.id)

    @property
    def name(self) -> str:
        return self._name

    @property
    def status(self) -> str:
        return self.snapshot().status

    @property
    def params(self) -> dict[str, Any]:
        return self.snapshot().params

    @property
    def metrics(self) -> dict[str, float]:
        return self.snapshot().metrics

    @property
    def tags(self) -> dict[str, str]:
        return self.snapshot().tags

    def __getattr__(self, name: str) -> Any:
        # What a run fixes when it starts is known here; the rest (end_time, error, duration)
        # is read fresh from the store.
        if name in _FIXED_AT_START:
            return getattr(self._run, name)
        if name.startswith("_") or (name not in Run.__dataclass_fields__ and name != "duration"):
            raise AttributeError(name)
        return getattr(self.snapshot(), name)

    def __repr__(self) -> str:
        state = "ended" if self._ended else "active"
        return f"<ActiveRun {self._name!r} id={self.id} {state}>"


_FIXED_AT_START = frozenset(
    {"experiment_id", "start_time", "source", "source_name", "git_commit", "parent_run_id",
     "user", "host"}
)  # fmt: skip


def format_error(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def get_run(store: Store, run_id: str) -> Run:
    """A snapshot of ``run_id`` with its artifact folder as an absolute path."""
    run = store.read(runs.get_run, run_id)
    return dataclasses.replace(run, artifact_uri=str(artifact_folder(store, run.artifact_uri)))


def artifact_folder(store: Store, relative: str) -> Path:
    """A run's artifact folder, which must lie in the store's own artifact folder."""
    root = (store.folder / ARTIFACTS_FOLDER).resolve()
    folder = (store.folder / relative).resolve()
    if not folder.is_relative_to(root) or folder == root:
        raise StoreCorruptError(
            f"the store records the artifact folder {relative!r}, which is outside {root}; "
            "the store file has been edited by hand or damaged"
        )
    return folder
