"""Plain data: the values ``log_dict`` writes, as JSON or YAML can hold them.

Pure, apart from importing PyYAML (an optional install) when a YAML file is named.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from nbtrack.errors import InvalidValueError
from nbtrack.tracking.validation import int_text, nested, numpy_plain, shown


def as_plain_data(value: Any, where: str, parents: frozenset[int]) -> Any:
    """``value`` as plain JSON/YAML data, or an error saying where it cannot be.

    ``where`` is the path to ``value`` (``['model']['layers'][0]``); ``parents`` the ids of
    the containers around it, so that one holding itself or nested too deep is refused.
    """
    if value is None:
        return None
    # Subclasses (numpy floats, IntEnum, ...) become their base type: YAML's safe dumper
    # knows only the exact types. str.__str__, as str() of a (str, Enum) gives "Cls.NAME".
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        if value.bit_length() > 1000:  # only a long int can have too many digits to print
            int_text(value, f"log_dict: the value at {_at(where)}")
        return int(value)
    if isinstance(value, float):
        return float(value)
    if type(value).__module__.startswith("numpy") and hasattr(value, "tolist"):
        # numpy scalars and arrays, the values a training loop most often hands over.
        plain = numpy_plain(value, f"log_dict: the value at {_at(where)}")
        return as_plain_data(plain, where, parents)
    if isinstance(value, Mapping | list | tuple):
        inner = nested(value, parents, f"log_dict: the value at {_at(where)}")
        if isinstance(value, Mapping):
            plain = {}
            for key, item in value.items():
                if key is not None and not isinstance(key, (str, bool, int, float)):
                    raise InvalidValueError(
                        f"log_dict: key {shown(key)} at {_at(where)} is a "
                        f"{type(key).__name__}; keys are str, numbers, bools or None"
                    )
                plain[as_plain_data(key, where, inner)] = as_plain_data(
                    item, f"{where}[{shown(key)}]", inner
                )
            return plain
        return [as_plain_data(item, f"{where}[{index}]", inner) for index, item in enumerate(value)]
    raise InvalidValueError(
        f"log_dict: the value at {_at(where)} is a {type(value).__name__} "
        f"({shown(value)}), which JSON and YAML cannot hold; give str, numbers, bools, None, "
        "lists or dicts"
    )


def _at(where: str) -> str:
    """The path to a value for a message; a deep one keeps its last steps."""
    if not where:
        return "the top"
    return where if len(where) <= 80 else "..." + where[-77:]


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
