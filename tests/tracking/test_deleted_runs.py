"""A deleted run stays deleted: it is not reopened or given artifacts until it is restored, and
what a process still logs into it after ``nbtrack gc`` purged it leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import nbtrack
from nbtrack.store.current import current_store
from nbtrack.tracking import manage
from tests.conftest import raw_connection
from tests.models.estimators import Doubler

CHILD_TABLES = ("params", "metrics", "latest_metrics", "tags", "model_payloads")


def _nbtrack_cli(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def _rows_of(store_path: Path, run_id: str) -> dict[str, int]:
    counts = {}
    with raw_connection(store_path, read_only=True) as con:
        for table in CHILD_TABLES:
            (counts[table],) = con.execute(
                f"SELECT count(*) FROM {table} WHERE run_id = ?",
                [run_id],
            ).fetchone() or (0,)
    return counts


def test_start_run_refuses_to_reopen_a_deleted_run_until_it_is_restored(
    store_path: Path,
) -> None:
    with nbtrack.start_run(name="baseline") as run:
        nbtrack.log_metric("loss", 1.0)
    nbtrack.delete_run(run.id)

    with pytest.raises(nbtrack.InvalidValueError) as refused:
        nbtrack.start_run(run_id=run.id)

    message = str(refused.value)
    assert "'baseline'" in message and run.id in message
    assert f"nbtrack.restore_run({run.id!r})" in message
    assert nbtrack.active_run() is None
    assert nbtrack.get_run(run.id).status == "FINISHED"
    nbtrack.restore_run(run.id)
    with nbtrack.start_run(run_id=run.id):
        nbtrack.log_metric("loss", 0.5)
    assert nbtrack.get_run(run.id).metrics == {"loss": 0.5}


def test_reopening_a_run_of_a_deleted_experiment_names_the_experiment_to_restore(
    store_path: Path,
) -> None:
    with nbtrack.start_run(experiment="doomed") as run:
        pass
    nbtrack.delete_experiment("doomed")

    with pytest.raises(nbtrack.InvalidValueError, match=r"restore_experiment\('doomed'\)"):
        nbtrack.start_run(run_id=run.id)


def _log_text() -> None:
    nbtrack.log_text("late", "notes.txt")


def _log_dict() -> None:
    nbtrack.log_dict({"late": True}, "config.json")


def _log_artifact() -> None:
    local = Path("weights.bin")
    local.write_bytes(b"x")
    nbtrack.log_artifact(local)


def _log_figure() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    nbtrack.log_figure(Figure(), "plot.png")


def _log_model() -> None:
    nbtrack.log_model(Doubler(), "model")


ARTIFACT_WRITES = [_log_text, _log_dict, _log_artifact, _log_figure, _log_model]


@pytest.mark.parametrize("write", ARTIFACT_WRITES, ids=lambda write: write.__name__)
def test_artifact_writes_into_a_deleted_run_refuse_until_it_is_restored(
    store_path: Path, write: Callable[[], None]
) -> None:
    run = nbtrack.start_run(name="in-flight")
    nbtrack.delete_run(run.id)

    with pytest.raises(nbtrack.InvalidValueError, match=r"nbtrack\.restore_run"):
        write()

    assert not Path(run.artifact_uri).exists()
    nbtrack.restore_run(run.id)
    write()
    assert any(Path(run.artifact_uri).iterdir())
    nbtrack.end_run()


def test_log_text_into_a_run_deleted_and_purged_from_a_terminal_refuses_and_makes_no_folder(
    store_path: Path, child_env: dict[str, str]
) -> None:
    run = nbtrack.start_run()
    nbtrack.log_text("first", "notes.txt")
    run_folder = Path(run.artifact_uri).parent
    assert run_folder.is_dir()

    _nbtrack_cli("runs", "delete", run.id, env=child_env)
    _nbtrack_cli("gc", env=child_env)

    assert not run_folder.exists()
    with pytest.raises(nbtrack.NotFoundError, match="gc"):
        nbtrack.log_text("second", "notes.txt")
    assert not run_folder.exists()
    with pytest.raises(nbtrack.NotFoundError):
        nbtrack.start_run(run_id=run.id)
    nbtrack.end_run()


def test_gc_removes_what_a_process_logged_into_a_run_after_it_was_purged(
    store_path: Path,
) -> None:
    run = nbtrack.start_run()
    nbtrack.log_metric("loss", 1.0)
    nbtrack.delete_run(run.id)
    manage.gc()
    # The notebook does not know yet: logging to the journal costs no store query.
    nbtrack.log_param("lr", 0.1)
    nbtrack.set_tag("phase", "late")
    nbtrack.log_metric("loss", 0.5)
    nbtrack.end_run()
    nbtrack.flush()

    result = manage.gc()

    assert result.metric_points == 1
    assert _rows_of(store_path, run.id) == dict.fromkeys(CHILD_TABLES, 0)


def test_gc_removes_the_model_payload_records_of_the_runs_it_purges(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_model(Doubler(), "model")
    nbtrack.delete_run(run.id)

    manage.gc()

    assert _rows_of(store_path, run.id) == dict.fromkeys(CHILD_TABLES, 0)


def test_artifact_writes_ask_the_store_only_after_some_run_or_experiment_changed_stage(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = nbtrack.start_run(name="other")
    nbtrack.end_run()
    nbtrack.delete_run(other.id)  # a change of stage before this run started is not news
    run = nbtrack.start_run()
    store = current_store()
    reads: list[object] = []
    real_read = store.read
    monkeypatch.setattr(
        store, "read", lambda query, *args: reads.append(query) or real_read(query, *args)
    )

    for number in range(3):
        nbtrack.log_text("text", f"notes-{number}.txt")
    assert reads == []

    nbtrack.restore_run(other.id)  # any change of stage: the next write asks the store once
    nbtrack.log_text("text", "after.txt")
    nbtrack.log_text("text", "after-2.txt")
    assert len(reads) == 1
    assert len(list(Path(run.artifact_uri).iterdir())) == 5
    nbtrack.end_run()
