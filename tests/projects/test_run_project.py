"""An entry point runs as one run: what it records, how its process logs to it, how it ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nbtrack
from nbtrack.projects.running import execute
from tests.projects.conftest import Project

MLPROJECT = """
    name: demo
    entry_points:
      main:
        parameters:
          alpha: {type: float, default: 0.5}
          epochs: {type: int, default: 2}
          label: {type: string, default: base}
        command: "python train.py --alpha {alpha} --epochs {epochs} --label {label}"
      fail:
        command: "python fail.py"
"""

# Logs without start_run: NBTRACK_RUN_ID makes the project run the one log_* calls go to.
TRAIN = """
    import json, sys
    import nbtrack

    args = sys.argv[1:]
    with open("argv.json", "w") as f:
        json.dump(args, f)
    alpha, epochs = float(args[1]), int(args[3])
    nbtrack.log_param("alpha", alpha)  # the value the project logged: no conflict
    for epoch in range(epochs):
        nbtrack.log_metric("loss", alpha / (epoch + 1))
    print("trained on stdout")
    print("a warning on stderr", file=sys.stderr)
"""

FAIL = """
    import sys
    import nbtrack

    nbtrack.log_metric("reached", 1.0)
    print("boom: the data is gone", file=sys.stderr)
    sys.exit(3)
