"""Artifact paths: a user's path to a run's file, checked so that it never leaves the folder.

Every path a user gives is checked twice: as text (relative, ``/``-separated, no ``..``, no
backslash, no percent-encoded traversal, no NUL, names and depth the file system can hold)
and, once resolved, against the run's resolved folder, so a symbolic link cannot lead a read
or a write outside it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.tracking.atomic_files import PARTIAL_SUFFIX, TEMPORARY_NAME_BYTES
from nbtrack.tracking.validation import shown

# What Linux and macOS file systems hold: a name of 255 bytes (NAME_MAX), a path of 4095
# (PATH_MAX less its NUL). Fixed rather than asked of the file system, so a path accepted
# by one store is accepted by every other.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4095
# Deeper than any real layout; Path.mkdir(parents=True) recurses once per missing level.
MAX_PATH_LEVELS = 100

ACCEPTED = (
    "a relative path with '/' between its parts, such as 'plots/loss.png' "
    "(no leading '/', no '..' parts, no backslashes, no percent-encoded dots or slashes, "
    f"no NUL bytes; each name at most {MAX_NAME_BYTES} bytes, at most {MAX_PATH_LEVELS} "
    "levels)"
)
_DRIVE = re.compile(r"^[A-Za-z]:")
_LISTED_IN_ERRORS = 20


def relative_parts(value: object, what: str) -> tuple[str, ...]:
    """The parts of a user's artifact path, refused unless it is plainly relative."""
    if not isinstance(value, str):
        raise InvalidValueError(
            f"{what} must be a str, got {type(value).__name__}: {_shown_path(value)}; "
            f"give {ACCEPTED}"
        )
    problem = _problem(value)
    if problem is None:
        decoded = _percent_decoded(value)
        if decoded != value and _problem(decoded) is not None:
            problem = f"it decodes to {_shown_path(decoded)}"
    parts = tuple(part for part in value.split("/") if part not in ("", "."))
    if problem is None and not parts:
        problem = "it names no file or folder"
    if problem is not None:
        raise InvalidValueError(
            f"{what} {_shown_path(value)} is not accepted: {problem}; give {ACCEPTED}"
        )
    problem = _size_problem(parts)
    if problem is not None:
        raise InvalidValueError(f"{what} {_shown_path(value)} is too long: {problem}")
    return parts


def _shown_path(value: object) -> str:
    # Cut in messages only when it is longer than almost any real path.
    return shown(value, 120)


def _size_problem(parts: tuple[str, ...]) -> str | None:
    if len(parts) > MAX_PATH_LEVELS:
        return f"it is {len(parts)} levels deep, and a path has at most {MAX_PATH_LEVELS} levels"
    for part in parts:
        size = len(part.encode())
        if size > MAX_NAME_BYTES:
            return (
                f"its name {shown(part)} is {size} bytes of UTF-8, and a file or folder name "
                f"holds at most {MAX_NAME_BYTES} bytes"
            )
    return None


def _problem(value: str) -> str | None:
    if not value:
        return "it is empty"
    if "\x00" in value:
        return "it contains a NUL byte"
    if "\\" in value:
        return "it contains a backslash"
    if value.startswith("/") or _DRIVE.match(value):
        return "it is absolute"
    if ".." in value.split("/"):
        return "it has a '..' part"
    try:
        value.encode()
    except UnicodeEncodeError:
        return "it is not valid unicode"
    return None


def _percent_decoded(value: str) -> str:
    # Decoded until stable, so "%252e%252e" cannot smuggle ".." past a single decoding.
    for _ in range(5):
        decoded = unquote(value) if "%" in value else value
        if decoded == value:
            break
        value = decoded
    return value


def file_parts(artifact_file: str) -> tuple[str, ...]:
    """The parts of ``artifact_file``, which must name a file: no trailing ``/``."""
    parts = relative_parts(artifact_file, "artifact_file")
    if artifact_file.endswith("/"):
        raise InvalidValueError(
            f"artifact_file {_shown_path(artifact_file)} ends in '/'; name a file, such as "
            "'data.json' inside it"
        )
    return parts


def inside(root: Path, parts: tuple[str, ...], value: str, what: str) -> Path:
    """``root/parts`` resolved, refused if a symbolic link leads it out of ``root`` or if the
    file system could not hold its full path (nor that of the temporary file written first)."""
    joined = root.joinpath(*parts)
    name = len(os.fsencode(joined.name))
    size = len(os.fsencode(joined)) - name + max(name, TEMPORARY_NAME_BYTES)
    if size > MAX_PATH_BYTES:
        raise InvalidValueError(
            f"{what} {_shown_path(value)} is too long: in the run's artifact folder its full "
            f"path takes {size} bytes, and a path holds at most {MAX_PATH_BYTES} bytes"
        )
    target = _resolved(joined)
    if target is None:
        raise InvalidValueError(
            f"{what} {_shown_path(value)} is not accepted: it goes round a loop of symbolic links"
        )
    if not target.is_relative_to(root):
        raise InvalidValueError(
            f"{what} {_shown_path(value)} is not accepted: a symbolic link leads it outside "
            f"the run's artifact folder (to {target}); give a path that stays inside {root}"
        )
    return target


def _resolved(path: Path) -> Path | None:
    """``path`` with every link followed, or None for a loop of links."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a loop, 3.13 OSError
        return None


def existing(
    root: Path, parts: tuple[str, ...], value: str, run_id: str, what: str = "path"
) -> Path:
    """``inside(root, parts)`` if something is there, else an error listing what is."""
    target = inside(root, parts, value, what)
    if target.exists():
        return target
    level: tuple[str, ...] = ()
    for part in parts[:-1]:
        candidate = _resolved(root.joinpath(*level, part))
        if candidate is None or not (candidate.is_dir() and candidate.is_relative_to(root)):
            break
        level += (part,)
    folder = root.joinpath(*level).resolve()
    names = [
        name + ("/" if real.is_dir() else "")
        for name, real in (visible_entries(root, folder) if folder.is_dir() else [])
    ]
    where = f"in {_shown_path('/'.join(level))}" if level else "at the top level"
    if not names:
        found = "nothing is there" if level else "the run has no artifacts"
    else:
        listed = sorted(names)[:_LISTED_IN_ERRORS]
        more = f" (and {len(names) - len(listed)} more)" if len(names) > len(listed) else ""
        found = "there is: " + ", ".join(listed) + more
    raise NotFoundError(f"run {run_id} has no artifact {_shown_path(value)}; {where} {found}")


def visible_entries(root: Path, folder: Path) -> list[tuple[str, Path]]:
    """Names in ``folder`` with their resolved paths, leaving out half-written files and links
    that lead outside ``root`` (what they point at is not the run's to show)."""
    entries = []
    with os.scandir(folder) as scan:
        for entry in scan:
            if entry.name.startswith(".") and entry.name.endswith(PARTIAL_SUFFIX):
                continue
            real = _resolved(Path(entry.path))
            if real is not None and real.is_relative_to(root) and real.exists():
                entries.append((entry.name, real))
    return entries
