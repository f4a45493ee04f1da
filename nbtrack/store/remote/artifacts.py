"""Artifacts of a process whose store is an ``nbtrack server``: a spool on local disk, sent in
order, and downloads checked against the hash the server recorded.

Logging an artifact copies the file into the spool (a local write: logging never waits for the
network), with its sha256 and its place in the server's artifact tree
(``<experiment id>/<run id>/artifacts/<path>``). ``send_pending`` uploads spooled files oldest
first, each streamed from disk with its hash in ``X-Nbtrack-Sha256``, and deletes one only once
the server confirmed that hash; a server that does not answer, or that has no such run yet (its
journal is still on its way), leaves the rest for the next call.
When the server names a destination clients can reach (``s3://...``), the file is written there
directly with fsspec and the server then checks and records its hash. A file the server refuses
for good (too large) is set aside in ``refused/`` with the reason, never dropped; one whose run
is deleted or purged on the server (410) goes to ``gone/``, said once per run, and is not sent
again; ``nbtrack sync`` lists both.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import time
import urllib.parse
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nbtrack.errors import (
    InvalidValueError,
    NotFoundError,
    RunGoneError,
    ServerError,
    ServerUnreachableError,
)
from nbtrack.store.remote.connection import ServerConnection

SHA256_HEADER = "X-Nbtrack-Sha256"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
DESTINATION = "/nbtrack/store/v1/artifacts/destination"
VERIFY = "/nbtrack/store/v1/artifacts/verify"
REFUSED = "refused"
GONE = "gone"
_DATA, _ENTRY = "data", "entry.json"
_CHUNK = 1 << 20
# S3's smallest multipart part is 5 MiB; 8 MiB keeps a client's memory small.
_PART = 8 << 20
# A socket that stays silent this long mid-transfer counts as a server that does not answer.
_TRANSFER_TIMEOUT_S = 120.0


def spool_file(
    folder: Path, destination: str, fill: Callable[[Path], object], journal: str | None = None
) -> None:
    """Add a file to the spool in ``folder``: ``fill`` writes it to the path it is given;
    ``destination`` is its place in the server's tree, ``<experiment>/<run>/artifacts/<path>``;
    ``journal`` names the journal whose lines bring its run. The entry appears whole or not at
    all."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}"
    making = folder / f".{name}.making"
    making.mkdir()
    try:
        fill(making / _DATA)
        sha256, size = _hash_file(making / _DATA)
        entry = {"path": destination, "sha256": sha256, "size": size, "journal": journal}
        (making / _ENTRY).write_text(json.dumps(entry), encoding="utf-8")
        os.replace(making, folder / name)
    except BaseException:
        shutil.rmtree(making, ignore_errors=True)
        raise


def spool_copy(folder: Path, source: Path, destination: str, journal: str | None = None) -> None:
    """Add a copy of the local file ``source`` to the spool."""
    spool_file(folder, destination, lambda target: shutil.copyfile(source, target), journal)


