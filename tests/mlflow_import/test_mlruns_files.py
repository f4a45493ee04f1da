"""An ``mlruns`` folder is read as files, and only as far as the folder goes: links out of it
are not followed, an id that would name another folder is refused, and each value keeps its
exact text."""

from __future__ import annotations

from pathlib import Path

import yaml

import nbtrack

RUN = "0123456789abcdef0123456789abcdef"
OTHER = "abcdefabcdefabcdefabcdefabcdefab"


def _write_meta(folder: Path, meta: dict[str, object]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")


def _mlruns(root: Path, outside: Path) -> Path:
    mlruns = root / "mlruns"
    _write_meta(mlruns / "7", {"experiment_id": "7", "name": "files", "lifecycle_stage": "active"})
    run = mlruns / "7" / RUN
    _write_meta(run, {
        "run_id": RUN, "run_name": "by hand", "experiment_id": "7", "status": 4,
        "start_time": 1_700_000_000_000, "end_time": 1_700_000_000_500, "user_id": "ana",
        "lifecycle_stage": "active", "artifact_uri": outside.as_uri(),
    })  # fmt: skip
    (run / "params" / "opt").mkdir(parents=True)
    (run / "params" / "opt" / "lr").write_bytes(b"0.1 \r\n")
    (run / "metrics").mkdir()
    (run / "metrics" / "loss").write_text("1700000000001 nan 0\n1700000000002 -inf 1\n")
    (run / "tags").mkdir()
    (run / "tags" / "mlflow.runName").write_text("by hand")
    (run / "artifacts").mkdir()
    (run / "artifacts" / "ok.txt").write_text("inside")
    (run / "artifacts" / "leak.txt").symlink_to(outside / "secret.txt")
    (run / "params" / "leak").symlink_to(outside / "secret.txt")
    escaping = mlruns / "7" / "fedcba9876543210fedcba9876543210"
    _write_meta(escaping, {
        "run_id": "../../../escape", "run_name": "escape", "experiment_id": "7", "status": 3,
        "start_time": 1, "end_time": 2, "lifecycle_stage": "active",
    })  # fmt: skip
    _write_meta(mlruns / "8", {"experiment_id": "8", "name": "other", "lifecycle_stage": "active"})
    _write_meta(mlruns / "8" / OTHER, {
        "run_id": OTHER, "run_name": "later", "experiment_id": "8", "status": 3,
        "start_time": 5, "end_time": 6, "lifecycle_stage": "active",
    })  # fmt: skip
    return mlruns


def test_an_mlruns_folder_comes_in_as_its_files_say_and_no_further(
    store_path: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    mlruns = _mlruns(tmp_path, outside)

    summary = nbtrack.import_mlflow(mlruns, experiments=["files"])

    run = nbtrack.get_run(RUN)
    assert (run.name, run.status, run.user) == ("by hand", "FAILED", "ana")
    assert run.params == {"opt/lr": "0.1 \r\n"}
    history = nbtrack.get_metric_history(RUN, "loss")
    assert history["step"].tolist() == [0, 1]
    assert history["value"].isna().tolist() == [True, False]
    assert history["value"].tolist()[1] == float("-inf")
    assert [f.path for f in nbtrack.list_artifacts(RUN)] == ["ok.txt"]
    assert nbtrack.load_text(RUN, "ok.txt") == "inside"
    assert summary.imported["runs"] == 1
    assert any("../../../escape" in line and "not an MLflow run id" in line
               for line in summary.skipped)  # fmt: skip
    assert not (tmp_path / "escape").exists()
    assert [e.name for e in nbtrack.list_experiments()].count("other") == 0

    rest = nbtrack.import_mlflow(mlruns)
    assert rest.imported["runs"] == 1 and rest.already["runs"] == 1
    assert nbtrack.get_run(OTHER).experiment_id == nbtrack.get_experiment("other").id
