"""Renaming, deleting, restoring, purging and exporting runs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import nbtrack
from nbtrack.tracking import manage
from tests.conftest import raw_connection


def _run_with_artifact(name: str, experiment: str = "Default") -> tuple[str, Path]:
    with nbtrack.start_run(name=name, experiment=experiment) as run:
        nbtrack.log_metric("m", 1.0)
    folder = Path(nbtrack.get_run(run.id).artifact_uri)
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"x" * 1000)
    return run.id, folder


def test_rename_run_changes_only_its_name(store_path: Path) -> None:
    run_id, _ = _run_with_artifact("old")
    nbtrack.rename_run(run_id, "new name with 'quotes'")
    run = nbtrack.get_run(run_id)
    assert run.name == "new name with 'quotes'"
    assert run.metrics == {"m": 1.0}
    with pytest.raises(nbtrack.NotFoundError):
        nbtrack.rename_run("0" * 32, "x")


def test_a_deleted_experiment_hides_its_runs_and_comes_back_whole(store_path: Path) -> None:
    run_id, folder = _run_with_artifact("a", experiment="doomed")
    nbtrack.delete_experiment("doomed")
    assert "doomed" not in [e.name for e in nbtrack.list_experiments()]
    with pytest.raises(nbtrack.InvalidValueError, match="deleted"):
        nbtrack.start_run(experiment="doomed")
    nbtrack.restore_experiment("doomed")
    assert list(nbtrack.search_runs(experiment="doomed")["run_id"]) == [run_id]
    assert folder.is_dir()


def test_gc_purges_deleted_runs_and_experiments_with_their_artifacts(store_path: Path) -> None:
    kept, kept_folder = _run_with_artifact("kept")
    gone, gone_folder = _run_with_artifact("gone")
    _, deleted_folder = _run_with_artifact("x", experiment="old")
    nbtrack.delete_run(gone)
    nbtrack.delete_experiment("old")

    result = manage.gc()

    assert (result.runs, result.experiments, result.metric_points) == (2, 1, 2)
    assert result.artifact_bytes == 2000
    assert kept_folder.is_dir() and not gone_folder.exists() and not deleted_folder.exists()
    with pytest.raises(nbtrack.NotFoundError):
        nbtrack.get_run(gone)
    assert nbtrack.get_run(kept).metrics == {"m": 1.0}
    assert nbtrack.sql("SELECT count(*) AS n FROM metrics")["n"][0] == 1


def test_gc_never_removes_a_folder_outside_the_artifact_root(store_path: Path) -> None:
    run_id, _ = _run_with_artifact("evil")
    outside = store_path.parent / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    nbtrack.flush()
    with raw_connection(store_path) as con:
        con.execute("UPDATE runs SET artifact_uri = '../precious/artifacts'")
    nbtrack.delete_run(run_id)
    manage.gc()
    assert (outside / "keep.txt").read_text() == "keep"


def test_export_writes_every_table_as_parquet(store_path: Path, tmp_path: Path) -> None:
    with nbtrack.start_run() as run:
        for step in range(100):
            nbtrack.log_metric("loss", 1 / (step + 1))
        nbtrack.log_param("lr", 0.1)
    paths = manage.export(tmp_path / "out")
    assert sorted(p.name for p in paths) == sorted(f"{t}.parquet" for t in manage.EXPORTED_TABLES)
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT count(*), min(run_id), max(run_id) FROM read_parquet(?)",
            [str(tmp_path / "out" / "metrics.parquet")],
        ).fetchone()
    assert rows == (100, run.id, run.id)
    assert not list((tmp_path / "out").glob(".*partial"))


def test_runs_record_python_packages_and_git_state(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        pass
    tags = nbtrack.get_run(run.id).tags
    assert tags["nbtrack.python"].count(".") == 2
    assert "nbtrack==" in tags["nbtrack.packages"]
