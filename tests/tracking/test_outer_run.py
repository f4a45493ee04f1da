"""A process started with NBTRACK_RUN_ID logs to that run without opening one, and leaves its
ending to the process that owns it (`nbtrack run`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import nbtrack
from nbtrack.tracking.lifecycle import open_run


def _child(code: str, env: dict[str, str], run_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**env, "NBTRACK_RUN_ID": run_id},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_log_calls_without_a_run_go_to_the_outer_run(
    store_path: Path, child_env: dict[str, str]
) -> None:
    outer = open_run(name="project", experiment="projects")
    outer.log_param("alpha", 0.5)

    done = _child(
        """
        import nbtrack
        nbtrack.log_param("alpha", 0.5)  # as logged by the owner: no conflict
        nbtrack.log_params({"layers": 3})
        nbtrack.log_metric("loss", 0.25)
        nbtrack.set_tag("stage", "train")
        assert nbtrack.active_run() is None
        """,
        child_env,
        outer.id,
    )
    assert done.returncode == 0, done.stderr

    run = nbtrack.get_run(outer.id)
    assert run.status == "RUNNING"  # the child ended nothing
    assert run.params == {"alpha": 0.5, "layers": 3}
    assert run.metrics == {"loss": 0.25}
    assert run.tags["stage"] == "train"
    assert "nbtrack.closed_by" not in run.tags
    outer.end()
    assert nbtrack.get_run(outer.id).status == "FINISHED"


def test_start_run_returns_the_outer_run_and_runs_opened_inside_it_are_its_children(
    store_path: Path, child_env: dict[str, str]
) -> None:
    outer = open_run(name="project", experiment="projects")

    done = _child(
        f"""
        import nbtrack
        from nbtrack.tracking.lifecycle import open_run
        with nbtrack.start_run(tags={{"resumed": "yes"}}) as run:
            assert run.id == {outer.id!r}
            nbtrack.log_metric("outer_metric", 1.0)
            with nbtrack.start_run(name="inner") as inner:
                nbtrack.log_metric("inner_metric", 2.0)
        nbtrack.log_metric("after_the_block", 3.0)
        with nbtrack.start_run(name="nested", nested=True):
            pass
        cell = open_run(cell=True, name="tracked-cell")  # what %%track opens
        cell.end()
        raise SystemExit(4)
        """,
        child_env,
        outer.id,
    )
    assert done.returncode == 4, done.stderr

    run = nbtrack.get_run(outer.id)
    assert run.status == "RUNNING"  # its `with` block and its exit are not the owner's
    assert run.metrics == {"outer_metric": 1.0, "after_the_block": 3.0}
    assert run.tags["resumed"] == "yes"
    children = nbtrack.search_runs(experiment="projects", filter="attributes.run_name != 'project'")
    assert sorted(children["run_name"]) == ["inner", "nested", "tracked-cell"]
    for run_id in children["run_id"]:
        child = nbtrack.get_run(run_id)
        assert child.parent_run_id == outer.id
        assert child.status == "FINISHED"
    assert nbtrack.get_run(children["run_id"][0]).experiment_id == run.experiment_id
    outer.end()


def test_an_unknown_or_ended_run_id_is_refused_saying_what_sets_it(
    store_path: Path, child_env: dict[str, str]
) -> None:
    with nbtrack.start_run() as ended:
        pass
    code = """
        import nbtrack
        try:
            nbtrack.log_metric("m", 1.0)
        except nbtrack.NbtrackError as exc:
            print(type(exc).__name__, exc)
        """

    unknown = _child(code, child_env, "0" * 32)
    finished = _child(code, child_env, ended.id)

    assert unknown.stdout.startswith("NotFoundError NBTRACK_RUN_ID names run '000")
    assert "`nbtrack run` sets it" in unknown.stdout
    assert finished.stdout.startswith("InvalidValueError NBTRACK_RUN_ID names run")
    assert "which is FINISHED, not RUNNING" in finished.stdout