def pending(folder: Path) -> list[Path]:
    """The spool's entries not yet sent, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(
        entry
        for entry in folder.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and entry.name not in (REFUSED, GONE)
    )


def send_pending(
    connection: ServerConnection,
    folder: Path,
    delivered: Callable[[str | None], bool] | None = None,
) -> bool:
    """Upload the spool's files in order; True once nothing is left to send.

    Stops at the first file the server could not take now (it does not answer, or answers
    5xx): that file and the ones after it wait for the next call, keeping their order. A file
    whose run the server says is gone (deleted, or purged) is set aside in ``gone/`` and said
    once per run — but only when ``delivered(journal)``: every line of the journal that
    spooled it is on the server, so its run cannot still be on its way; until then it waits.
    Without ``delivered``, every journal is.
    """
    entries = pending(folder)
    if not entries:
        return True
    try:
        direct = _direct_target(connection)
    except (ServerError, ServerUnreachableError):
        return False
    gone: dict[str, list[Path]] = {}
    try:
        everything = delivered or (lambda journal: True)
        return _send_all(connection, folder, entries, direct, everything, gone)
    finally:
        for run_id, kept in gone.items():
            warnings.warn(
                f"run {run_id} is no longer on the server {connection.url} (deleted, or purged "
                f"by `nbtrack gc`): its {len(kept)} spooled file(s) are not sent again and are "
                f"kept in {folder / GONE}",
                stacklevel=3,
            )


def _send_all(
    connection: ServerConnection,
    folder: Path,
    entries: list[Path],
    direct: _Direct | None,
    delivered: Callable[[str | None], bool],
    gone: dict[str, list[Path]],
) -> bool:
    for entry in entries:
        with _claimed(entry) as claimed:
            if not claimed:
                return False  # another process of this project is sending it
            try:
                _send(connection, entry, direct)
            except RunGoneError as exc:
                if not delivered(_entry(entry).get("journal")):
                    return False  # the run may be in lines not delivered yet
                run_id = run_of(entry)
                gone.setdefault(run_id, []).append(_set_aside(folder, GONE, entry, exc))
                continue
            except InvalidValueError as exc:
                _refuse(folder, entry, exc)
                continue
            except (NotFoundError, ServerError, ServerUnreachableError):
                # NotFoundError: the run is not on the server yet (its journal, maybe a dead
                # process's, is still on its way).
                return False
            shutil.rmtree(entry)
    return True


def _entry(entry: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((entry / _ENTRY).read_text(encoding="utf-8"))
    return found


def run_of(entry: Path) -> str:
    """The run a spooled file belongs to (``<experiment>/<run>/artifacts/...``), or ``""`` for a
    registered model's copy."""
    path = str(_entry(entry)["path"])
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[2] == "artifacts" else ""


def set_aside(folder: Path) -> dict[str, list[Path]]:
    """The files the server will not take, by the run they belong to: those of runs that are
    gone (``gone/``) and those refused for good (``refused/``)."""
    found: dict[str, list[Path]] = {}
    for kind in (GONE, REFUSED):
        place = folder / kind
        for entry in sorted(place.iterdir()) if place.is_dir() else ():
            if (entry / _ENTRY).is_file():
                found.setdefault(run_of(entry), []).append(entry)
    return found


def _send(connection: ServerConnection, entry: Path, direct: _Direct | None) -> None:
    meta = json.loads((entry / _ENTRY).read_text(encoding="utf-8"))
    path, sha256, size = str(meta["path"]), str(meta["sha256"]), int(meta["size"])
    if direct is not None:
        direct.put(entry / _DATA, path)
        body = json.dumps({"path": path, "sha256": sha256, "size": size}).encode()
        connection.request(
            "POST", VERIFY, body, {"Content-Type": "application/json"}, _TRANSFER_TIMEOUT_S
        )
        return
    with (entry / _DATA).open("rb") as data:
        answer = connection.request(
            "PUT",
            f"{PROXY}/{urllib.parse.quote(path)}",
            data,
            {
                SHA256_HEADER: sha256,
                "Content-Length": str(size),
                "Content-Type": "application/octet-stream",
            },
            _TRANSFER_TIMEOUT_S,
        )
    if answer.headers.get(SHA256_HEADER.lower()) != sha256:
        raise ServerError(
            f"the server {connection.url} kept {path!r} with sha256 "
            f"{answer.headers.get(SHA256_HEADER.lower())}, not {sha256}; it is sent again"
        )


def destination_of(connection: ServerConnection) -> str | None:
    """The URL the server lets clients write artifacts to directly, or None (through it)."""
    answer = connection.request("GET", DESTINATION).json()
    found = answer.get("destination") if isinstance(answer, dict) else None
    return found if isinstance(found, str) else None