"""


@pytest.fixture
def demo(make_project: Project) -> Path:
    return make_project(MLproject=MLPROJECT, train__py=TRAIN, fail__py=FAIL)


def test_a_script_logs_to_the_project_run_which_records_params_tags_and_output(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = nbtrack.run_project(demo, parameters={"alpha": "0.25", "extra": "x y"}, run_name="r1")

    assert run.status == "FINISHED" and run.name == "r1"
    # Declared params typed, defaults filled; an undeclared one logged as text.
    assert run.params == {"alpha": 0.25, "epochs": 2, "label": "base", "extra": "x y"}
    assert run.metrics == {"loss": 0.125}
    assert nbtrack.get_metric_history(run.id, "loss")["value"].tolist() == [0.25, 0.125]
    # The undeclared parameter is passed on as --key value, one argument each.
    argv = json.loads((demo / "argv.json").read_text())
    assert argv == ["--alpha", "0.25", "--epochs", "2", "--label", "base", "--extra", "x y"]
    tags = run.tags
    assert tags["nbtrack.project.name"] == "demo"
    assert tags["nbtrack.project.entry_point"] == "main"
    assert tags["nbtrack.project.env_manager"] == "local"
    assert tags["nbtrack.project.source"] == str(demo)
    assert tags["nbtrack.project.exit_status"] == "0"
    assert tags["nbtrack.project.command"].endswith(
        "train.py --alpha 0.25 --epochs 2 --label base --extra 'x y'"
    )
    assert run.source_name == str(demo)
    # Its output: live on the terminal, kept as output.log.
    log = nbtrack.load_text(run.id, "output.log")
    assert "trained on stdout" in log and "a warning on stderr" in log
    shown = capsys.readouterr()
    assert "trained on stdout" in shown.out and "a warning on stderr" in shown.err
    assert f"nbtrack run: command: {tags['nbtrack.project.command']}" in shown.err
    assert "nbtrack run: environment: local, this Python" in shown.err


def test_a_value_with_shell_syntax_is_one_argument_and_runs_nothing(
    demo: Path, store_path: Path
) -> None:
    marker = store_path.parent / "pwned"
    for value in (f"0; touch {marker}", f"$(touch {marker})", f"`touch {marker}`"):
        run = nbtrack.run_project(demo, parameters={"label": value})
        assert run.status == "FINISHED"
        assert json.loads((demo / "argv.json").read_text())[-1] == value
        assert run.params["label"] == value  # the value itself, not a shell-quoted one
    # A float is checked before it could reach anything.
    with pytest.raises(nbtrack.InvalidValueError, match="'alpha' is a float"):
        nbtrack.run_project(demo, parameters={"alpha": f"0.1; touch {marker}"})
    assert not marker.exists()


def test_a_failing_entry_point_fails_the_run_with_its_status_and_output(demo: Path) -> None:
    outcome = execute(demo, entry_point="fail")

    assert outcome.returncode == 3
    run = outcome.run
    assert run.status == "FAILED"
    assert run.error is not None
    assert "the entry point exited with status 3" in run.error
    assert "boom: the data is gone" in run.error
    assert run.metrics == {"reached": 1.0}
    assert run.tags["nbtrack.project.exit_status"] == "3"
    assert "boom" in nbtrack.load_text(run.id, "output.log")


def test_start_run_in_the_script_is_the_project_run_and_its_exception_fails_it(
    make_project: Project,
) -> None:
    folder = make_project(
        train__py="""
            import nbtrack
            with nbtrack.start_run() as run:
                nbtrack.log_metric("before", 1.0)
                with nbtrack.start_run(name="inner") as inner:
                    nbtrack.log_metric("inside", 2.0)
                raise RuntimeError("diverged")
        """
    )

    run = nbtrack.run_project(folder, entry_point="train.py")

    assert run.status == "FAILED"
    assert run.error is not None and "RuntimeError: diverged" in run.error
    assert run.metrics == {"before": 1.0}
    children = nbtrack.search_runs(filter="attributes.run_name = 'inner'")
    assert len(children) == 1
    child = nbtrack.get_run(children["run_id"][0])
    assert child.parent_run_id == run.id and child.metrics == {"inside": 2.0}
    assert child.experiment_id == run.experiment_id
    assert "nbtrack.closed_by" not in run.tags


def test_files_named_as_entry_points_run_with_python_and_bash(make_project: Project) -> None:
    folder = make_project(
        hello__py="import nbtrack, sys; nbtrack.log_metric('args', len(sys.argv) - 1)",
        steps__sh="""
            echo "step one: $1"
            python -c "import nbtrack; nbtrack.set_tag('via', 'sh')"
        """,
    )

    by_python = nbtrack.run_project(folder, entry_point="hello.py", parameters={"n": 1})
    by_bash = nbtrack.run_project(folder / "steps.sh")

    assert by_python.metrics == {"args": 2.0}  # --n 1
    assert by_python.params == {"n": "1"}
    assert by_bash.tags["via"] == "sh"
    assert "step one" in nbtrack.load_text(by_bash.id, "output.log")


def test_path_parameters_must_exist_and_reach_the_command_as_absolute_paths(
    make_project: Project, store_path: Path
) -> None:
    folder = make_project(
        MLproject="""
            entry_points:
              main:
                parameters:
                  data: {type: path, default: data/train.csv}
                command: "python show.py {data}"
        """,
        show__py="import nbtrack, sys; nbtrack.set_tag('data', sys.argv[1])",
    )
    (folder / "data").mkdir()
    (folder / "data" / "train.csv").write_text("x\n")
    (store_path.parent / "mine.csv").write_text("x\n")

    # A default is relative to the project, a given value to where the user is.
    default = nbtrack.run_project(folder)
    given = nbtrack.run_project(folder, parameters={"data": "mine.csv"})

    assert default.tags["data"] == str(folder / "data" / "train.csv")
    assert given.tags["data"] == str(store_path.parent / "mine.csv")
    assert given.params["data"] == str(store_path.parent / "mine.csv")


def test_a_project_run_inside_a_run_is_its_child_and_goes_to_the_chosen_experiment(
    demo: Path,
) -> None:
    with nbtrack.start_run(name="sweep") as sweep:
        inner = nbtrack.run_project(demo, experiment="projects")

    assert inner.parent_run_id == sweep.id
    assert nbtrack.get_experiment("projects").id == inner.experiment_id
    assert nbtrack.active_run() is None
