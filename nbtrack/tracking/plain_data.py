"""Plain data: the values ``log_dict`` writes, as JSON or YAML can hold them.

Pure, apart from importing PyYAML (an optional install) when a YAML file is named.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from nbtrack.errors import InvalidValueError


def as_plain_data(value: Any, where: str, parents: frozenset[int]) -> Any:
    """``value`` as plain JSON/YAML data, or an error saying where it cannot be."""
    if value is None:
        return None
    # Subclasses (numpy floats, IntEnum, ...) become their base type: YAML's safe dumper
    # knows only the exact types. str.__str__, as str() of a (str, Enum) gives "Cls.NAME".
    if isinstance(value, str):
        return str.__str__(value)
    for base in (bool, int, float):
        if isinstance(value, base):
            return base(value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        # numpy scalars and arrays, the values a training loop most often hands over.
        return as_plain_data(value.tolist(), where, parents)
    if isinstance(value, Mapping | list | tuple):
        if id(value) in parents:
            raise InvalidValueError(f"log_dict: the value at {where or 'the top'} contains itself")
        inner = parents | {id(value)}
        if isinstance(value, Mapping):
            plain = {}
            for key, item in value.items():
                if key is not None and not isinstance(key, (str, bool, int, float)):
                    raise InvalidValueError(
                        f"log_dict: key {key!r} at {where or 'the top'} is a "
                        f"{type(key).__name__}; keys are str, numbers, bools or None"
                    )
                plain[as_plain_data(key, where, inner)] = as_plain_data(
                    item, f"{where}[{key!r}]", inner
                )
            return plain
        return [as_plain_data(item, f"{where}[{index}]", inner) for index, item in enumerate(value)]
    raise InvalidValueError(
        f"log_dict: the value at {where or 'the top'} is a {type(value).__name__} "
        f"({value!r:.60}), which JSON and YAML cannot hold; give str, numbers, bools, None, "
        "lists or dicts"
    )


def yaml_module(artifact_file: str) -> Any:
    """PyYAML, or an error saying that ``artifact_file`` needs it."""
    try:
        # import_module, not import: PyYAML's type stubs are an optional install.
        return importlib.import_module("yaml")
    except ImportError:
        raise InvalidValueError(
            f"{artifact_file!r} is a YAML file, which needs PyYAML: pip install pyyaml, or use "
            "a .json name"
        ) from None
