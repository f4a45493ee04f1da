"""A run as this process last read it, plus what it has logged to it since: what ``nbtrack
server`` answers ``runs/get`` from while no other process changed the store.

A read right after a write costs an ingestion and a checkpoint (tens of milliseconds), and
MLflow's client reads every run back when it ends it. The server wrote everything since its
last read itself, through its own journal, so it can apply the same rules the ingestion
applies (params write-once, tags last wins, the latest point of a metric) to its copy. The
copy counts only while ``Store.changes_outside_journal()`` says the number it was made at: any
other process's write, ingestion or pending journal lines send the next request to the store.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable

from nbtrack.entities import Run, from_micros
from nbtrack.store.whole_runs import FullRun

# (step, timestamp in microseconds, sequence number): the order in which a point is the
# latest, as store/batch.py's upsert orders them. Points read from the store count as
# sequence 0: every point this process logs after the read has a higher one.
_Point = tuple[int, int, int]


class RunMirror:
    """One run, kept up to date by the writes of this process."""

    def __init__(self, full: FullRun, generation: int) -> None:
        self.generation = generation
        self._run = full.run
        self._stage = full.lifecycle_stage
        self._params = dict(full.params_text)
        self._tags = dict(full.run.tags)
        self._latest: dict[str, tuple[float, _Point]] = {
            key: (value, (step, at, 0)) for key, value, at, step in full.latest
        }
        self._lock = threading.Lock()

    def logged(
        self,
        metrics: Iterable[tuple[str, float, int, int, int]],
        params: Iterable[tuple[str, str]],
        tags: Iterable[tuple[str, str]],
    ) -> None:
        """Metrics as (key, value, timestamp µs, step, seq); params (new ones only) and tags
        as (key, text)."""
        with self._lock:
            for key, value, at, step, seq in metrics:
                point = (step, at, seq)
                known = self._latest.get(key)
                if known is None or point > known[1]:
                    self._latest[key] = (value, point)
            for key, text in params:
                self._params.setdefault(key, text)
            self._tags.update(tags)

    def ended(self, status: str, end_us: int) -> None:
        with self._lock:
            self._run = dataclasses.replace(self._run, status=status, end_time=from_micros(end_us))

    def renamed(self, name: str) -> None:
        with self._lock:
            self._run = dataclasses.replace(self._run, name=name)

    def full(self) -> FullRun:
        """The run as a read of the store would find it now (sorted by key, as reads are)."""
        with self._lock:
            latest = sorted(
                (key, value, point[1], point[0]) for key, (value, point) in self._latest.items()
            )
            tags = dict(sorted(self._tags.items()))
            run: Run = dataclasses.replace(
                self._run, tags=tags, metrics={key: value for key, value, _, _ in latest}
            )
            return FullRun(run, self._stage, dict(sorted(self._params.items())), latest)
