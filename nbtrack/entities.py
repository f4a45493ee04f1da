"""The things nbtrack records, as frozen values. No I/O happens here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

RUNNING: Final = "RUNNING"
FINISHED: Final = "FINISHED"
FAILED: Final = "FAILED"
KILLED: Final = "KILLED"
RUN_STATUSES: Final = (RUNNING, FINISHED, FAILED, KILLED)
END_STATUSES: Final = (FINISHED, FAILED, KILLED)


def from_micros(micros: int | None) -> dt.datetime | None:
    """A timezone-aware UTC datetime from microseconds since the epoch."""
    if micros is None:
        return None
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)


@dataclass(frozen=True)
class Experiment:
    """A named group of runs."""

    id: str
    name: str
    lifecycle_stage: str
    created_at: dt.datetime
    artifact_location: str

    @property
    def deleted(self) -> bool:
        return self.lifecycle_stage == "deleted"


@dataclass(frozen=True)
class Metric:
    """One logged point of a metric."""

    key: str
    value: float
    step: int
    timestamp: dt.datetime


@dataclass(frozen=True)
class Run:
    """A snapshot of one run as the store holds it.

    ``params`` keeps values as logged (numbers, strings, bools, lists); ``metrics`` holds the
    latest value of each key; ``tags`` are strings.
    """

    id: str
    name: str
    experiment_id: str
    status: str
    start_time: dt.datetime
    end_time: dt.datetime | None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    source_name: str | None = None
    git_commit: str | None = None
    error: str | None = None
    artifact_uri: str = ""
    parent_run_id: str | None = None
    user: str | None = None
    host: str | None = None

    @property
    def duration(self) -> dt.timedelta | None:
        """Time from start to end; for a run still RUNNING, the time so far."""
        if self.end_time is not None:
            return self.end_time - self.start_time
        if self.status == RUNNING:
            return dt.datetime.now(dt.UTC) - self.start_time
        return None

    def __repr__(self) -> str:
        return f"<Run {self.name!r} id={self.id} status={self.status}>"
