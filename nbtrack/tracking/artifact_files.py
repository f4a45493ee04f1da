"""Reading a run's artifact files wherever they are kept: a folder, or an fsspec URL (``s3://``).

``ArtifactFiles`` is one place, read as ``list`` / ``open`` / ``size`` of the parts of a path
below it; ``below(parts)`` is the same place narrowed to a prefix, so a reader handed a run's
files cannot name anything outside the run. Parts come from ``artifact_paths.relative_parts``
(no ``..``, no leading ``/``); a folder also checks that no symbolic link leads out of it.

A store's files are in its own artifact folder unless the server that serves it keeps them
elsewhere (``nbtrack server --artifacts-destination``): that server says so once with
``keep_store_files_in``, and ``run_files`` then reads every run of that store there — the web
UI's pages, MLflow's ``artifacts/list`` and the ``mlflow-artifacts`` proxy alike. A process
whose store is itself a server (``NBTRACK_URI=http://...``) reads through that server
(``server_files.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from nbtrack.errors import NotFoundError
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.store.store import Store
from nbtrack.tracking.artifact_paths import inside, visible_entries
from nbtrack.tracking.run import artifact_folder

CHUNK = 1 << 20
# The hashes a server records live beside the runs' folders, never listed among them.
HASHES = ".nbtrack-sha256"


class ArtifactFiles(Protocol):
    """Files under one prefix: listed, sized and opened by the parts of their path."""

    def listing(self, parts: tuple[str, ...]) -> list[dict[str, Any]]:
        """What is directly under ``parts``: ``{"path": name, "is_dir", "file_size"}``."""

    def size(self, parts: tuple[str, ...]) -> int | None:
        """The size of the file at ``parts``, or None when no file is there."""

    def open(self, parts: tuple[str, ...]) -> BinaryIO:
        """The file at ``parts`` to read; NotFoundError when there is none."""

    def local_path(self, parts: tuple[str, ...]) -> Path | None:
        """The file's path on this machine, or None when it is only reachable by ``open``."""

    def below(self, parts: tuple[str, ...]) -> ArtifactFiles:
        """The same files narrowed to the prefix ``parts``."""


def chunks(files: ArtifactFiles, parts: tuple[str, ...]) -> Iterator[bytes]:
    """The file's bytes a megabyte at a time: never the whole file in memory."""
    with files.open(parts) as source:
        yield from iter(lambda: source.read(CHUNK), b"")


class FolderFiles:
    """A folder on this machine (or a network folder mounted on it)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, parts: tuple[str, ...]) -> Path:
        return inside(self.root, parts, "/".join(parts), "artifact path")

    def listing(self, parts: tuple[str, ...]) -> list[dict[str, Any]]:
        folder = self._path(parts) if parts else self.root
        if not folder.is_dir():
            return []
        files = []
        for name, real in sorted(visible_entries(self.root, folder)):
            if not parts and name == HASHES:
                continue
            entry: dict[str, Any] = {"path": name, "is_dir": real.is_dir()}
            if not entry["is_dir"]:
                entry["file_size"] = real.stat().st_size
            files.append(entry)
        return files

    def size(self, parts: tuple[str, ...]) -> int | None:
        path = self._path(parts)
        return path.stat().st_size if path.is_file() else None

    def open(self, parts: tuple[str, ...]) -> BinaryIO:
        path = self._path(parts)
        if not path.is_file():
            raise NotFoundError(f"no artifact file at {'/'.join(parts)!r}")
        return path.open("rb")

    def local_path(self, parts: tuple[str, ...]) -> Path | None:
        return self._path(parts)

    def below(self, parts: tuple[str, ...]) -> FolderFiles:
        return FolderFiles(self._path(parts))


class FsspecFiles:
    """Object storage or any fsspec file system, at ``root`` within ``fs``."""

    def __init__(self, fs: Any, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")

    def _key(self, parts: tuple[str, ...]) -> str:
        return "/".join((self.root, *parts))

    def listing(self, parts: tuple[str, ...]) -> list[dict[str, Any]]:
        key = self._key(parts)
        self.fs.invalidate_cache(key)
        try:
            found = self.fs.ls(key, detail=True)
        except FileNotFoundError:
            return []
        files = []
        for info in sorted(found, key=lambda info: str(info["name"])):
            name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
            if (not parts and name == HASHES) or str(info["name"]).rstrip("/") == key:
                continue
            entry: dict[str, Any] = {"path": name, "is_dir": info.get("type") == "directory"}
            if not entry["is_dir"]:
                entry["file_size"] = int(info["size"])
            files.append(entry)
        return files

    def size(self, parts: tuple[str, ...]) -> int | None:
        self.fs.invalidate_cache(self._key(parts))
        try:
            info = self.fs.info(self._key(parts))
        except FileNotFoundError:
            return None
        return int(info["size"]) if info.get("type") == "file" else None

    def open(self, parts: tuple[str, ...]) -> BinaryIO:
        try:
            # Read ahead 4 MiB per request to the store (1 MiB requests are slow, 8 MiB
            # buffers cost memory).
            opened: BinaryIO = self.fs.open(self._key(parts), "rb", block_size=4 * CHUNK)
        except FileNotFoundError:
            raise NotFoundError(f"no artifact file at {'/'.join(parts)!r}") from None
        return opened

    def local_path(self, parts: tuple[str, ...]) -> Path | None:
        return None

    def below(self, parts: tuple[str, ...]) -> FsspecFiles:
        return FsspecFiles(self.fs, self._key(parts))


_kept_in: dict[Path, ArtifactFiles] = {}
_kept_lock = threading.Lock()


def keep_store_files_in(store: Store, files: ArtifactFiles) -> None:
    """Read the artifacts of ``store``'s runs from ``files`` (its artifact tree's root) in
    this process: what a server whose destination is not the store's folder says once."""
    with _kept_lock:
        _kept_in[store.path] = files


def run_files(store: Store, artifact_uri: str) -> ArtifactFiles:
    """The files of the run whose artifact folder the store records as ``artifact_uri``."""
    folder = artifact_folder(store, artifact_uri)
    root = (store.folder / ARTIFACTS_FOLDER).resolve()
    # Imported only here: a process reading a store file never loads the HTTP client.
    from nbtrack.store.remote.store import RemoteStore

    if isinstance(store, RemoteStore):
        # The folder is the spool's stand-in for the server's tree; the files are there.
        from nbtrack.tracking.server_files import ServerFiles

        return ServerFiles(store.connection, "").below(folder.relative_to(root).parts)
    with _kept_lock:
        elsewhere = _kept_in.get(store.path)
    if elsewhere is None:
        return FolderFiles(folder)
    return elsewhere.below(folder.relative_to(root).parts)
