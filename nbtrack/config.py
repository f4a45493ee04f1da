"""Where the store lives, and every other fact read from the environment.

This is the only module that reads ``os.environ``: the rest of nbtrack asks it.
"""

from __future__ import annotations

import getpass
import os
import socket
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nbtrack.errors import InvalidValueError

STORE_FILENAME = "nbtrack.duckdb"
URI_VARIABLE = "NBTRACK_URI"
# The token an `nbtrack server` off loopback requires from this process's requests.
TOKEN_VARIABLE = "NBTRACK_TOKEN"
SERVE_TOKEN_VARIABLE = "NBTRACK_SERVE_TOKEN"
# Set by `nbtrack run` for the process it starts: the project run that process logs to.
RUN_ID_VARIABLE = "NBTRACK_RUN_ID"


@dataclass(frozen=True)
class ServerAddress:
    """An `nbtrack server` this process logs to: its base URL (no trailing slash; a path prefix
    is kept for a server behind a proxy) and the token its requests carry (NBTRACK_TOKEN)."""

    url: str
    token: str | None = None

    def __str__(self) -> str:
        return self.url


_explicit_uri: Path | str | None = None


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Use ``uri`` as the store of this process: a ``.duckdb`` file (created on first use), or
    the ``http://`` / ``https://`` URL of an ``nbtrack server`` (its token in NBTRACK_TOKEN).

    ``None`` goes back to ``NBTRACK_URI`` or discovery.

    Examples
    --------
    >>> nbtrack.set_tracking_uri("experiments/nbtrack.duckdb")  # doctest: +SKIP
    >>> nbtrack.set_tracking_uri("http://tracking.internal:5000")  # doctest: +SKIP
    """
    global _explicit_uri
    if uri is None:
        _explicit_uri = None
    elif _is_server_url(uri):
        _explicit_uri = _checked_server_url(os.fspath(uri), "set_tracking_uri")
    else:
        _explicit_uri = _as_store_path(uri, "set_tracking_uri")


def get_tracking_uri() -> str:
    """The absolute path of the store this process logs to, or its server's URL."""
    return str(resolve_target())


def resolve_target() -> Path | ServerAddress:
    """Where this process logs: ``set_tracking_uri``, else ``NBTRACK_URI``, else discovery. A
    server's token is read from NBTRACK_TOKEN at each call, so setting it later takes effect."""
    chosen: Path | str
    if _explicit_uri is not None:
        chosen = _explicit_uri
    elif from_env := os.environ.get(URI_VARIABLE):
        chosen = (
            _checked_server_url(from_env, URI_VARIABLE)
            if _is_server_url(from_env)
            else _as_store_path(from_env, URI_VARIABLE)
        )
    else:
        chosen = _discover_from(resolved_path("."))
    if isinstance(chosen, str):
        return ServerAddress(chosen, os.environ.get(TOKEN_VARIABLE) or None)
    return chosen


def resolve_store_path() -> Path:
    """The local store file: ``set_tracking_uri``, else ``NBTRACK_URI``, else discovery. Raises
    when this process logs to a server, for what only a local file can do."""
    target = resolve_target()
    if isinstance(target, ServerAddress):
        raise InvalidValueError(
            f"this process logs to the server {target.url}, and this needs a local store file: "
            f"give a .duckdb path to set_tracking_uri or {URI_VARIABLE}"
        )
    return target


def checked_server_url(value: str, origin: str) -> str:
    """``value`` as a server's base URL (``http(s)://HOST[:PORT][/PREFIX]``, no trailing
    slash); InvalidValueError naming ``origin`` for anything else."""
    return _checked_server_url(value, origin)


def _is_server_url(value: str | os.PathLike[str]) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def _checked_server_url(value: str, origin: str) -> str:
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise InvalidValueError(
            f"{origin}: {value!r} is not a server URL ({exc}); give http://HOST:PORT"
        ) from None
    problem = None
    if not parts.hostname:
        problem = "it names no host"
    elif parts.username or parts.password:
        problem = f"it holds a user name or password: put the token in {TOKEN_VARIABLE}"
    elif parts.query or parts.fragment:
        problem = "it has a query or a fragment"
    if problem:
        raise InvalidValueError(
            f"{origin}: {value!r} is not a server URL: {problem}; "
            "give http://HOST:PORT or https://HOST[:PORT][/PREFIX]"
        )
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if parts.hostname and ":" in parts.hostname:
        netloc = f"[{parts.hostname}]" + ("" if port is None else f":{port}")
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


# Paths resolved once per working folder: every run's start resolves the store's path (or the
# working folder it discovers the store from) and the script's, and resolving follows links, a
# dozen system calls each.
_resolved: dict[tuple[str, str], str] = {}


def resolved_path(path: str) -> str:
    """``os.path.realpath(path)``, worked out once per path and working folder."""
    key = (path, os.getcwd())
    found = _resolved.get(key)
    if found is None:
        found = _resolved[key] = os.path.realpath(path)
    return found


def discover_store(start: Path) -> Path:
    """The first ``nbtrack.duckdb`` walking up from ``start`` to the root of its git repository.

    If none exists, a new one belongs at that root, or at ``start`` outside a repository, so
    that notebooks in sub-folders of one project share one store.
    """
    return _discover_from(str(start.resolve()))


def _discover_from(start: str) -> Path:
    # On strings: every run's start walks this, and pathlib's objects cost more than the stats.
    folder = start
    while True:
        candidate = os.path.join(folder, STORE_FILENAME)
        if os.path.isfile(candidate) or os.path.exists(os.path.join(folder, ".git")):
            return Path(candidate)
        parent = os.path.dirname(folder)
        if parent == folder:
            return Path(start, STORE_FILENAME)
        folder = parent


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
    return Path(resolved_path(str(path)))


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
