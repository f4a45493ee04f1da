"""Every mistake in a project or its parameters is one clear error before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbtrack
from nbtrack.projects.parameters import parse_assignments
from tests.projects.conftest import Project, stored_runs

# The entry point leaves a file behind if it ever runs.
TOUCH = "from pathlib import Path; Path('ran').touch()\n"

MLPROJECT = """
    name: checks
    entry_points:
      main:
        parameters:
          alpha: {type: float, default: 0.5}
          epochs: {type: int, default: 3}
          verbose: {type: bool, default: false}
          data: {type: path, default: data.csv}
          source: {type: uri, default: "s3://bucket/data.csv"}
          label: string
        command: "python train.py {alpha} {epochs} {verbose} {data} {source} {label}"
"""

BAD_PARAMETERS = {
    "missing-without-default": ({}, ["'label' has no default: give it with -P label=VALUE"]),
    "float-that-is-text": (
        {"label": "x", "alpha": "abc"},
        ["'alpha' is a float, and 'abc' is not a finite number"],
    ),
    "float-that-is-not-finite": (
        {"label": "x", "alpha": "1e999"},
        ["'alpha' is a float, and '1e999' is not a finite number"],
    ),
    "int-with-a-fraction": (
        {"label": "x", "epochs": "1.5"},
        ["'epochs' is an int, and '1.5' is not a whole number"],
    ),
    "bool-that-is-neither": (
        {"label": "x", "verbose": "maybe"},
        ["'verbose' is a bool, and 'maybe' is none of true, false"],
    ),
    "path-that-does-not-exist": ({"label": "x", "data": "nowhere.csv"}, ["does not exist"]),
    "uri-without-scheme": (
        {"label": "x", "source": "bucket/data.csv"},
        ["'source' is a uri, and 'bucket/data.csv' has no scheme"],
    ),
    "every-problem-at-once": (
        {"alpha": "abc", "epochs": "x"},
        ["'alpha' is a float", "'epochs' is an int", "'label' has no default"],
    ),
    "extra-key-that-reads-as-an-option": ({"label": "x", "-rf": "1"}, ["a parameter name"]),
    "value-with-a-nul-byte": ({"label": "a\x00b"}, ["NUL"]),
}


@pytest.mark.parametrize(("given", "expected"), BAD_PARAMETERS.values(), ids=BAD_PARAMETERS.keys())
def test_a_bad_parameter_is_refused_naming_it_before_anything_runs(
    make_project: Project, store_path: Path, given: dict[str, str], expected: list[str]
) -> None:
    folder = make_project(MLproject=MLPROJECT, train__py=TOUCH, data__csv="x\n1\n")

    with pytest.raises(nbtrack.InvalidValueError) as raised:
        nbtrack.run_project(folder, parameters=given)

    message = str(raised.value)
    assert message.startswith("entry point 'main' cannot run with these parameters")
    for part in expected:
        assert part in message
    assert not (folder / "ran").exists()
    assert stored_runs(store_path) == 0


def _project_with(mlproject: str) -> dict[str, str]:
    return {"MLproject": mlproject, "train__py": TOUCH}


BAD_PROJECTS = {
    "unknown-type": (
        "entry_points:\n  main:\n    parameters: {n: integer}\n    command: python train.py",
        "parameter 'n' of entry point 'main' has the type 'integer'; the types are string, "
        "float, int, bool, path, uri",
    ),
    "two-environments": (
        "python_env: p.yaml\nconda_env: c.yaml\nentry_points: {}",
        "declares python_env and conda_env; a project has one environment",
    ),
    "placeholder-not-declared": (
        "entry_points:\n  main:\n    command: python train.py {alpha}",
        "uses {alpha}, which is not among its parameters",
    ),
    "shell-syntax-in-the-command": (
        "entry_points:\n  main:\n    command: python train.py && rm -rf data",
        "uses shell syntax ('&&')",
    ),
    "variable-in-the-command": (
        "entry_points:\n  main:\n    command: python train.py $HOME",
        "uses shell syntax ('$HOME')",
    ),
    "no-such-entry-point": (
        "entry_points:\n  train:\n    command: python train.py",
        "no entry point 'main' (the MLproject file declares: train)",
    ),
    "entry-point-without-command": ("entry_points:\n  main: {}", "must have a command"),
    "not-yaml": ("entry_points: [unclosed", "is not valid YAML"),
    "program-not-on-path": (
        "entry_points:\n  main:\n    command: no-such-program-here train.py",
        "runs 'no-such-program-here', which is not a program on PATH",
    ),
}


@pytest.mark.parametrize(("mlproject", "expected"), BAD_PROJECTS.values(), ids=BAD_PROJECTS.keys())
def test_a_bad_mlproject_is_refused_naming_the_problem_before_anything_runs(
    make_project: Project, store_path: Path, mlproject: str, expected: str
) -> None:
    folder = make_project(**_project_with(mlproject))

    with pytest.raises(nbtrack.InvalidValueError) as raised:
        nbtrack.run_project(folder)

    assert expected in str(raised.value)
    assert not (folder / "ran").exists()
    assert stored_runs(store_path) == 0


BAD_CALLS = {
    "env-manager-conda": ({"env_manager": "conda"}, "env manager 'conda' is not supported"),
    "env-manager-docker": ({"env_manager": "docker"}, "env manager 'docker' is not supported"),
    "env-manager-unknown": ({"env_manager": "pipx"}, "is none of local, uv, virtualenv"),
    "entry-point-outside-the-project": (
        {"entry_point": "../elsewhere.py"},
        "is outside the project folder",
    ),
    "entry-point-file-missing": ({"entry_point": "other.py"}, "there is no file"),
}


@pytest.mark.parametrize(("call", "expected"), BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_an_unsupported_env_manager_or_entry_point_is_refused_before_anything_runs(
    make_project: Project, store_path: Path, call: dict[str, str], expected: str
) -> None:
    folder = make_project(**_project_with("entry_points:\n  main:\n    command: python train.py"))
    (folder.parent / "elsewhere.py").write_text(TOUCH, encoding="utf-8")

    with pytest.raises(nbtrack.InvalidValueError) as raised:
        nbtrack.run_project(folder, **call)  # type: ignore[arg-type]

    assert expected in str(raised.value)
    assert not (folder / "ran").exists() and not (folder.parent / "ran").exists()
    assert stored_runs(store_path) == 0


def test_a_conda_or_docker_project_runs_only_locally(
    make_project: Project, store_path: Path
) -> None:
    conda = make_project(
        "conda_project",
        MLproject="conda_env: conda.yaml\nentry_points: {}",
        conda__yaml="name: x",
        train__py=TOUCH,
    )
    docker = make_project(
        "docker_project", MLproject="docker_env: {image: python:3.11}", train__py=TOUCH
    )

    for folder, what in ((conda, "a conda environment"), (docker, "a Docker image")):
        with pytest.raises(nbtrack.InvalidValueError, match=f"runs in {what}.*--env-manager local"):
            nbtrack.run_project(folder, entry_point="train.py", env_manager="uv")
    assert stored_runs(store_path) == 0


def test_a_python_env_for_another_python_is_refused_for_uv_and_virtualenv(
    make_project: Project, store_path: Path
) -> None:
    folder = make_project(python_env__yaml='python: "3.8"\ndependencies: [six]', train__py=TOUCH)

    for manager in ("uv", "virtualenv"):
        with pytest.raises(nbtrack.InvalidValueError, match=r"asks for Python 3\.8.*--env-manager"):
            nbtrack.run_project(folder, entry_point="train.py", env_manager=manager)
    assert stored_runs(store_path) == 0


def test_a_repeated_or_malformed_p_option_is_refused() -> None:
    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(nbtrack.InvalidValueError, match=r"-P a is given twice \('1' and '2'\)"):
        parse_assignments(["a=1", "a=2"])
    with pytest.raises(nbtrack.InvalidValueError, match="-P takes KEY=VALUE, got 'alpha'"):
        parse_assignments(["alpha"])
    with pytest.raises(nbtrack.InvalidValueError, match="-P takes KEY=VALUE"):
        parse_assignments(["=1"])


def test_a_project_folder_that_does_not_exist_or_a_uri_is_refused(store_path: Path) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match="no project folder or file 'nowhere'"):
        nbtrack.run_project("nowhere")
    with pytest.raises(nbtrack.InvalidValueError, match="clone it first"):
        nbtrack.run_project("https://github.com/mlflow/mlflow-example")
    assert stored_runs(store_path) == 0
