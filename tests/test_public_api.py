"""The table of contents stays honest, the layers keep pointing one way, and importing is light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbtrack

PACKAGE = Path(nbtrack.__file__).parent

# Lower layers first; a module may import only from its own layer or below.
LAYERS = [
    {"_version", "errors", "config", "entities"},
    {"store", "models"},
    {"tracking"},
    {"registry", "projects", "autolog"},
    {"magic", "widgets", "serve", "cli", "demo"},
]


def _layer_of(module: str) -> int:
    top = module.split(".")[1] if module.startswith("nbtrack.") else module
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"{module} belongs to no layer of DESIGN.md")


def test_every_name_in_all_exists_and_every_public_name_is_listed() -> None:
    public = {name for name in vars(nbtrack) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(nbtrack, name)).__name__ == "module"}
    assert set(nbtrack.__all__) - {"__version__"} == public - modules
    for name in nbtrack.__all__:
        assert getattr(nbtrack, name) is not None


def test_design_names_of_the_tracking_core_are_public() -> None:
    for name in [
        "set_tracking_uri", "get_tracking_uri", "set_experiment", "create_experiment",
        "get_experiment", "list_experiments", "start_run", "end_run", "active_run", "last_run",
        "log_param", "log_params", "log_metric", "log_metrics", "set_tag", "set_tags",
        "get_run", "get_metric_history", "NbtrackError", "InvalidValueError", "NotFoundError",
    ]:  # fmt: skip
        assert name in nbtrack.__all__, name
    assert issubclass(nbtrack.InvalidValueError, ValueError)
    assert issubclass(nbtrack.NotFoundError, LookupError)


def test_no_module_imports_a_layer_above_its_own() -> None:
    offences = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts)
        if module in ("nbtrack.__init__", "nbtrack.__main__"):
            continue
        rank = _layer_of(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module == "nbtrack":
                targets = [f"nbtrack.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            for target in targets:
                if target.startswith("nbtrack.") and _layer_of(target) > rank:
                    offences.append(f"{module} imports {target}")
    assert offences == []


def test_import_nbtrack_loads_neither_duckdb_nor_pandas_nor_ipython() -> None:
    code = (
        "import sys, nbtrack; "
        "print(sorted(m for m in ('duckdb', 'pandas', 'IPython', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
