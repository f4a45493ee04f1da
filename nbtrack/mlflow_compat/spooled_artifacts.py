"""MLflow's artifact repository for ``nbtrack+http(s)://`` artifact URIs: files logged through
MLflow's client wait in team mode's spool and reach the server after the journal.

Over ``nbtrack+http://`` a run's artifact URI is the server's ``mlflow-artifacts`` proxy with
the scheme's own prefix, ``nbtrack+http://HOST:PORT/api/2.0/mlflow-artifacts/artifacts/
<experiment>/<run>/artifacts``, so MLflow picks this repository (entry point group
``mlflow.artifact_repository``) rather than its ``HttpArtifactRepository``, which uploads inside
the call and fails while the server is away. ``log_artifact(s)`` copy each file into the spool
of this process's ``RemoteStore`` (``store/remote/artifacts.py``): the background sender puts
it on the proxy, in order, with its sha256, once the journal that made its run is delivered.
``list_artifacts`` and downloads send what is spooled first (read-your-own-writes), then read
the proxy; a download is kept only when its sha256 is the one the server recorded.

Why a scheme of its own and not ``http``: registering a repository for ``http`` would take over
every HTTP artifact URI in the process, another MLflow server's included. ``models:/`` keeps
working because the server names a version's files ``mlflow-artifacts:/...``, which the registry
turns into the proxy's plain URL (``registry_plugin.py``); registering first delivers the spool,
since the server records a model's hashes from the files it holds.
"""

from __future__ import annotations

import os
import posixpath
import time
from pathlib import Path
from typing import Any, Final

from mlflow.entities import FileInfo
from mlflow.store.artifact.artifact_repo import ArtifactRepository

from nbtrack.errors import InvalidValueError, ServerError, ServerUnreachableError
from nbtrack.mlflow_compat.plugin import translating
from nbtrack.mlflow_compat.remote_scheme import ARTIFACTS_PATH, is_remote, server_address
from nbtrack.store.remote import artifacts
from nbtrack.store.remote.store import RemoteStore, get_remote_store
from nbtrack.tracking.artifact_paths import relative_parts

__all__ = ["SpooledArtifactRepository", "deliver_spool"]

# How long registering a model waits for the spool to reach a server that answers.
DELIVERY_TIMEOUT_S: Final = 30.0


@translating
class SpooledArtifactRepository(ArtifactRepository):
    """A run's (or logged model's) files on an ``nbtrack server``, written through the spool."""

    def __init__(
        self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
    ) -> None:
        super().__init__(artifact_uri, tracking_uri, registry_uri)
        base, found, tail = artifact_uri.partition(ARTIFACTS_PATH)
        if not found or not is_remote(base):
            raise InvalidValueError(
                f"artifact URI {artifact_uri!r} is not accepted here: give "
                f"nbtrack+http(s)://HOST:PORT{ARTIFACTS_PATH}<experiment>/<run>/artifacts"
            )
        self.root = "/".join(relative_parts(tail, "artifact URI path"))
        self.store: RemoteStore = get_remote_store(server_address(base))

    # -- writing: the spool ----------------------------------------------------------------------

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        name = os.path.basename(local_file)
        self.store.spool(Path(local_file), self._tree_path(artifact_path, name))

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        folder = Path(local_dir)
        # Sorted: the spool sends in the order files were added, the same on every run.
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            self.store.spool(path, self._tree_path(artifact_path, relative))

    # -- reading: the proxy, after the spool -----------------------------------------------------

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        self.store.send_artifacts()
        listed = artifacts.list_files(self.store.connection, self._tree_path(path))
        infos = sorted(
            (
                FileInfo(
                    posixpath.join(path, *relative_parts(entry["path"], "listed path"))
                    if path
                    else "/".join(relative_parts(entry["path"], "listed path")),
                    bool(entry.get("is_dir")),
                    _size(entry.get("file_size")),
                )
                for entry in listed
            ),
            key=lambda info: info.path,
        )
        # MLflow's contract: a path naming one file lists nothing.
        if path and len(infos) == 1 and not infos[0].is_dir and infos[0].path == path:
            return []
        return infos

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        self.store.send_artifacts()
        target = Path(local_path)
        artifacts.download_file(self.store.connection, self._tree_path(remote_file_path), target)

    def _tree_path(self, *parts: str | None) -> str:
        # "" and "." name the run's root, as MLflow's download_artifacts(".") asks for it.
        named = [part for part in parts if part and part.strip("/") not in ("", ".")]
        inner = [p for part in named for p in relative_parts(part, "artifact path")]
        return "/".join((self.root, *inner))


def deliver_spool(store: RemoteStore, timeout_s: float = DELIVERY_TIMEOUT_S) -> None:
    """Wait until the server holds every file the spool keeps for it. A server that does not
    answer, or has not taken them within ``timeout_s``, is one ``ServerError`` naming it."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            # Asked first: the sender takes a server that does not answer for one that is
            # busy, and would wait out the deadline.
            artifacts.destination_of(store.connection)
            if store.send_artifacts():
                return
        except ServerUnreachableError as exc:
            raise ServerError(
                f"{exc}. A model is registered on the server, once the files this project "
                f"logged (kept in {store.artifact_spool}) are there"
            ) from exc
        except ServerError:
            pass  # a refusal of its own (busy): tried again until the deadline
        if time.monotonic() >= deadline:
            raise ServerError(
                f"the server {store.address.url} has not taken the files this project logged "
                f"within {timeout_s:.0f} s; they wait in {store.artifact_spool}. A model can be "
                "registered once its files are on the server"
            )
        time.sleep(0.2)


def _size(value: Any) -> int | None:
    return None if value is None else int(value)
