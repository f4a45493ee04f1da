"""Real notebooks with %%track cells, executed by nbclient in a real kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import nbtrack

pytestmark = pytest.mark.slow


def _notebook(*sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return notebook


def _execute(notebook: nbformat.NotebookNode, folder: Path) -> NotebookClient:
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return client


SWEEP = [
    "%load_ext nbtrack",
    "%%track --experiment sweep --metrics score\nlr = 0.1\nscore = 1 - lr",
    "%%track --metrics score\nlr = 0.2\nscore = 1 - lr",
    "%%track --run last\nnbtrack_check = 1\nimport nbtrack\nnbtrack.log_metric('extra', 3)",
]


def test_a_whole_notebook_run_twice_gives_two_runs_per_tracked_cell_and_none_running(
    store_path: Path,
) -> None:
    for _ in range(2):
        _execute(_notebook(*SWEEP), store_path.parent)
    runs = nbtrack.search_runs(experiment="sweep", order_by="start_time")
    assert len(runs) == 4
    assert set(runs["status"]) == {"FINISHED"}
    assert sorted(runs["params.lr"]) == [0.1, 0.1, 0.2, 0.2]
    assert sorted(runs["metrics.score"]) == pytest.approx([0.8, 0.8, 0.9, 0.9])
    # `--run last` added its metric to the second cell's run, in both executions
    assert list(runs["metrics.extra"].dropna()) == [3.0, 3.0]
    run = nbtrack.get_run(runs["run_id"].iloc[0])
    assert run.source is not None and run.source.startswith("%%track --experiment sweep")
    assert run.tags["nbtrack.kernel_id"]
    assert "nbtrack.cell_id" not in run.tags  # nbclient sends none; JupyterLab does


def test_a_failing_tracked_cell_stops_the_notebook_with_the_usual_traceback(
    store_path: Path,
) -> None:
    notebook = _notebook(
        "%load_ext nbtrack",
        "%%track --name broken\nx = 1\n1 / 0",
        "after = 'this cell must not run'",
    )
    with pytest.raises(CellExecutionError) as raised:
        _execute(notebook, store_path.parent)
    assert "ZeroDivisionError" in str(raised.value)
    (error,) = [out for out in notebook.cells[1].outputs if out["output_type"] == "error"]
    assert error["ename"] == "ZeroDivisionError"
    assert not any("nbtrack" in line for line in error["traceback"])
    assert notebook.cells[2].outputs == []
    run = nbtrack.search_runs(filter="run_name = 'broken'")
    assert list(run["status"]) == ["FAILED"]


def test_a_bad_track_line_stops_the_notebook_with_one_usage_error(store_path: Path) -> None:
    notebook = _notebook("%load_ext nbtrack", "%%track --bogus\nx = 1")
    with pytest.raises(CellExecutionError):
        _execute(notebook, store_path.parent)
    # ipykernel shows a UsageError as one line on stderr, without a traceback
    (shown,) = notebook.cells[1].outputs
    assert shown["name"] == "stderr"
    assert shown["text"].startswith("UsageError: %%track: unknown option '--bogus'")
    assert shown["text"].count("\n") == 1
    assert len(nbtrack.search_runs()) == 0


def test_a_run_left_open_when_the_kernel_shuts_down_ends_finished_and_says_why(
    store_path: Path,
) -> None:
    notebook = _notebook("import nbtrack\nrun = nbtrack.start_run(name='left-open')")
    _execute(notebook, store_path.parent)  # nbclient shuts the kernel down at the end
    run = nbtrack.search_runs(filter="run_name = 'left-open'")
    assert list(run["status"]) == ["FINISHED"]
    assert "exited" in run["tags.nbtrack.closed_by"].iloc[0]


def test_nested_tracked_cells_other_cell_magics_and_sys_exit_in_a_real_kernel(
    store_path: Path,
) -> None:
    notebook = _notebook(
        "%load_ext nbtrack",
        "%%track --experiment kernel --name outer --metrics acc\n"
        "get_ipython().run_cell('%%track --name inner --metrics loss\\nloss = 0.5')\n"
        "acc = 0.9",
        "%%track --name timed\n%%time\nlr = 0.1",
        "%%track --name captured --metrics score\n%%capture shown\nprint('hidden')\nscore = 1.0",
        # The kernel reports sys.exit() as an error (Run All stops), tracked or not.
        "%%track --name exited\nimport sys\nsys.exit()",
    )
    with pytest.raises(CellExecutionError, match="SystemExit"):
        _execute(notebook, store_path.parent)
    shown = ["".join(out.get("text", "")) for c in notebook.cells for out in c.outputs]
    assert not any("Error in callback" in text for text in shown)
    assert "Wall time" in "".join(out.get("text", "") for out in notebook.cells[2].outputs)
    runs = nbtrack.search_runs(experiment="kernel").set_index("run_name")
    assert set(runs["status"]) == {"FINISHED"}
    assert set(runs.index) == {"outer", "inner", "timed", "captured", "exited"}
    inner = nbtrack.get_run(runs.loc["inner", "run_id"])
    assert inner.parent_run_id == runs.loc["outer", "run_id"]
    assert runs.loc["outer", "metrics.acc"] == 0.9
    assert runs.loc["inner", "metrics.loss"] == 0.5
    assert runs.loc["timed", "params.lr"] == 0.1
    assert runs.loc["captured", "metrics.score"] == 1.0


def test_the_summary_output_names_its_run_for_the_lab_extensions_cell_badge(
    store_path: Path,
) -> None:
    notebook = _notebook(
        "%load_ext nbtrack",
        "%%track --name good\nx = 1",
        "%%track --name broken\n1 / 0",
    )
    with pytest.raises(CellExecutionError):
        _execute(notebook, store_path.parent)
    for cell, name, status in [(1, "good", "FINISHED"), (2, "broken", "FAILED")]:
        (about,) = [
            out["metadata"]["nbtrack"]
            for out in notebook.cells[cell].outputs
            if "nbtrack" in out.get("metadata", {})
        ]
        run = nbtrack.get_run(about["run_id"])
        assert (about["name"], about["status"]) == (name, status) == (run.name, run.status)
