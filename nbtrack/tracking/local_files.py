"""Local files: the user's own files and folders that artifacts are copied from and to.

``log_artifact`` and ``log_artifacts`` check and walk what they are given before copying
anything; ``download_artifacts`` copies a run's folder out into a local one.
"""

from __future__ import annotations

import os
import shutil
from functools import partial
from pathlib import Path

from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.tracking.artifact_paths import visible_entries
from nbtrack.tracking.atomic_files import make_folder, write_atomically


def _local_path(value: str | os.PathLike[str], what: str) -> Path:
    try:
        path = Path(os.fspath(value))
    except TypeError:
        raise InvalidValueError(
            f"{what} must be a path (str or os.PathLike), got {type(value).__name__}"
        ) from None
    if not str(path) or "\x00" in str(path):
        raise InvalidValueError(f"{what} {str(path)!r} is not a file path")
    if not path.exists():
        raise NotFoundError(f"{what} {str(path)!r} does not exist (looked from {Path.cwd()})")
    return path


def local_file(local_path: str | os.PathLike[str]) -> Path:
    path = _local_path(local_path, "local file")
    if path.is_dir():
        raise InvalidValueError(
            f"{str(path)!r} is a folder; log a folder with log_artifacts({str(path)!r})"
        )
    if not path.is_file():
        raise InvalidValueError(f"{str(path)!r} is not a regular file (a pipe, socket or device)")
    return path


def local_folder(local_dir: str | os.PathLike[str]) -> Path:
    path = _local_path(local_dir, "local folder")
    if not path.is_dir():
        raise InvalidValueError(
            f"{str(path)!r} is a file, not a folder; log one file with log_artifact({str(path)!r})"
        )
    return path


def local_tree(source: Path, root: Path) -> list[tuple[str, Path, bool]]:
    """Every file and empty folder under ``source`` as (relative posix path, path, is_dir).

    Linked folders are followed, but never back into one of their own parents, nor into the
    run's artifact folder (logging a parent folder must not copy the run into itself).
    """
    found: list[tuple[str, Path, bool]] = []
    above: dict[str, frozenset[Path]] = {str(source): frozenset({source.resolve()})}
    for folder, dirnames, filenames in os.walk(source, followlinks=True):
        parents = above.pop(folder)
        relative = Path(folder).relative_to(source)
        kept = []
        for name in sorted(dirnames):
            real = Path(folder, name).resolve()
            if real not in parents and real != root:
                kept.append(name)
                above[os.path.join(folder, name)] = parents | {real}
        dirnames[:] = kept
        for name in sorted(filenames):
            local = Path(folder, name)
            if not local.is_file():
                raise InvalidValueError(
                    f"log_artifacts: {str(local)!r} is not a regular file (a broken link, pipe "
                    "or device); nothing was logged"
                )
            found.append(((relative / name).as_posix(), local, False))
        if not kept and not filenames and folder != str(source):
            found.append((relative.as_posix(), Path(folder), True))
    return found


def copy_tree(root: Path, folder: Path, local: Path, parents: frozenset[Path]) -> None:
    """Copy the run's ``folder`` (under ``root``) to ``local``, never back into ``parents``."""
    make_folder(local)
    for name, real in visible_entries(root, folder):
        if real.is_dir():
            if real not in parents:
                copy_tree(root, real, local / name, parents | {real})
        else:
            write_atomically(local / name, partial(shutil.copyfile, real))
