"""The same history read through MLflow's client and through nbtrack's API, compared value by
value: NaN equals NaN, times in milliseconds, every metric point."""

from __future__ import annotations

import filecmp
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Run as MlflowRun
from mlflow.entities import ViewType

import nbtrack

EXPERIMENT = "expérience ✓"
# Tags nbtrack adds to an imported run (its MLflow id, the records of its logged models).
NBTRACK_PREFIX = "nbtrack."


def mlflow_runs(client: MlflowClient, experiment: str = EXPERIMENT) -> list[MlflowRun]:
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    active = ViewType.ACTIVE_ONLY
    return list(client.search_runs([found.experiment_id], run_view_type=active, max_results=1000))


def points(values: list[tuple[int, int, float]]) -> list[tuple[int, int, str]]:
    """(step, timestamp ms, value) sorted, the value as text so that NaN equals NaN."""
    return sorted((step, at, repr(value)) for step, at, value in values)


def mlflow_history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, int, str]]:
    return points([(m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key)])


def nbtrack_history(run_id: str, key: str) -> list[tuple[int, int, str]]:
    frame = nbtrack.get_metric_history(run_id, key)
    at = [int(t.timestamp() * 1000 + 0.5) for t in frame["timestamp"]]
    return points(list(zip(frame["step"].tolist(), at, frame["value"].tolist(), strict=True)))


def millis(moment: object) -> int | None:
    return None if moment is None else round(moment.timestamp() * 1000)  # type: ignore[attr-defined]


def own_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith(NBTRACK_PREFIX)}


def assert_run_imported(client: MlflowClient, source: MlflowRun) -> nbtrack.Run:
    """The run of the same id in nbtrack holds exactly what MLflow holds."""
    run = nbtrack.get_run(source.info.run_id)
    info, data = source.info, source.data
    assert (run.name, run.status) == (info.run_name, info.status)
    assert (millis(run.start_time), millis(run.end_time)) == (info.start_time, info.end_time)
    assert run.params == data.params
    assert own_tags(run.tags) == data.tags
    assert run.tags["nbtrack.mlflow.run_id"] == info.run_id
    assert run.parent_run_id == data.tags.get("mlflow.parentRunId")
    assert sorted(run.metrics) == sorted(data.metrics)
    for key, latest in data.metrics.items():
        assert repr(run.metrics[key]) == repr(latest), key
        assert nbtrack_history(run.id, key) == mlflow_history(client, info.run_id, key), key
    return run


def assert_same_files(left: Path, right: Path) -> None:
    left_files = sorted(p.relative_to(left) for p in left.rglob("*") if p.is_file())
    right_files = sorted(p.relative_to(right) for p in right.rglob("*") if p.is_file())
    assert left_files == right_files
    for relative in left_files:
        assert filecmp.cmp(left / relative, right / relative, shallow=False), relative


def assert_close(a: object, b: object) -> None:
    import numpy as np

    assert np.array_equal(np.asarray(a), np.asarray(b)), (a, b)
