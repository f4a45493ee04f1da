"""The demo notebooks as committed: one story, outputs stored from their current code, light.

Running them is nbval's job (``notebooks/`` is in testpaths); this checks what a reader on
GitHub gets without running anything.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))
STORY = [
    "00-tracking-api",
    "01-quickstart",
    "02-compare",
    "03-registry-and-serve",
    "04-projects",
    "05-autolog",
    "06-mlflow-client",
    "07-team",
]
MAX_BYTES = 500_000
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _load_store_outputs() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "store_outputs", REPO / "notebooks/store_outputs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_notebooks_are_the_parts_of_the_story() -> None:
    assert [path.stem for path in NOTEBOOKS] == STORY


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_come_from_the_code_as_it_is(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    store_outputs = _load_store_outputs()
    recorded = notebook.metadata.get("nbtrack", {}).get("code_sha256")
    assert recorded == store_outputs.code_hash(notebook), (  # type: ignore[attr-defined]
        f"{path.name}: its code changed since its outputs were stored; "
        f"run: python notebooks/store_outputs.py {path.stem}"
    )
    counts = [cell.execution_count for cell in notebook.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), "run top to bottom, in one go"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_notebooks_carry_no_widget_state_and_stay_light(path: Path) -> None:
    assert path.stat().st_size < MAX_BYTES
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in raw["metadata"]
    for cell in raw["cells"]:
        for output in cell.get("outputs", []):
            assert WIDGET_VIEW not in output.get("data", {})
            assert output.get("output_type") != "error", cell["source"]
    for stream in _streams(raw):
        assert "Traceback" not in stream


def _streams(raw: dict[str, object]) -> list[str]:
    texts = []
    for cell in raw["cells"]:  # type: ignore[attr-defined]
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = output.get("text", "")
                texts.append("".join(text) if isinstance(text, list) else text)
    return texts


def test_the_widgets_show_their_static_snapshot_where_no_kernel_runs() -> None:
    for name, marker in (
        ("02-compare", "nbtrack-static"),
        ("03-registry-and-serve", "nbtrack-static"),
    ):
        raw = (REPO / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8")
        assert marker in raw, name
        assert "data:image/png;base64," in raw, name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_part_links_to_the_next(path: Path) -> None:
    first = nbformat.read(path, as_version=4).cells[0].source
    # Numbered by file name: parts written side by side may land in either order.
    assert first.startswith(f"# nbtrack, part {int(path.stem[:2])}")
    following = STORY[STORY.index(path.stem) + 1 :]
    if following:
        assert re.search(rf"\]\({re.escape(following[0])}\.ipynb\)", first), first
