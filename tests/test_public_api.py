"""The table of contents stays honest, the layers keep pointing one way, and importing is light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbtrack

PACKAGE = Path(nbtrack.__file__).parent

BASE = {"_version", "errors", "config", "entities"}
STORE_AND_MODELS = {"store", "models"}
# What each top-level module or package may import, as DESIGN.md draws the layers. `store` and
# `models` sit side by side and know nothing of each other.
MIDDLE = {"model_registry", "projects", "autologging", "mlflow_compat", "read_api"}
# What every front end that listens on a port shares (the Host/token guard, its thread); it
# knows nothing of runs or models.
HTTP = {"http"}
FRONT_ENDS = {"magic", "widgets", "serving", "web", "jupyter", "demo"}
ALLOWED: dict[str, set[str]] = {
    **{name: BASE for name in BASE},
    "store": BASE,
    "models": BASE,
    "tracking": BASE | STORE_AND_MODELS,
    **{name: BASE | STORE_AND_MODELS | {"tracking"} | MIDDLE for name in MIDDLE},
    # front ends reach each other only through a package's own names (checked below)
    "http": BASE,
    **{
        name: BASE | STORE_AND_MODELS | {"tracking"} | MIDDLE | HTTP | FRONT_ENDS
        for name in FRONT_ENDS
    },
    # the command runs every front end
    "cli": BASE | STORE_AND_MODELS | {"tracking"} | MIDDLE | HTTP | FRONT_ENDS,
}


def _top(module: str) -> str:
    top = module.split(".")[1] if module.startswith("nbtrack.") else module
    if top not in ALLOWED:
        raise AssertionError(f"{module} belongs to no layer of DESIGN.md")
    return top


def _imports(path: Path) -> list[str]:
    """Every nbtrack module ``path`` imports at run time, at the top or inside a function
    (imports for type checkers only are left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            node.body = []
    targets: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "nbtrack" and node.level == 0:
            targets += [f"nbtrack.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return [target for target in targets if target.startswith("nbtrack.")]


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        found[".".join(relative.parts).removesuffix(".__init__")] = path
    return found


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
    modules = _modules()
    for module, path in modules.items():
        if module in ("nbtrack", "nbtrack.__main__"):
            continue
        top = _top(module)
        for target in _imports(path):
            if target not in modules:
                continue  # a name imported from a module, checked as that module
            if _top(target) != top and _top(target) not in ALLOWED[top]:
                offences.append(f"{module} imports {target}")
    assert offences == []


def test_front_ends_meet_only_through_package_names_and_private_modules_stay_private() -> None:
    offences = []
    modules = _modules()
    for module, path in modules.items():
        if module in ("nbtrack", "nbtrack.__main__"):
            continue
        top = _top(module)
        for target in _imports(path):
            if target not in modules or _top(target) == top:
                continue
            private = (
                any(part.startswith("_") for part in target.split(".")[1:])
                and target != "nbtrack._version"
            )
            internal = _top(target) in FRONT_ENDS and top != "cli" and target.count(".") > 1
            if private or internal:
                offences.append(f"{module} imports {target}")
    assert offences == []


def test_modules_import_each_other_without_cycles() -> None:
    modules = _modules()
    graph = {
        module: {target for target in _imports(path) if target in modules and target != module}
        for module, path in modules.items()
    }
    # A package imports its submodules by being imported; only cycles between modules count.
    cycles = []
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if target.startswith(module + ".") or module.startswith(target + "."):
                continue
            if state.get(target) == 1:
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state and module != "nbtrack":
            visit(module, [module])
    assert cycles == []


def test_import_nbtrack_loads_neither_duckdb_nor_pandas_nor_ipython_nor_sklearn() -> None:
    code = (
        "import sys, nbtrack; "
        "print(sorted(m for m in ('duckdb', 'pandas', 'IPython', 'numpy', 'sklearn', 'mlflow') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_autolog_turned_off_never_imports_the_framework() -> None:
    code = (
        "import sys, nbtrack; nbtrack.autolog(disable=True); "
        "print([m for m in ('sklearn', 'numpy', 'nbtrack.autologging.sklearn') "
        "if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_import_nbtrack_loads_no_mlflow_and_only_the_plugin_modules_import_it() -> None:
    code = "import sys, nbtrack; print('mlflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    importing = sorted(
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*.py")
        if _imports_mlflow(path)
    )
    assert importing == [
        # reading an MLflow store other than mlruns, and writing into one: when called
        "nbtrack/mlflow_compat/client_source.py",
        "nbtrack/mlflow_compat/exporting.py",
        "nbtrack/mlflow_compat/plugin.py",
        "nbtrack/mlflow_compat/registry_plugin.py",
        # the plugin's Run entities, built for it
        "nbtrack/mlflow_compat/run_entities.py",
        # the artifact repository MLflow loads for nbtrack+http(s):// artifact URIs
        "nbtrack/mlflow_compat/spooled_artifacts.py",
    ]


def _imports_mlflow(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(
            alias.name.split(".")[0] == "mlflow" for alias in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlflow":
            return True
    return False
