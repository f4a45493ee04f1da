"""Where ``nbtrack server`` keeps artifacts: its own folder, or ``--artifacts-destination URL``.

A destination takes a file as a stream, never whole in memory, and keeps it only once it is
complete: a folder writes a hidden partial file and renames it into place; object storage
(``s3://``, through fsspec) completes its multipart upload only on commit and abandons it on
discard. For every file it keeps, the server records the sha256 of what it received under
``.nbtrack-sha256/`` at the destination's root (never inside a run's folder), so a download
names its hash without reading the file twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import urllib.parse
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from nbtrack.errors import InvalidValueError
from nbtrack.tracking.artifact_files import (
    CHUNK,
    HASHES,
    ArtifactFiles,
    FolderFiles,
    FsspecFiles,
    chunks,
)
from nbtrack.tracking.artifact_paths import inside
from nbtrack.tracking.atomic_files import PARTIAL_SUFFIX, make_folder, write_atomically


class Upload(Protocol):
    """One file being received: written in pieces, then kept or thrown away."""

    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def discard(self) -> None: ...


class Destination(ArtifactFiles, Protocol):
    """What the ``mlflow-artifacts`` proxy reads and writes through: the files it reads, and
    how it writes and checks them."""

    @property
    def direct_url(self) -> str | None:
        """The URL clients write to themselves, or None: they upload through the server."""

    def check(self, parts: tuple[str, ...], value: str) -> None: ...
    def upload(self, parts: tuple[str, ...]) -> Upload: ...
    def remove(self, parts: tuple[str, ...]) -> None: ...
    def read_record(self, parts: tuple[str, ...]) -> bytes | None: ...
    def write_record(self, parts: tuple[str, ...], data: bytes) -> None: ...


def open_destination(url: str | None, default_root: Path) -> Destination:
    """The destination of ``--artifacts-destination`` (a folder, ``file://`` or any fsspec
    URL such as ``s3://bucket/prefix``); the server's own artifact folder when None."""
    if url is None:
        return FolderDestination(default_root)
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme in ("", "file"):
        folder = Path(url.removeprefix("file://")).expanduser()
        if not folder.is_absolute():
            folder = Path.cwd() / folder
        make_folder(folder)
        return FolderDestination(folder.resolve())
    return FsspecDestination(url)


def file_hash(destination: Destination, parts: tuple[str, ...]) -> tuple[str, int]:
    """The sha256 and size of a kept file, read through once."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks(destination, parts):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def recorded_hash(destination: Destination, parts: tuple[str, ...], size: int) -> str | None:
    """The sha256 recorded when the file was received, if it still describes a file of ``size``."""
    data = destination.read_record(parts)
    try:
        record = json.loads(data) if data is not None else None
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("size") != size:
        return None
    found = record.get("sha256")
    return found if isinstance(found, str) else None


def record_hash(destination: Destination, parts: tuple[str, ...], sha256: str, size: int) -> None:
    destination.write_record(parts, json.dumps({"sha256": sha256, "size": size}).encode())


class FolderDestination(FolderFiles):
    """A folder on this machine (or a network folder mounted on it)."""

    direct_url = None

    def check(self, parts: tuple[str, ...], value: str) -> None:
        inside(self.root, parts, value, "artifact path")

    def upload(self, parts: tuple[str, ...]) -> Upload:
        return _FolderUpload(self._path(parts))

    def remove(self, parts: tuple[str, ...]) -> None:
        self._path(parts).unlink(missing_ok=True)

    def read_record(self, parts: tuple[str, ...]) -> bytes | None:
        path = self.root.joinpath(HASHES, *parts)
        return path.read_bytes() if path.is_file() else None

    def write_record(self, parts: tuple[str, ...], data: bytes) -> None:
        write_atomically(self.root.joinpath(HASHES, *parts), lambda tmp: tmp.write_bytes(data))


class _FolderUpload:
    def __init__(self, target: Path) -> None:
        if target.is_dir():
            raise InvalidValueError(f"artifact path {target.name!r} is a folder on the server")
        make_folder(target.parent)
        self.target = target
        # Named as atomic_files names its partial files, so listings leave it out.
        self.partial = target.with_name(f".{target.name}.{secrets.token_hex(6)}{PARTIAL_SUFFIX}")
        self.out: BinaryIO = self.partial.open("xb")

    def write(self, data: bytes) -> None:
        self.out.write(data)

    def commit(self) -> None:
        self.out.close()
        os.replace(self.partial, self.target)

    def discard(self) -> None:
        self.out.close()
        self.partial.unlink(missing_ok=True)


class FsspecDestination(FsspecFiles):
    """Object storage or any fsspec file system, which clients may also write to directly."""

    def __init__(self, url: str) -> None:
        try:
            import fsspec.core
        except ImportError:
            raise InvalidValueError(
                f"--artifacts-destination {url!r} needs fsspec and the file system's package: "
                "pip install 'nbtrack[s3]' for s3:// (or give a folder)"
            ) from None
        try:
            fs, root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise InvalidValueError(
                f"--artifacts-destination {url!r} cannot be opened ({exc}); give a folder or "
                "s3://bucket/prefix with pip install 'nbtrack[s3]'"
            ) from None
        super().__init__(fs, root)
        self.url = url.rstrip("/")

    @property
    def direct_url(self) -> str | None:
        return self.url

    def check(self, parts: tuple[str, ...], value: str) -> None:
        # Object keys have no links to follow: relative_parts already refused '..' and '/'.
        return None

    def upload(self, parts: tuple[str, ...]) -> Upload:
        return _FsspecUpload(self.fs, self._key(parts))

    def remove(self, parts: tuple[str, ...]) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._key(parts))
        self.fs.invalidate_cache(self._key(parts))

    def read_record(self, parts: tuple[str, ...]) -> bytes | None:
        try:
            data: bytes = self.fs.cat_file("/".join((self.root, HASHES, *parts)))
        except FileNotFoundError:
            return None
        return data

    def write_record(self, parts: tuple[str, ...], data: bytes) -> None:
        self.fs.pipe_file("/".join((self.root, HASHES, *parts)), data)


class _FsspecUpload:
    def __init__(self, fs: Any, key: str) -> None:
        self.fs, self.key = fs, key
        # An S3 file is a multipart upload: the object exists only once it is closed.
        self.out = fs.open(key, "wb", block_size=8 * CHUNK)

    def write(self, data: bytes) -> None:
        self.out.write(data)

    def commit(self) -> None:
        self.out.close()
        self.fs.invalidate_cache(self.key)

    def discard(self) -> None:
        discard = getattr(self.out, "discard", None)
        if discard is not None:
            discard()
            # Marked closed so that its finalizer does not complete what was abandoned.
            self.out.closed = True
        else:  # a file system that writes as it goes: remove what it wrote
            self.out.close()
            self.fs.rm_file(self.key)
