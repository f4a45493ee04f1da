"""Notebooks as entry points: parameters injected after the `parameters` cell, every cell run
by nbclient with a counter, the executed notebook kept, `%%track` cells as child runs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import nbtrack
from nbtrack.projects.notebooks import cell_parameters, inject
from nbtrack.projects.running import execute
from tests.projects.conftest import Project, stored_runs


def _notebook(folder: Path, *cells: str, parameters: str | None = None) -> Path:
    notebook = new_notebook()
    notebook.cells = [new_markdown_cell("# A notebook entry point")]
    if parameters is not None:
        notebook.cells.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    notebook.cells += [new_code_cell(source) for source in cells]
    path = folder / "train.ipynb"
    nbformat.write(notebook, path)
    return path


PARAMETERS = 'lr = 0.1\nepochs = 3\nname = "baseline"\ndata = None'


def test_the_notebook_computes_with_the_injected_values_and_is_kept_executed(
    make_project: Project, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _notebook(
        make_project(),
        "import nbtrack\nresult = lr * epochs\nnbtrack.log_metric('result', result)",
        "nbtrack.set_tag('name', name)\nprint(f'trained {name} at lr={lr}')",
        parameters=PARAMETERS,
    )
    sneaky = "x'); import os; os.system('touch pwned') #"

    run = nbtrack.run_project(path, parameters={"lr": "0.5", "name": sneaky})

    assert run.status == "FINISHED"
    assert run.metrics == {"result": 1.5}  # 0.5 * 3: the injected value, not the cell's 0.1
    assert run.tags["name"] == sneaky  # a value is data, never code
    assert not (path.parent / "pwned").exists()
    # The parameters cell's literals are the notebook's parameters, typed by their values.
    assert run.params == {"lr": 0.5, "epochs": 3, "name": sneaky}
    assert run.source_name == str(path)
    executed = nbformat.reads(nbtrack.load_text(run.id, "train.ipynb"), as_version=4)
    injected = executed.cells[2]
    assert injected.metadata["tags"] == ["injected-parameters"]
    assert "lr = 0.5" in injected.source
    assert "trained x'); import os" in executed.cells[4].outputs[0]["text"]
    shown = capsys.readouterr()
    assert "[cell 1/4] lr = 0.1" in shown.out
    assert "[cell 2/4] # Parameters injected by nbtrack run" in shown.out
    assert "[cell 4/4] nbtrack.set_tag('name', name)" in shown.out
    assert "trained x'); import os" in shown.out
    assert "[cell 1/4]" in nbtrack.load_text(run.id, "output.log")


def test_tracked_cells_of_the_notebook_are_child_runs_of_the_project_run(
    make_project: Project,
) -> None:
    path = _notebook(
        make_project(),
        "%load_ext nbtrack",
        "%%track --name fit --params lr --metrics score\nscore = lr * 2",
        "%%track --name evaluate --metrics accuracy\naccuracy = 0.75",
        parameters="lr = 0.1",
    )

    run = nbtrack.run_project(path, parameters={"lr": 0.25}, experiment="notebooks")

    children = nbtrack.search_runs(
        experiment="notebooks", filter=f"attributes.run_name != '{run.name}'"
    )
    assert sorted(children["run_name"]) == ["evaluate", "fit"]
    fit = nbtrack.get_run(children[children["run_name"] == "fit"]["run_id"].iloc[0])
    assert fit.parent_run_id == run.id
    assert fit.params == {"lr": 0.25} and fit.metrics == {"score": 0.5}
    assert fit.source_name == str(path)  # the notebook, not the injected copy
    assert fit.status == "FINISHED"


def test_a_failing_cell_fails_the_run_and_keeps_the_notebook_as_far_as_it_ran(
    make_project: Project,
) -> None:
    path = _notebook(
        make_project(),
        "import nbtrack\nnbtrack.log_metric('before', 1.0)",
        "raise ValueError('loss exploded')",
        "nbtrack.log_metric('after', 1.0)",
    )

    outcome = execute(path)

    assert outcome.returncode == 1
    assert outcome.run.status == "FAILED"
    assert outcome.run.error is not None and "ValueError: loss exploded" in outcome.run.error
    assert outcome.run.metrics == {"before": 1.0}
    executed = json.loads(nbtrack.load_text(outcome.run.id, "train.ipynb"))
    assert executed["cells"][2]["outputs"][0]["ename"] == "ValueError"


def test_a_parameter_the_notebook_does_not_have_or_of_the_wrong_type_is_refused(
    make_project: Project, store_path: Path
) -> None:
    path = _notebook(make_project(), "print(lr)", parameters=PARAMETERS)

    with pytest.raises(nbtrack.InvalidValueError) as raised:
        nbtrack.run_project(path, parameters={"learning_rate": "0.5", "epochs": "many"})

    message = str(raised.value)
    assert (
        "'learning_rate' is not a parameter of this notebook (its parameters: lr, epochs, "
        in message
    )
    assert "'epochs' is an int, and 'many' is not a whole number" in message
    assert stored_runs(store_path) == 0


def test_parameters_are_injected_first_without_a_parameters_cell_and_replace_old_ones() -> None:
    notebook = new_notebook()
    notebook.cells = [
        new_code_cell("x = 1", metadata={"tags": ["injected-parameters"]}),
        new_code_cell("print(x)"),
    ]

    inject(notebook, {"x": 2, "path": "/data/it's.csv", "flag": True})

    assert [c.source for c in notebook.cells] == [
        '# Parameters injected by nbtrack run\nx = 2\npath = "/data/it\'s.csv"\nflag = True',
        "print(x)",
    ]


def test_only_literal_assignments_of_the_parameters_cell_are_parameters() -> None:
    notebook = new_notebook()
    source = "%matplotlib inline\nlr: float = 1e-3\nsizes = [1, 2]\nn = -4\nlabel = 'a'\nf(x)"
    notebook.cells = [new_code_cell(source, metadata={"tags": ["parameters"]})]

    found = cell_parameters(notebook)

    assert {name: (p.type, p.default) for name, p in found.items()} == {
        "lr": ("float", 1e-3),
        "n": ("int", -4),
        "label": ("string", "a"),
    }
