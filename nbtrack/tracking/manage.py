"""Run and experiment management: rename, delete and restore, purge, export.

Every change of a run's or experiment's stage goes through ``Store.write_stages``: a process
still logging into that run learns of it from the stages marker before its next artifact write.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbtrack.entities import Experiment
from nbtrack.store import experiments, runs
from nbtrack.store.current import current_store
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.tracking.lifecycle import forget_experiments
from nbtrack.tracking.validation import check_name

EXPORTED_TABLES = [
    "experiments", "runs", "run_spans", "params", "metrics", "latest_metrics", "tags",
]  # fmt: skip


def rename_run(run_id: str, name: str) -> None:
    """Give a run another name."""
    current_store().write(
        runs.rename_run, check_name(run_id, "run_id"), check_name(name, "run name")
    )


def delete_run(run_id: str) -> None:
    """Hide a run from searches; its data and artifacts stay until ``nbtrack gc``. Until it is
    restored it cannot be reopened or given artifacts."""
    current_store().write_stages(runs.set_run_stage, check_name(run_id, "run_id"), "deleted")


def restore_run(run_id: str) -> None:
    """Bring back a deleted run (before ``nbtrack gc`` purged it)."""
    current_store().write_stages(runs.set_run_stage, check_name(run_id, "run_id"), "active")


def delete_experiment(name: str) -> Experiment:
    """Hide an experiment and its runs; nothing is removed until ``nbtrack gc``."""
    forget_experiments()
    return current_store().write_stages(
        experiments.set_experiment_stage, check_name(name, "experiment"), "deleted"
    )


def restore_experiment(name: str) -> Experiment:
    """Bring back a deleted experiment with its runs."""
    forget_experiments()
    return current_store().write_stages(
        experiments.set_experiment_stage, check_name(name, "experiment"), "active"
    )


@dataclass(frozen=True)
class GcResult:
    runs: int
    experiments: int
    metric_points: int
    artifact_bytes: int


def gc(progress: Callable[[int, int], None] | None = None) -> GcResult:
    """Remove deleted runs and experiments for good, with their artifacts, and any rows left
    by a process that logged into a run after it was purged."""
    store = current_store()
    forget_experiments()
    purged = store.write_stages(runs.purge_deleted)
    root = (store.folder / ARTIFACTS_FOLDER).resolve()
    freed = 0
    for done, relative in enumerate(purged.artifact_folders, start=1):
        folder = (store.folder / relative).resolve()
        # Only ever inside the store's own artifact folder, whatever the row says.
        if folder.is_relative_to(root) and folder != root and folder.is_dir():
            freed += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            shutil.rmtree(folder)
        if progress is not None:
            progress(done, len(purged.artifact_folders))
    return GcResult(purged.runs, purged.experiments, purged.metric_points, freed)


def export(folder: str | Path, progress: Callable[[str], None] | None = None) -> list[Path]:
    """Write every public table as Parquet into ``folder``, from one consistent snapshot."""
    return current_store().export(Path(folder), EXPORTED_TABLES, progress)
