"""An entry point's command as an argv list: one program and its arguments, never a shell.

MLflow pastes parameter values into a string and hands it to ``bash -c``; a value such as
``0.1; touch /tmp/x`` then runs a second command (CVE-2024-37061). Here the command template
is split into words first, as a shell would split it, and each ``{name}`` is replaced inside
its word: a value is always exactly one argument, whatever it holds. Shell syntax in a
template (pipes, ``&&``, redirections, ``$VARIABLES``) is refused, since no shell runs it.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path

from nbtrack.errors import InvalidValueError

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_OPERATOR_CHARACTERS = frozenset("();<>|&")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
PYTHON_NAMES = ("python", "python3")


def words(template: str, entry_point: str) -> list[str]:
    """The words of a command template; shell syntax, which would not run, is refused."""
    template = template.replace("\\\n", " ")
    try:
        lexer = shlex.shlex(template, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        split = shlex.split(template)
    except ValueError as exc:
        raise InvalidValueError(
            f"the command of entry point {entry_point!r} cannot be read ({exc}): {template!r}"
        ) from None
    shell = [t for t in tokens if set(t) <= _OPERATOR_CHARACTERS]
    shell += [t for t in split if "$" in t or "`" in t]
    if split and _ASSIGNMENT.match(split[0]):
        shell.append(split[0])
    if shell:
        raise InvalidValueError(
            f"the command of entry point {entry_point!r} uses shell syntax ({shell[0]!r}): "
            f"{template!r}. nbtrack runs a command as one program with its arguments, never "
            "through a shell, so that a parameter can only ever be one argument; put the steps "
            "in a script (`bash steps.sh {alpha}`) or read variables inside the program"
        )
    if not split:
        raise InvalidValueError(f"the command of entry point {entry_point!r} is empty")
    return split


def placeholders(template: str) -> set[str]:
    """The parameter names a template uses."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1) is not None}


def build(
    template: str,
    texts: Mapping[str, str],
    extras: Mapping[str, str],
    entry_point: str,
) -> list[str]:
    """The argv: each word of the template with its parameters substituted, then every extra
    parameter as ``--key value``, as MLflow passes parameters an entry point does not declare."""
    unknown = sorted(placeholders(template) - set(texts))
    if unknown:
        raise InvalidValueError(
            f"the command of entry point {entry_point!r} uses {{{unknown[0]}}}, which is not "
            f"among its parameters ({', '.join(texts) or 'none'}): {template!r}"
        )

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]  # {{ and }} are the braces themselves
        return texts[name]

    argv = [_PLACEHOLDER.sub(substitute, word) for word in words(template, entry_point)]
    for key, value in extras.items():
        argv += [f"--{key}", value]
    return argv


def resolve_program(argv: list[str], python: Path, folder: Path, path: str | None) -> list[str]:
    """``argv`` with its program found: ``python`` is the environment's interpreter, a relative
    path is in the project folder, any other name must be on ``path``."""
    program = argv[0]
    if program in PYTHON_NAMES or re.fullmatch(r"python3\.\d+", program):
        return [str(python), *argv[1:]]
    if "/" in program:
        found = (folder / program).resolve()
        if not found.is_file():
            raise InvalidValueError(f"the command runs {program!r}, and {found} does not exist")
        return [str(found), *argv[1:]]
    if shutil.which(program, path=path) is None:
        raise InvalidValueError(
            f"the command runs {program!r}, which is not a program on PATH; install it, or "
            "run a .py, .sh or .ipynb file of the project"
        )
    return argv


def shown(argv: list[str]) -> str:
    """An argv as a person (or a shell) reads it, every argument quoted where needed."""
    return shlex.join(argv)
