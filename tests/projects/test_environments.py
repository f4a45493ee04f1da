"""uv and virtualenv build an environment from python_env.yaml, once: it is cached by its
hash (in ~/.cache/nbtrack/envs, kept between test runs), and holds what the file lists and
the running nbtrack, nothing else of this interpreter."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import nbtrack
from nbtrack.errors import EnvironmentBuildError
from tests.projects.conftest import Project, stored_runs

# Something tiny from the index; the version pinned so the cached environment stays valid.
PYTHON_ENV = """
    build_dependencies:
      - pip
    dependencies:
      - six==1.17.0
"""

CHECK = """
    import sys
    import nbtrack
    import six

    try:
        import sklearn  # installed where nbtrack runs, not listed by the project
        leaked = "yes"
    except ImportError:
        leaked = "no"
    nbtrack.set_tags({"prefix": sys.prefix, "six": six.__version__, "sklearn_leaked": leaked})
"""


@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
def test_an_environment_is_built_from_python_env_yaml_then_reused(
    make_project: Project, manager: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_project(python_env__yaml=PYTHON_ENV, check__py=CHECK)

    first = nbtrack.run_project(folder, entry_point="check.py", env_manager=manager)
    capsys.readouterr()
    second = nbtrack.run_project(folder, entry_point="check.py", env_manager=manager)
    progress = capsys.readouterr().err

    for run in (first, second):
        assert run.status == "FINISHED", run.error
        assert run.tags["six"] == "1.17.0"
        assert run.tags["sklearn_leaked"] == "no"
        assert run.tags["nbtrack.project.env_manager"] == manager
    prefix = Path(first.tags["prefix"])
    assert prefix.parent.name == "envs" and prefix.name.startswith(f"{manager}-")
    assert second.tags["prefix"] == first.tags["prefix"]
    assert f"nbtrack run: environment: {manager}, cached in {prefix} from python_env.yaml" in (
        progress
    )
    assert f"command: {prefix}/bin/python check.py" in progress


def test_a_notebook_entry_point_runs_on_the_environments_python(make_project: Project) -> None:
    folder = make_project(python_env__yaml=PYTHON_ENV)
    notebook = new_notebook()
    notebook.cells = [
        new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
        new_code_cell("import sys, six, nbtrack\nnbtrack.set_tag('prefix', sys.prefix)"),
        new_code_cell("nbtrack.log_metric('n', n)"),
    ]
    nbformat.write(notebook, folder / "check.ipynb")

    run = nbtrack.run_project(folder / "check.ipynb", parameters={"n": 4}, env_manager="uv")

    assert run.status == "FINISHED", run.error
    assert Path(run.tags["prefix"]).name.startswith("uv-")
    assert run.metrics == {"n": 4.0}


def test_a_failed_build_is_one_error_with_its_output_and_is_built_again_next_time(
    make_project: Project, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_project(python_env__yaml="dependencies:\n  - 'not a requirement!'\n")
    (folder / "check.py").write_text("print('ran')\n")

    for _ in range(2):
        with pytest.raises(EnvironmentBuildError, match="building the uv environment failed"):
            nbtrack.run_project(folder, entry_point="check.py", env_manager="uv")
        assert "nbtrack run: environment: uv, building" in capsys.readouterr().err
    assert stored_runs(store_path) == 0
