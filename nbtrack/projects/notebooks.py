"""Notebooks as entry points: parameters injected after the cell tagged ``parameters``
(papermill's convention, without papermill), then every cell run by nbclient.

A notebook's parameters are the literals its ``parameters`` cell assigns (``lr = 0.1`` is a
float parameter with the default 0.1), and those an MLproject declares for it. The values are
written as a new cell tagged ``injected-parameters`` right after that cell, each one a Python
literal made by ``repr``, so a value is data and never code. The notebook then runs in a
separate process, ``python -m nbtrack.projects.notebooks``, which prints a counter per cell and
the cells' own output, and saves the executed notebook; the kernel runs on the environment's
Python, and inherits the project run from it (``NBTRACK_RUN_ID``), so ``%%track`` cells become
child runs of the project run.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.projects.parameters import Parameter, Scalar

if TYPE_CHECKING:
    from nbformat import NotebookNode

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
KERNEL_NAME = "nbtrack-project"
_TYPES = {bool: "bool", int: "int", float: "float", str: "string"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def read(path: Path) -> NotebookNode:
    import nbformat

    from nbtrack.errors import InvalidValueError

    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError) as exc:  # nbformat's read errors are ValueErrors
        raise InvalidValueError(f"{path} is not a notebook nbtrack can read: {exc}") from None


def write(notebook: NotebookNode, path: Path) -> None:
    import nbformat

    nbformat.write(notebook, path)


def cell_parameters(notebook: NotebookNode) -> dict[str, Parameter]:
    """The parameters the ``parameters`` cell assigns: numbers, text and booleans (``None``
    leaves the value to the notebook when none is given)."""
    cell = _tagged(notebook, PARAMETERS_TAG)
    if cell is None:
        return {}
    # Magics and shell lines are not Python: they are not parameters either.
    source = "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines()
    )
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found: dict[str, Parameter] = {}
    for statement in tree.body:
        target, value = _assignment(statement)
        if target is None or value is None:
            continue
        try:
            literal = ast.literal_eval(value)
        except ValueError:
            continue
        if literal is None:
            found[target] = Parameter(target, "string", None, optional=True)
        elif type(literal) in _TYPES:
            found[target] = Parameter(target, _TYPES[type(literal)], literal)
    return found


def _assignment(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
    ):
        return statement.targets[0].id, statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id, statement.value
    return None, None


def inject(notebook: NotebookNode, values: Mapping[str, Scalar]) -> None:
    """Put ``values`` in a cell after the ``parameters`` cell (first, if it has none)."""
    import nbformat

    notebook.cells = [c for c in notebook.cells if INJECTED_TAG not in _tags(c)]
    if not values:
        return
    lines = ["# Parameters injected by nbtrack run"]
    lines += [f"{name} = {value!r}" for name, value in values.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": [INJECTED_TAG]})
    tagged = _tagged(notebook, PARAMETERS_TAG)
    at = 0 if tagged is None else notebook.cells.index(tagged) + 1
    notebook.cells.insert(at, cell)


def _tagged(notebook: NotebookNode, tag: str) -> NotebookNode | None:
    return next((c for c in notebook.cells if tag in _tags(c)), None)


def _tags(cell: NotebookNode) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return tags if isinstance(tags, list) else []


def runner_argv(notebook: Path, executed: Path, kernel_python: Path) -> list[str]:
    """The command that runs ``notebook`` (parameters already injected) into ``executed``."""
    return [
        sys.executable,
        "-m",
        "nbtrack.projects.notebooks",
        "--kernel-python",
        str(kernel_python),
        str(notebook),
        str(executed),
    ]


# -- the runner process --------------------------------------------------------------------------


def execute(notebook_path: Path, executed_path: Path, kernel_python: Path, cwd: Path) -> int:
    """Run every cell, printing a counter; the executed notebook is saved even when a cell
    fails. Returns the exit status: 0, or 1 when a cell raised or the kernel died."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(notebook_path, as_version=4)
    total = sum(1 for c in notebook.cells if c.cell_type == "code" and c.source.strip())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nbtrack-kernel-") as kernels:
        spec = Path(kernels) / KERNEL_NAME
        spec.mkdir()
        (spec / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [str(kernel_python), "-m", "ipykernel_launcher", "-f",
                             "{connection_file}"],
                    "display_name": "nbtrack project",
                    "language": "python",
                }
            ),
            encoding="utf-8",
        )  # fmt: skip
        client = _client(notebook, kernels, total, cwd)
        try:
            client.execute()
        except CellExecutionError as exc:
            print(_ANSI.sub("", str(exc)), file=sys.stderr, flush=True)
            return 1
        except Exception as exc:
            # The kernel died, or was shut down under a cell by Ctrl-C (nbclient then fails
            # in its own clean-up too): one line, not nbclient's traceback.
            print(f"[notebook] stopped: {type(exc).__name__} {exc}", file=sys.stderr, flush=True)
            return 1
        finally:
            nbformat.write(notebook, executed_path)
    print(f"[notebook] {total} cells in {time.monotonic() - started:.1f} s", flush=True)
    return 0


def _client(notebook: NotebookNode, kernels: str, total: int, cwd: Path) -> Any:
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    class Client(NotebookClient):
        """nbclient, with the kernel spec of this run and each output shown as it comes."""

        def create_kernel_manager(self) -> Any:
            manager = super().create_kernel_manager()
            manager.kernel_spec_manager = KernelSpecManager(kernel_dirs=[kernels])
            # Unix sockets in a private folder: no port open to the machine (and no warning
            # about one on every run)
            manager.transport = "ipc"
            manager.ip = str(Path(kernels) / "kernel")
            return manager

        def output(self, outs: Any, msg: dict[str, Any], display_id: Any, index: int) -> Any:
            _show(msg)
            return super().output(outs, msg, display_id, index)

    done = 0

    def counter(cell: NotebookNode, cell_index: int) -> None:
        nonlocal done
        done += 1
        first = cell.source.strip().splitlines()[0]
        shown = first if len(first) <= 70 else first[:69] + "…"
        print(f"[cell {done}/{total}] {shown}", flush=True)

    return Client(
        notebook,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(cwd)}},
        on_cell_execute=counter,
    )


def _show(msg: dict[str, Any]) -> None:
    content = msg.get("content", {})
    if msg.get("msg_type") == "stream":
        stream = sys.stderr if content.get("name") == "stderr" else sys.stdout
        stream.write(content.get("text", ""))
        stream.flush()
    elif msg.get("msg_type") == "execute_result":
        text = content.get("data", {}).get("text/plain")
        if text:
            print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nbtrack.projects.notebooks")
    parser.add_argument("--kernel-python", required=True, type=Path)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("executed", type=Path)
    args = parser.parse_args(argv)
    return execute(args.notebook, args.executed, args.kernel_python, Path.cwd())


if __name__ == "__main__":
    sys.exit(main())
