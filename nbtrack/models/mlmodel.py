"""The ``MLmodel`` file: MLflow's YAML description of a model directory.

PyYAML is imported when a model is saved or loaded, never with nbtrack itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from nbtrack.errors import InvalidValueError

MLMODEL = "MLmodel"
PYFUNC = "python_function"


def dump_yaml(content: Mapping[str, Any]) -> str:
    """YAML text the way MLflow writes it: block style, keys sorted.

    Through libyaml's emitter where PyYAML was built with it (its wheels are): the same safe
    representer, and the pure-Python emitter was a third of the CPU of saving a small model
    (~3 ms per MLmodel with a signature, measured inside autolog's worker).
    """
    yaml = _yaml()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(dict(content), Dumper=dumper, default_flow_style=False, sort_keys=True)
    return text


def parse_mlmodel(text: str, where: str) -> dict[str, Any]:
    """The parsed ``MLmodel``, checked for the one entry every loader needs.

    ``safe_load`` builds only plain values: reading an MLmodel runs no code.
    """
    yaml = _yaml()
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidValueError(f"{where}: MLmodel is not valid YAML ({exc})") from None
    if not isinstance(content, dict):
        raise InvalidValueError(f"{where}: MLmodel holds {type(content).__name__}, not a mapping")
    pyfunc = (
        content.get("flavors", {}).get(PYFUNC) if isinstance(content.get("flavors"), dict) else None
    )
    if not isinstance(pyfunc, dict) or not isinstance(pyfunc.get("loader_module"), str):
        raise InvalidValueError(
            f"{where}: MLmodel has no flavors.{PYFUNC}.loader_module, so nothing can load it; "
            "an MLflow or nbtrack model directory has one"
        )
    return content


def loader_module(mlmodel: Mapping[str, Any]) -> str:
    """The ``python_function.loader_module`` that ``parse_mlmodel`` checked is there."""
    name: str = mlmodel["flavors"][PYFUNC]["loader_module"]
    return name


def _yaml() -> Any:
    try:
        # import_module, not import: PyYAML's type stubs are an optional install.
        return importlib.import_module("yaml")
    except ImportError:
        raise InvalidValueError(
            "saving and loading models needs PyYAML to read and write MLmodel: pip install pyyaml"
        ) from None
