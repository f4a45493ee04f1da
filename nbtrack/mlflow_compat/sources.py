"""What an MLflow tracking store holds, as plain values, whichever store it was read from.

``nbtrack mlflow import`` reads an ``mlruns`` folder as files (``mlruns.py``) and any other
MLflow store through MLflow's client (``client_source.py``); both answer with these classes, so
the import (``importing.py``) does not know where the history came from. Times are MLflow's
milliseconds; a run's params, tags and metric histories are exactly as MLflow holds them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nbtrack.mlflow_compat import mapping

# One metric point: (value, timestamp in ms, step).
Point = tuple[float, int, int]


@dataclass(frozen=True)
class SourceExperiment:
    id: str
    name: str
    lifecycle_stage: str = "active"


@dataclass(frozen=True)
class SourceRun:
    id: str
    experiment_id: str
    name: str
    status: str
    start_time: int | None
    end_time: int | None
    user: str | None
    lifecycle_stage: str
    params: dict[str, str]
    tags: dict[str, str]
    metric_keys: tuple[str, ...]


@dataclass(frozen=True)
class SourceLoggedModel:
    """An MLflow 3 logged model: its files live apart from its run's artifacts in MLflow."""

    id: str
    name: str
    experiment_id: str
    run_id: str | None
    status: str
    model_type: str
    created: int
    updated: int
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceVersion:
    version: int
    source: str
    run_id: str | None
    model_id: str | None
    description: str
    tags: dict[str, str]


@dataclass(frozen=True)
class SourceModel:
    name: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    versions: tuple[SourceVersion, ...]


class Source(Protocol):
    """An MLflow tracking store, read."""

    def experiments(self) -> list[SourceExperiment]: ...

    def runs(self, experiment_id: str) -> Iterator[SourceRun]: ...

    def metric_history(self, run: SourceRun, key: str) -> list[Point]: ...

    def download_artifacts(self, run: SourceRun, destination: Path) -> None:
        """Every artifact of ``run`` into the empty folder ``destination``."""

    def logged_models(self, experiment_ids: list[str]) -> list[SourceLoggedModel]: ...

    def download_model(self, model: SourceLoggedModel, destination: Path) -> None:
        """The files of a logged model into the empty folder ``destination``."""

    def registered_models(self) -> list[SourceModel]: ...


def parents_first(runs: list[SourceRun]) -> list[SourceRun]:
    """``runs`` ordered so that a run comes after its parent (``mlflow.parentRunId``), then by
    start time: a child written first would name a parent not there yet."""
    by_id = {run.id: run for run in runs}

    def depth(run: SourceRun) -> int:
        seen: set[str] = set()
        while (parent := run.tags.get(mapping.PARENT_RUN_TAG)) in by_id and parent not in seen:
            seen.add(parent)
            run = by_id[parent]
        return len(seen)

    return sorted(runs, key=lambda run: (depth(run), run.start_time or 0))
