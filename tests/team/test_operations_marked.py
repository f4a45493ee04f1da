"""Every store operation the layers above run is one a server runs too: no call site hands
``Store.read`` (or ``write``...) a closure or an unmarked function, which would work on a store
file and fail only when the tracking URI is a server."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from nbtrack.store.remote.operations import resolve

PACKAGE = Path(__file__).resolve().parents[2] / "nbtrack"
KINDS = {"read", "write", "write_registry", "write_stages"}
# The packages whose calls run only on the server's own store file: MLflow's REST API
# (mlflow_compat) is answered by the server process itself.
SERVER_SIDE = {"store", "mlflow_compat"}
# Call sites whose operation arrives as a parameter, with the operations they are given.
FORWARDED = {("nbtrack.model_registry.versions", "delete"): "registry.delete_model_versions"}


def _call_sites() -> list[tuple[str, str, str]]:
    """(module, kind, the operation's expression) of every ``<...store...>.<kind>(op, ...)``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        if module == "nbtrack" or module.split(".")[1] in SERVER_SIDE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in KINDS
                and "store" in ast.unparse(node.func.value).lower()
                and node.args
            ):
                found.append((module, node.func.attr, ast.unparse(node.args[0])))
    return found


def test_call_sites_are_found() -> None:
    assert len(_call_sites()) > 40


@pytest.mark.parametrize(("module", "kind", "expression"), _call_sites())
def test_each_operation_a_layer_above_runs_is_marked_for_its_kind(
    module: str, kind: str, expression: str
) -> None:
    namespace = dict(vars(importlib.import_module(module)))
    # The command line imports store modules inside its functions, under their own names.
    for store_module in ("combined", "experiments"):
        namespace.setdefault(store_module, importlib.import_module(f"nbtrack.store.{store_module}"))
    expression = FORWARDED.get((module, expression), expression)
    operation = eval(expression, namespace)  # names of the module, nothing else
    name = f"{operation.__module__}:{operation.__qualname__}"
    assert resolve(name, kind) is operation
