"""Checks of registered model names, versions and aliases: each error names the bad value."""

from __future__ import annotations

import re

from nbtrack.errors import InvalidValueError

MAX_NAME_LENGTH = 250
RESERVED_ALIASES = frozenset({"latest"})
_ALIAS = re.compile(r"[A-Za-z0-9_-]+")


def check_model_name(name: object) -> str:
    """A registered model name: non-empty text of at most 250 characters, without NUL, ``/``
    or ``@`` (``models:/NAME/VERSION`` and ``models:/NAME@ALIAS`` must stay unambiguous)."""
    if not isinstance(name, str):
        raise InvalidValueError(
            f"a registered model name is a string, got {type(name).__name__} {name!r}"
        )
    if not name.strip():
        raise InvalidValueError(f"a registered model name cannot be empty or blank, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidValueError(
            f"registered model name {name[:40]!r}... is {len(name)} characters long; "
            f"at most {MAX_NAME_LENGTH} are accepted"
        )
    for bad, why in (("\x00", "a NUL character"), ("/", "'/'"), ("@", "'@'")):
        if bad in name:
            raise InvalidValueError(
                f"registered model name {name!r} contains {why}, which model URIs "
                "(models:/NAME/VERSION, models:/NAME@ALIAS) cannot carry; choose another name"
            )
    return name


def check_version(version: object) -> int:
    """A version number: a positive int, or its digits as a string ("3")."""
    if isinstance(version, str) and version.isascii() and version.isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidValueError(
            f"a model version is a positive whole number (1, 2, ...), got {version!r}"
        )
    return version


def check_alias(alias: object) -> str:
    """An alias: one word of letters, digits, ``_`` and ``-``; not ``latest`` (reserved for
    ``models:/NAME/latest``) and not all digits (it would read as a version)."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidValueError(
            f"alias {alias!r} is not accepted: an alias is one word of letters, digits, "
            "'_' and '-' (such as 'champion' or 'challenger')"
        )
    if len(alias) > MAX_NAME_LENGTH:
        raise InvalidValueError(
            f"alias {alias[:40]!r}... is {len(alias)} characters long; "
            f"at most {MAX_NAME_LENGTH} are accepted"
        )
    if alias.lower() in RESERVED_ALIASES:
        raise InvalidValueError(
            f"alias {alias!r} is reserved: models:/NAME/latest already means the newest "
            "version that is not archived"
        )
    if alias.isdigit():
        raise InvalidValueError(
            f"alias {alias!r} is all digits, which would read as a version number; "
            "give it a word (such as 'v2' or 'champion')"
        )
    return alias
