"""Journal writes for one run on behalf of MLflow's protocol: the same records, and the same
path into the store, as ``nbtrack.log_metric`` (``tracking/run.py``), with MLflow's extras:
a metric's own timestamp, a run's own start time, user and name.

MLflow's rules hold here: params are write-once (the same value again is fine, another value
is an error), tags overwrite, metrics append.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import os
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nbtrack import config
from nbtrack.entities import END_STATUSES, RUNNING, Run, from_micros
from nbtrack.errors import InvalidValueError
from nbtrack.mlflow_compat.run_mirror import RunMirror
from nbtrack.store import records
from nbtrack.store.store import Store
from nbtrack.tracking.validation import check_name, metric_value, param_value, step_value, tag_value

# Milliseconds that still fit in int64 once turned into microseconds.
_MAX_MILLIS = (2**63 - 1) // 1000


@dataclass(frozen=True)
class NewRun:
    """What MLflow's ``create_run`` gives a run beyond its tags."""

    experiment_id: str
    name: str
    user: str | None
    start_ms: int
    source_name: str | None = None
    git_commit: str | None = None
    parent_run_id: str | None = None
    # An id the run already has elsewhere (an MLflow run being imported); else a new uuid4.
    run_id: str | None = None


def checked_millis(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > _MAX_MILLIS:
        raise InvalidValueError(
            f"{what} {value!r} is not accepted; give milliseconds since the epoch (an int)"
        )
    return value


class RunWriter:
    """Appends one run's records to this process's journal."""

    def __init__(self, store: Store, run_id: str, params: Mapping[str, str], last_seq: int) -> None:
        self.run_id = run_id
        self._store = store
        self._prefix = records.metric_prefix(run_id)
        self._seq = itertools.count(last_seq + 1)
        self._params = dict(params)
        self._lock = threading.Lock()
        # The run as this process made it, while nothing but its tags changed it elsewhere:
        # what create_run and update_run answer without reading the store.
        self.created: Run | None = None
        # The whole run, kept up to date by every write below, once its state is known.
        self.mirror: RunMirror | None = None
        # Counts the writes: a read that saw none of them happen can be mirrored.
        self.writes = 0

    @classmethod
    def start(
        cls,
        store: Store,
        new: NewRun,
        experiment_location: str,
        tags: Iterable[tuple[object, object]] = (),
    ) -> RunWriter:
        """Create a run with one start record and its first ``tags``, in one append (a refused
        tag creates nothing); it is owned by this process. Its artifacts go where nbtrack's
        own runs' go: ``<experiment's folder>/<run id>/artifacts``."""
        checked_tags = [
            (check_name(key, "tag key"), tag_value(str(key), value)) for key, value in tags
        ]
        run_id = new.run_id or uuid.uuid4().hex
        fields = {
            "experiment_id": new.experiment_id,
            "name": new.name,
            "parent_run_id": new.parent_run_id,
            "source": None,
            "source_name": new.source_name,
            "git_commit": new.git_commit,
            "user": new.user,
            "host": config.host_name(),
            "owner_pid": os.getpid(),
            "artifact_uri": f"{experiment_location}/{run_id}/artifacts",
        }
        journal = store.journal
        at = checked_millis(new.start_ms, "start_time") * 1000
        now = time.time_ns() // 1000
        lines = [records.start_line(run_id, at, journal.next_counter(), fields)]
        for key, value in checked_tags:
            lines.append(records.tag_line(run_id, key, value, now, journal.next_counter()))
        journal.append("".join(lines), records=len(lines))
        writer = cls(store, run_id, {}, 0)
        writer.created = Run(
            id=run_id,
            name=new.name,
            experiment_id=new.experiment_id,
            status=RUNNING,
            start_time=from_micros(at) or dt.datetime.now(dt.UTC),
            end_time=None,
            source_name=new.source_name,
            git_commit=new.git_commit,
            artifact_uri=str(fields["artifact_uri"]),
            parent_run_id=new.parent_run_id,
            user=new.user,
            host=str(fields["host"]),
            tags=dict(checked_tags),
        )
        return writer

    def log(
        self,
        metrics: Iterable[tuple[object, object, object, object]] = (),
        params: Iterable[tuple[object, object]] = (),
        tags: Iterable[tuple[object, object]] = (),
    ) -> None:
        """Metrics as (key, value, timestamp ms, step), params and tags as (key, value): all
        checked first, then written in one append, so a refused batch writes nothing."""
        points = [self._metric_point(*metric) for metric in metrics]
        checked_params = [self._param(key, value) for key, value in params]
        checked_tags = [
            (check_name(key, "tag key"), tag_value(str(key), value)) for key, value in tags
        ]
        journal = self._store.journal
        now = time.time_ns() // 1000
        with self._lock:
            new = self._new_params(checked_params) if checked_params else []
            # Plain loops: one call of MLflow's client logs one value, and this is its path.
            lines = [line for line, _ in points]
            for key, text, encoded in new:
                counter = journal.next_counter()
                lines.append(records.param_line(self.run_id, key, text, encoded, now, counter))
            for key, value in checked_tags:
                lines.append(records.tag_line(self.run_id, key, value, now, journal.next_counter()))
            if lines:
                journal.append("".join(lines), records=len(lines))
            for key, text, _ in new:  # known as logged only once the journal has it
                self._params[key] = text
            self.writes += 1
            if self.mirror is not None:
                self.mirror.logged(
                    (point for _, point in points),
                    ((key, text) for key, text, _ in new),
                    checked_tags,
                )

    def _metric_point(
        self, key: object, value: object, timestamp: object, step: object
    ) -> tuple[str, tuple[str, float, int, int, int]]:
        """The journal line of one point, and the point (key, value, µs, step, seq)."""
        name = check_name(key, "metric key")
        number = metric_value(name, value)
        at = checked_millis(timestamp, f"metric {name!r}: timestamp") * 1000
        checked_step = step_value(name, step)
        seq = next(self._seq)
        line = records.metric_line(self._prefix, json.dumps(name), number, checked_step, at, seq)
        return line, (name, number, at, checked_step, seq)

    @staticmethod
    def _param(key: object, value: object) -> tuple[str, str, str]:
        name = check_name(key, "param key")
        text, encoded = param_value(name, value)
        return name, text, encoded

    def _new_params(self, checked: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        new: dict[str, tuple[str, str, str]] = {}
        for key, text, encoded in checked:
            before = self._params.get(key, new[key][1] if key in new else None)
            if before is not None and before != text:
                raise InvalidValueError(
                    "Changing param values is not allowed. Param with key="
                    f"'{key}' was already logged with value='{before}' for run ID="
                    f"'{self.run_id}'. Attempted logging new value '{text}'."
                )
            if before is None:
                new[key] = (key, text, encoded)
        return list(new.values())

    def end(self, status: str, end_ms: int) -> None:
        """End the run this process owns with one end record."""
        if status not in END_STATUSES:
            raise InvalidValueError(f"status {status!r} is not one of {', '.join(END_STATUSES)}")
        journal = self._store.journal
        at = checked_millis(end_ms, "end_time") * 1000
        with self._lock:
            journal.append(records.end_line(self.run_id, status, None, at, journal.next_counter()))
            self.writes += 1
            if self.mirror is not None:
                self.mirror.ended(status, at)
        if self.created is not None:
            self.created = dataclasses.replace(
                self.created, status=status, end_time=from_micros(at)
            )
