"""Where the store lives, and every other fact read from the environment.

This is the only module that reads ``os.environ``: the rest of nbtrack asks it.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from pathlib import Path

from nbtrack.errors import InvalidValueError

STORE_FILENAME = "nbtrack.duckdb"
URI_VARIABLE = "NBTRACK_URI"
SERVE_TOKEN_VARIABLE = "NBTRACK_SERVE_TOKEN"
# Set by `nbtrack run` for the process it starts: the project run that process logs to.
RUN_ID_VARIABLE = "NBTRACK_RUN_ID"

_explicit_uri: Path | None = None


def set_tracking_uri(path: str | os.PathLike[str] | None) -> None:
    """Use ``path`` (a ``.duckdb`` file, created on first use) as the store of this process.

    ``None`` goes back to ``NBTRACK_URI`` or discovery.

    Examples
    --------
    >>> nbtrack.set_tracking_uri("experiments/nbtrack.duckdb")  # doctest: +SKIP
    """
    global _explicit_uri
    _explicit_uri = None if path is None else _as_store_path(path, "set_tracking_uri")


def get_tracking_uri() -> str:
    """The absolute path of the store this process logs to."""
    return str(resolve_store_path())


def resolve_store_path() -> Path:
    """The store path: ``set_tracking_uri``, else ``NBTRACK_URI``, else discovery."""
    if _explicit_uri is not None:
        return _explicit_uri
    from_env = os.environ.get(URI_VARIABLE)
    if from_env:
        return _as_store_path(from_env, URI_VARIABLE)
    return discover_store(Path.cwd())


def discover_store(start: Path) -> Path:
    """The first ``nbtrack.duckdb`` walking up from ``start`` to the root of its git repository.

    If none exists, a new one belongs at that root, or at ``start`` outside a repository, so
    that notebooks in sub-folders of one project share one store.
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / STORE_FILENAME
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return candidate
    return start / STORE_FILENAME


def _as_store_path(value: str | os.PathLike[str], origin: str) -> Path:
    text = os.fspath(value)
    if text.startswith("file://"):
        text = text[len("file://") :]
    if not text or "\x00" in text:
        raise InvalidValueError(f"{origin}: {value!r} is not a file path; give a .duckdb file path")
    path = Path(text).expanduser()
    if path.is_dir():
        raise InvalidValueError(
            f"{origin}: {text!r} is a folder; give a file path such as {text}/{STORE_FILENAME}"
        )
    return path.resolve()


def jupyter_session_name() -> str | None:
    """The notebook path jupyter_server gives its kernels (JPY_SESSION_NAME), if any."""
    return os.environ.get("JPY_SESSION_NAME") or None


def current_user() -> str:
    """The login name recorded on runs, or ``"unknown"``."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def host_name() -> str:
    """This machine's host name, recorded on runs and journals."""
    return socket.gethostname()


def serve_token() -> str | None:
    """The token ``nbtrack serve`` requires when none is given (NBTRACK_SERVE_TOKEN), if set."""
    return os.environ.get(SERVE_TOKEN_VARIABLE) or None


def attached_run_id() -> str | None:
    """The run this process logs to without opening one (NBTRACK_RUN_ID: ``nbtrack run`` sets
    it for the entry point it starts), if any."""
    return os.environ.get(RUN_ID_VARIABLE) or None


def child_environment(changes: Mapping[str, str | None]) -> dict[str, str]:
    """The environment of a process nbtrack starts: this one's, with ``changes`` (None removes
    a variable)."""
    environment = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def cache_folder() -> Path:
    """Where nbtrack keeps what it can build again (project environments): ``$XDG_CACHE_HOME/
    nbtrack``, else ``~/.cache/nbtrack``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().resolve() / "nbtrack"
