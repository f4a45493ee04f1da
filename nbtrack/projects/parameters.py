"""Parameters of an entry point: their types, and the values a run gets.

A value given with ``-P`` (or ``parameters=``) or taken from a default is checked against its
type before anything runs. Each parameter has two faces: the text that goes into the command as
one argument (a ``path`` made absolute; anything else as given), and the typed value the run
logs and a notebook receives (``0.1`` a float, ``3`` an int, ``true`` a bool). Every problem is
named in one error, so a user fixes them all at once.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nbtrack.errors import InvalidValueError
from nbtrack.tracking.validation import check_name, param_value, shown

TYPES = ("string", "float", "int", "bool", "path", "uri")
# A key becomes `--key` on a command line and a variable in a notebook: no spaces, no `=`, and
# it cannot start with `-`, which would read as another option.
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_FLOAT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INT = re.compile(r"[+-]?\d+")
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:\S*")

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Parameter:
    """A declared parameter: ``name: type`` or ``name: {type, default}`` in an MLproject, or a
    literal assigned in a notebook's ``parameters`` cell. A parameter with no default must be
    given, unless it is ``optional`` (a notebook's ``x = None``: the notebook keeps its own)."""

    name: str
    type: str = "string"
    default: Scalar | None = None
    optional: bool = False


@dataclass(frozen=True)
class Resolved:
    """What an entry point runs with."""

    # The typed value of every parameter that has one: what the run logs.
    values: dict[str, Scalar]
    # The declared parameters as the command receives them, one argument each.
    texts: dict[str, str]
    # Keys given but not declared, with their text: passed as `--key value`, logged as text.
    extras: dict[str, str]


def declared(entry_point: str, name: object, spec: object) -> Parameter:
    """A parameter as an MLproject declares it; an unknown type is refused."""
    where = f"entry point {entry_point!r}"
    key = check_key(name, f"a parameter name of {where}")
    if isinstance(spec, str):
        kind, default = spec, None
    elif isinstance(spec, Mapping):
        kind, default = spec.get("type", "string"), spec.get("default")
    else:
        raise InvalidValueError(
            f"parameter {key!r} of {where} is {shown(spec)}; declare it as `{key}: TYPE` or "
            f"`{key}: {{type: TYPE, default: VALUE}}`"
        )
    if kind not in TYPES:
        raise InvalidValueError(
            f"parameter {key!r} of {where} has the type {shown(kind)}; the types are "
            f"{', '.join(TYPES)}"
        )
    if default is not None and not isinstance(default, Scalar):
        raise InvalidValueError(
            f"parameter {key!r} of {where} has the default {shown(default)}; a default is text, "
            "a number or a boolean"
        )
    return Parameter(key, str(kind), default)


def check_key(name: object, what: str) -> str:
    key = check_name(name, what)
    if not _KEY.fullmatch(key):
        raise InvalidValueError(
            f"{what} is {key!r}; a parameter name is letters, digits, `_`, `.` and `-`, and does "
            "not start with `.` or `-`"
        )
    return key


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """``-P KEY=VALUE`` options as a dict; a malformed or repeated key is refused."""
    found: dict[str, str] = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise InvalidValueError(f"-P takes KEY=VALUE, got {item!r}")
        check_key(key, f"-P {item!r}: the key")
        if key in found:
            raise InvalidValueError(
                f"-P {key} is given twice ({found[key]!r} and {value!r}); give each parameter once"
            )
        found[key] = value
    return found


def resolve(
    parameters: Mapping[str, Parameter],
    given: Mapping[str, object],
    *,
    entry_point: str,
    cwd: Path,
    folder: Path,
    extras_allowed: bool = True,
) -> Resolved:
    """The values an entry point runs with. Given ``path`` values are relative to ``cwd`` (where
    the user is), defaults to the project ``folder`` (where their author was)."""
    problems: list[str] = []
    values: dict[str, Scalar] = {}
    texts: dict[str, str] = {}
    for name, parameter in parameters.items():
        if name in given:
            text, base = _text(name, given[name], problems), cwd
        elif parameter.default is not None:
            text, base = str(parameter.default), folder
        else:
            if not parameter.optional:
                problems.append(f"{name!r} has no default: give it with -P {name}=VALUE")
            continue
        if text is None:
            continue
        try:
            values[name], texts[name] = _typed(parameter, text, base)
        except InvalidValueError as exc:
            problems.append(str(exc))
    extras: dict[str, str] = {}
    for name, value in given.items():
        if name in parameters:
            continue
        if not extras_allowed:
            known = ", ".join(parameters) or "none"
            problems.append(
                f"{name!r} is not a parameter of this notebook (its parameters: {known})"
            )
            continue
        try:
            check_key(name, "a parameter name")
        except InvalidValueError as exc:
            problems.append(str(exc))
            continue
        text = _text(name, value, problems)
        if text is not None:
            values[name] = extras[name] = text
    for name, value in values.items():
        try:
            param_value(name, value)  # what logging will check, checked before anything runs
        except InvalidValueError as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidValueError(
            f"entry point {entry_point!r} cannot run with these parameters:\n  - "
            + "\n  - ".join(problems)
        )
    return Resolved(values, texts, extras)


def _text(name: str, value: object, problems: list[str]) -> str | None:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, numbers.Real):  # bools, ints, floats, numpy's numbers
        return str(value)
    if isinstance(value, str):
        if "\x00" in value:
            problems.append(f"{name!r}: the value contains a NUL byte")
            return None
        return value
    problems.append(f"{name!r} is {shown(value)}; a value is text, a number, a boolean or a path")
    return None


def _typed(parameter: Parameter, text: str, base: Path) -> tuple[Scalar, str]:
    name, kind = parameter.name, parameter.type
    if kind == "float":
        number = float(text) if _FLOAT.fullmatch(text) else math.nan
        if not math.isfinite(number):
            raise InvalidValueError(f"{name!r} is a float, and {text!r} is not a finite number")
        return number, text
    if kind == "int":
        if not _INT.fullmatch(text):
            raise InvalidValueError(f"{name!r} is an int, and {text!r} is not a whole number")
        return int(text), text
    if kind == "bool":
        lowered = text.lower()
        if lowered not in _TRUE + _FALSE:
            raise InvalidValueError(
                f"{name!r} is a bool, and {text!r} is none of true, false, 1, 0, yes, no"
            )
        return lowered in _TRUE, text
    if kind == "path":
        absolute = _existing_path(name, text, base)
        return absolute, absolute
    if kind == "uri" and not _URI.fullmatch(text):
        raise InvalidValueError(
            f"{name!r} is a uri, and {text!r} has no scheme (such as s3://, https:// or file:)"
        )
    return text, text


def _existing_path(name: str, text: str, base: Path) -> str:
    local = text.removeprefix("file://")
    if _URI.fullmatch(local) and "://" in local:
        raise InvalidValueError(
            f"{name!r} is a path, and {text!r} is a URI: a path parameter names a local file or "
            "folder (declare the parameter as a uri to pass a URI on)"
        )
    path = os.path.abspath(os.path.join(base, os.path.expanduser(local)))
    if not os.path.exists(path):
        raise InvalidValueError(f"{name!r} is a path, and {path} does not exist")
    return path
