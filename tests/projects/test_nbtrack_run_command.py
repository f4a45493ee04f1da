"""`nbtrack run` as a user types it: MLflow's workflow verbatim, exit statuses, Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import nbtrack
from tests.conftest import REPO
from tests.projects.conftest import NBTRACK, Project, nbtrack_command

DEMO = REPO / "examples" / "logistic_regression"


def test_the_seed_workflow_runs_verbatim_with_nbtrack_in_place_of_mlflow(
    store_path: Path,
) -> None:
    here = store_path.parent
    shutil.copytree(DEMO, here / "logistic_regression")

    created = nbtrack_command(
        "experiments", "create", "--experiment-name", "my-first-experiment", cwd=here
    )
    ran = nbtrack_command(
        "run", "logistic_regression", "--experiment-name", "my-first-experiment", "--no-conda",
        cwd=here,
    )  # fmt: skip
    listed = nbtrack_command("runs", "list", "-n", "my-first-experiment", cwd=here)

    assert created.returncode == 0, created.stderr
    assert ran.returncode == 0, ran.stderr
    assert "accuracy:" in ran.stdout  # the script's own output, live
    assert (
        "nbtrack run: command: " in ran.stderr and "train.py --C 1.0 --max-iter 200" in ran.stderr
    )
    assert "nbtrack run: environment: local" in ran.stderr
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    for column in ("params.C", "params.max_iter", "metrics.accuracy", "metrics.log_loss"):
        assert column in header
    assert "FINISHED" in row and "200" in row


def test_the_exit_status_of_a_failing_entry_point_is_nbtracks(
    make_project: Project, store_path: Path
) -> None:
    make_project(fail__py="import sys; print('no data', file=sys.stderr); sys.exit(7)")

    done = nbtrack_command("run", "project", "-e", "fail.py", cwd=store_path.parent)

    assert done.returncode == 7
    assert "no data" in done.stderr
    assert "FAILED" in done.stderr and "exit status 7" in done.stderr
    runs = nbtrack.search_runs()
    assert runs["status"].tolist() == ["FAILED"]


def test_bad_parameters_and_options_are_one_line_and_exit_2(
    make_project: Project, store_path: Path
) -> None:
    make_project(train__py="print('ran')")
    here = store_path.parent

    repeated = nbtrack_command(
        "run", "project", "-e", "train.py", "-P", "a=1", "-P", "a=2", cwd=here
    )
    both = nbtrack_command("run", "project", "--no-conda", "--env-manager", "uv", cwd=here)
    conda = nbtrack_command("run", "project", "-e", "train.py", "--env-manager", "conda", cwd=here)

    assert repeated.returncode == 2 and "-P a is given twice ('1' and '2')" in repeated.stderr
    assert both.returncode == 2 and "--no-conda means --env-manager local" in both.stderr
    assert conda.returncode == 2 and "env manager 'conda' is not supported" in conda.stderr
    for done in (repeated, both, conda):
        assert "Traceback" not in done.stderr and "ran" not in done.stdout


def test_ctrl_c_stops_the_entry_point_and_ends_the_run_killed(
    make_project: Project, store_path: Path
) -> None:
    folder = make_project(
        slow__py="""
            import os, time
            import nbtrack
            nbtrack.log_metric("started", 1.0)
            with open("pid", "w") as f:
                f.write(str(os.getpid()))
            time.sleep(120)
        """
    )
    process = subprocess.Popen(
        [*NBTRACK, "run", "project", "-e", "slow.py"],
        cwd=store_path.parent,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid_file = folder / "pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)

    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "KILLED" in stderr
    child = int(pid_file.read_text())
    assert not Path(f"/proc/{child}").exists()  # stopped, and reaped
    run = nbtrack.get_run(nbtrack.search_runs()["run_id"][0])
    assert run.status == "KILLED"
    assert run.metrics == {"started": 1.0}
    assert run.tags["nbtrack.project.exit_status"] == "stopped"
    assert "output.log" in [f.path for f in nbtrack.list_artifacts(run.id)]


def test_runs_show_lists_the_project_tags(make_project: Project, store_path: Path) -> None:
    make_project(train__py="import nbtrack; nbtrack.log_metric('m', 1.0)")
    nbtrack_command(
        "run", "project", "-e", "train.py", "--run-name", "named", cwd=store_path.parent
    )

    shown = nbtrack_command("runs", "list", "--json", cwd=store_path.parent)

    (row,) = json.loads(shown.stdout)
    assert row["run_name"] == "named"
    assert row["tags.nbtrack.project.entry_point"] == "train.py"