class _Direct:
    """The destination the server named, written with fsspec and this process's own settings
    (``AWS_*`` for s3://), one part of ``_PART`` bytes at a time: never the whole file in
    memory."""

    def __init__(self, url: str) -> None:
        try:
            import fsspec.core
        except ImportError:
            raise ServerError(
                f"the server stores artifacts in {url}, which this process writes to itself: "
                "pip install 'nbtrack[s3]'"
            ) from None
        # A fresh instance: fsspec's cache would keep settings (an endpoint) from before.
        self.fs, root = fsspec.core.url_to_fs(url, skip_instance_cache=True)
        self.url, self.root = url, root.rstrip("/")

    def put(self, source: Path, path: str) -> None:
        try:
            with (
                source.open("rb") as data,
                self.fs.open(f"{self.root}/{path}", "wb", block_size=_PART) as out,
            ):
                for chunk in iter(lambda: data.read(_CHUNK), b""):
                    out.write(chunk)
        except OSError as exc:
            raise ServerError(f"writing {path!r} to {self.url} failed ({exc})") from exc


def _direct_target(connection: ServerConnection) -> _Direct | None:
    url = destination_of(connection)
    return None if url is None else _Direct(url)


def _refuse(folder: Path, entry: Path, exc: Exception) -> None:
    target = _set_aside(folder, REFUSED, entry, exc)
    warnings.warn(f"the server refused an artifact ({exc}); it is kept in {target}", stacklevel=4)


def _set_aside(folder: Path, kind: str, entry: Path, exc: Exception) -> Path:
    target = folder / kind / entry.name
    target.parent.mkdir(exist_ok=True)
    (entry / "reason.txt").write_text(str(exc), encoding="utf-8")
    os.replace(entry, target)
    return target


@contextlib.contextmanager
def _claimed(entry: Path) -> Iterator[bool]:
    try:
        fd = os.open(entry / _ENTRY, os.O_RDONLY)
    except FileNotFoundError:  # sent meanwhile by another process
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield entry.is_dir()
    finally:
        os.close(fd)


def download_file(connection: ServerConnection, path: str, target: Path) -> str:
    """Stream the artifact file ``path`` into ``target``, kept only if its sha256 is the one the
    server recorded; that sha256."""
    response = connection.open(
        "GET", f"{PROXY}/{urllib.parse.quote(path)}", timeout_s=_TRANSFER_TIMEOUT_S
    )
    partial = target.with_name(f".{target.name}.{secrets.token_hex(6)}.download")
    try:
        expected = response.getheader(SHA256_HEADER)
        digest = hashlib.sha256()
        with partial.open("xb") as out:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        if expected is None or digest.hexdigest() != expected:
            raise ServerError(
                f"the server {connection.url} sent {path!r} with sha256 {digest.hexdigest()}, "
                f"but recorded {expected}; the download was not kept"
            )
        os.replace(partial, target)
        return expected
    finally:
        response.close()
        partial.unlink(missing_ok=True)


def list_files(connection: ServerConnection, path: str) -> list[dict[str, Any]]:
    """What is directly under ``path`` in the server's artifact tree (MLflow's FileInfo)."""
    query = urllib.parse.urlencode({"path": path})
    answer = connection.request("GET", f"{PROXY}?{query}").json()
    files = answer.get("files", []) if isinstance(answer, dict) else []
    return [entry for entry in files if isinstance(entry, dict)]


def download_tree(connection: ServerConnection, path: str, target: Path) -> None:
    """Every file under the folder ``path`` into the folder ``target``, each hash-checked."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in list_files(connection, path):
        name = str(entry["path"])
        if name in ("", ".", "..") or "/" in name:
            raise ServerError(f"the server listed {name!r} under {path!r}: not a file name")
        if entry.get("is_dir"):
            download_tree(connection, f"{path}/{name}", target / name)
        else:
            download_file(connection, f"{path}/{name}", target / name)


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
