"""Payload hashes: computed when a model is saved, checked before anything in it is deserialized.

Every file of the model directory is hashed, ``MLmodel`` included: it decides which loader
runs, which file gets read and which types skops may rebuild, so editing it is tampering too.
The hashes are kept by the caller (the store), never beside the files, where whoever edits a
payload could edit them too.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from nbtrack.errors import InvalidValueError

_CHUNK = 1 << 20
_REFUSE = "refusing to load"


def hash_files(folder: Path) -> dict[str, str]:
    """SHA-256 hex digest of every file under ``folder``, by relative POSIX path."""
    return {name: _sha256(folder / name) for name in _relative_files(folder)}


class ModelFiles:
    """The files of one model directory, as a flavor's loader reads them.

    With recorded hashes, ``verify`` checks the whole directory up front, and ``read_bytes``
    hashes the very bytes it returns: a file swapped between the check and the read is caught.
    Without hashes (``trusted=True``), only the path is checked.
    """

    def __init__(self, folder: Path, expected: Mapping[str, str] | None) -> None:
        self.folder = folder
        self._expected = dict(expected) if expected is not None else None

    def verify(self) -> None:
        """Raise unless the directory holds exactly the recorded files, each unchanged."""
        if self._expected is None:
            return
        present = set(_relative_files(self.folder))
        if missing := sorted(set(self._expected) - present):
            raise InvalidValueError(
                f"{_REFUSE}: files saved with the model are missing: {', '.join(missing)}"
            )
        if extra := sorted(present - set(self._expected)):
            raise InvalidValueError(
                f"{_REFUSE}: files not saved with the model are present: {', '.join(extra)}"
            )
        for name in sorted(present):
            self._check(name, _sha256(self.folder / name))

    def read_bytes(self, name: str) -> bytes:
        """The content of ``name`` (relative to the model directory), checked against its hash."""
        data = self._path(name).read_bytes()
        if self._expected is not None:
            self._check(name, hashlib.sha256(data).hexdigest())
        return data

    def _path(self, name: str) -> Path:
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise InvalidValueError(
                f"{_REFUSE}: MLmodel names the file {name!r}, which is outside the model "
                "directory; a model's files are given relative to it"
            )
        return self.folder.joinpath(*relative.parts)

    def _check(self, name: str, actual: str) -> None:
        if self._expected is None:
            return
        if self._expected.get(name) != actual:
            raise InvalidValueError(
                f"{_REFUSE}: {name} does not match the hash recorded when the model was saved"
            )


def _relative_files(folder: Path) -> list[str]:
    names: list[str] = []
    for root, dirs, files in os.walk(folder):
        for entry in (*dirs, *files):
            path = Path(root, entry)
            # A link could point anywhere, and save_model never writes one.
            if path.is_symlink():
                relative = path.relative_to(folder).as_posix()
                raise InvalidValueError(f"{_REFUSE}: {relative} is a symbolic link")
        names.extend(Path(root, name).relative_to(folder).as_posix() for name in files)
    return sorted(names)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
