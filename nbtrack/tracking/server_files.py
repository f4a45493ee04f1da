"""A run's artifact files as an ``nbtrack server`` holds them, for a reader whose own store is
that server (``NBTRACK_URI=http://...``): ``nbtrack ui``'s pages, the lab extension's.

It is ``artifact_files.ArtifactFiles`` over the server's ``mlflow-artifacts`` proxy: a listing
is one request, a file is downloaded into a temporary file a megabyte at a time and kept only
if its sha256 is the one the server recorded (never the whole file in memory, nothing
unchecked handed on), then read from there. The reader's prefix is the run's folder in the
server's tree and parts come from ``artifact_paths`` (no ``..``), so nothing outside the run
can be named; the server checks the same again.

Nothing spooled by this process is sent first: a page asks what the server holds, and must
not wait for an upload.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from nbtrack.errors import ServerError
from nbtrack.store.remote.artifacts import download_file, list_files
from nbtrack.store.remote.connection import ServerConnection


class ServerFiles:
    """The files under ``root`` (``<experiment>/<run>/artifacts/...``) of a server's tree."""

    def __init__(self, connection: ServerConnection, root: str) -> None:
        self.connection = connection
        self.root = root.strip("/")

    def _path(self, parts: tuple[str, ...]) -> str:
        return "/".join((self.root, *parts))

    def listing(self, parts: tuple[str, ...]) -> list[dict[str, Any]]:
        files = []
        for entry in list_files(self.connection, self._path(parts)):
            name = str(entry.get("path", ""))
            if name in ("", ".", "..") or "/" in name:
                raise ServerError(
                    f"the server {self.connection.url} listed {name!r} under "
                    f"{self._path(parts)!r}: not a file name"
                )
            listed: dict[str, Any] = {"path": name, "is_dir": bool(entry.get("is_dir"))}
            if not listed["is_dir"]:
                listed["file_size"] = int(entry.get("file_size") or 0)
            files.append(listed)
        return files

    def size(self, parts: tuple[str, ...]) -> int | None:
        if not parts:
            return None
        for entry in self.listing(parts[:-1]):
            if entry["path"] == parts[-1] and not entry["is_dir"]:
                return int(entry["file_size"])
        return None

    def open(self, parts: tuple[str, ...]) -> BinaryIO:
        with tempfile.TemporaryDirectory(prefix="nbtrack-artifact-") as folder:
            local = Path(folder) / "file"
            download_file(self.connection, self._path(parts), local)
            # Removing the folder leaves the open file readable until it is closed (POSIX):
            # nothing is left behind however the reader ends.
            return local.open("rb")

    def local_path(self, parts: tuple[str, ...]) -> Path | None:
        return None

    def below(self, parts: tuple[str, ...]) -> ServerFiles:
        return ServerFiles(self.connection, self._path(parts))
