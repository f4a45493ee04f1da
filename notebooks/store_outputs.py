"""Run the demo notebooks top to bottom and store their outputs, so they read on GitHub.

    python notebooks/store_outputs.py            # all of them
    python notebooks/store_outputs.py 02-compare # one (a name or a path)

Each notebook runs in a fresh kernel from this folder (it makes its own store in a temporary
folder and stops any server it starts). What is stored is what a reader without a kernel can
see: widget views are dropped from the outputs and no widget state is saved, so a widget shows
its static snapshot (a table and a PNG chart) on GitHub and in a Jupyter that has not run the
notebook yet, and a notebook stays far below a megabyte. A hash of the code is written into
the notebook's metadata: the test suite checks it, so code changed without storing the outputs
again fails there, rather than showing outputs of other code.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

FOLDER = Path(__file__).resolve().parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TIME_LIMIT_S = 60.0
CELL_TIMEOUT_S = 120


def code_hash(notebook: nbformat.NotebookNode) -> str:
    """SHA-256 over the code cells' sources, in order: what the stored outputs came from."""
    digest = hashlib.sha256()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode())
            digest.update(b"\0")
    return digest.hexdigest()


def reader_outputs(notebook: nbformat.NotebookNode) -> None:
    """Keep what reads without a kernel: no widget views, no widget state."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is not None:
                data.pop(WIDGET_VIEW, None)
                if not data:
                    continue
            kept.append(output)
        cell.outputs = kept


def store(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
    ).execute()
    seconds = time.perf_counter() - started
    reader_outputs(notebook)
    notebook.metadata["nbtrack"] = {"code_sha256": code_hash(notebook)}
    nbformat.write(notebook, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="names or paths (default: every notebook)")
    args = parser.parse_args(argv)
    paths = (
        [FOLDER / (n if n.endswith(".ipynb") else f"{n}.ipynb") for n in args.notebooks]
        if args.notebooks
        else sorted(FOLDER.glob("[0-9]*.ipynb"))
    )
    slow = []
    for path in paths:
        print(f"{path.name}: running ...", end=" ", flush=True)
        seconds = store(path)
        size = path.stat().st_size
        print(f"{seconds:.1f} s, {size / 1000:.0f} kB stored")
        if seconds > TIME_LIMIT_S:
            slow.append(path.name)
    if slow:
        print(f"over {TIME_LIMIT_S:.0f} s: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
