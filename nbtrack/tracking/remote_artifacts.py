"""A run's artifacts when this process's store is an ``nbtrack server`` (``NBTRACK_URI=http...``).

Writes stay local and quick: each file goes into the spool that the background sender empties
into the server (``store/remote/artifacts.py``), never straight over the network. Reads ask the
server, after sending what is spooled (read-your-own-writes), and keep a download only once its
sha256 matches the one the server recorded. With a store file none of this is used: the
callers write into and read from the run's folder as before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack import config
from nbtrack.errors import NotFoundError
from nbtrack.store.current import current_store
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.tracking.atomic_files import make_folder, write_atomically
from nbtrack.tracking.run import get_run

if TYPE_CHECKING:
    from nbtrack.store.remote.store import RemoteStore


def server_store() -> RemoteStore | None:
    """The store of this process when it is a server, else None (a store file)."""
    if not isinstance(config.resolve_target(), config.ServerAddress):
        return None
    # Imported only here: a process that logs to a file never loads the HTTP client.
    from nbtrack.store.remote.store import RemoteStore

    store = current_store()
    return store if isinstance(store, RemoteStore) else None


def keep(target: Path, fill: Callable[[Path], object]) -> None:
    """Write an artifact file of the active run at ``target`` (in its folder): there for a
    store file, into the spool for a server."""
    server = server_store()
    if server is None:
        write_atomically(target, fill)
        return
    from nbtrack.store.remote.artifacts import spool_file

    spool_file(server.artifact_spool, _in_tree(server, target), fill, server.journal.name)


def keep_folder(folder: Path) -> None:
    """An empty folder of artifacts: made for a store file; a server keeps files only."""
    if server_store() is None:
        make_folder(folder)


def listing(
    server: RemoteStore, run_id: str, parts: tuple[str, ...]
) -> list[tuple[str, bool, int | None]]:
    """(path, is_dir, size) of what is directly under ``parts`` of a run's artifacts."""
    from nbtrack.store.remote.artifacts import list_files

    server.send_artifacts()
    found = list_files(server.connection, _run_path(server, run_id, parts))
    return [
        ("/".join((*parts, str(entry["path"]))), bool(entry.get("is_dir")), entry.get("file_size"))
        for entry in found
    ]


def download(server: RemoteStore, run_id: str, parts: tuple[str, ...], local: Path) -> None:
    """Copy the artifact file or folder ``parts`` into ``local``, each file hash-checked."""
    from nbtrack.store.remote.artifacts import download_file, download_tree, list_files

    server.send_artifacts()
    path = _run_path(server, run_id, parts)
    try:
        download_file(server.connection, path, local)
    except NotFoundError:
        if not list_files(server.connection, path):
            raise NotFoundError(
                f"run {run_id} has no artifact {'/'.join(parts)!r} on the server "
                f"{server.address.url}; see what it has with nbtrack.list_artifacts({run_id!r})"
            ) from None
        download_tree(server.connection, path, local)


def read_bytes(server: RemoteStore, run_id: str, parts: tuple[str, ...]) -> bytes:
    """The content of the artifact file ``parts``, hash-checked."""
    with tempfile.TemporaryDirectory(prefix="nbtrack-artifact-") as folder:
        local = Path(folder) / "file"
        download(server, run_id, parts, local)
        return local.read_bytes()


def send_folder(folder: Path) -> None:
    """A folder saved in the run's folder (a model): for a server, its files move into the
    spool, in order, and the folder goes."""
    server = server_store()
    if server is None:
        return
    from nbtrack.store.remote.artifacts import spool_file

    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        spool_file(
            server.artifact_spool, _in_tree(server, path), partial(os.replace, path),
            server.journal.name,
        )  # fmt: skip
    shutil.rmtree(folder)


@contextlib.contextmanager
def fetched(folder: Path) -> Iterator[Path]:
    """A model folder of the store, as a local folder while the block runs: itself for a store
    file; for a server, a download of it (each file hash-checked in transit; the caller still
    checks the payload hashes the store recorded before anything is unpickled)."""
    server = server_store()
    if server is None or not folder.is_relative_to(_tree_root(server)):
        yield folder  # a store file's, or a model folder of the user's own
        return
    from nbtrack.store.remote.artifacts import download_tree, list_files

    server.send_artifacts()
    path = _in_tree(server, folder)
    with tempfile.TemporaryDirectory(prefix="nbtrack-model-") as temporary:
        if not list_files(server.connection, path):
            raise NotFoundError(f"no model folder {path!r} on the server {server.address.url}")
        local = Path(temporary) / folder.name
        download_tree(server.connection, path, local)
        yield local


def _tree_root(server: RemoteStore) -> Path:
    # The spool's stand-in for the server's artifact folder: runs' folders lie under it.
    return (server.folder / ARTIFACTS_FOLDER).resolve()


def _in_tree(server: RemoteStore, target: Path) -> str:
    return target.relative_to(_tree_root(server)).as_posix()


def _run_path(server: RemoteStore, run_id: str, parts: tuple[str, ...]) -> str:
    folder = Path(get_run(server, run_id).artifact_uri)
    return "/".join((_in_tree(server, folder), *parts))
