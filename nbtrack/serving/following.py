"""The model a server answers with, and following a registry alias while it serves.

Requests read one attribute, ``Follower.current``, and never the store (DuckDB is opened per
registry change, not per request: an open per request would contend with every notebook).
A watcher thread stats the registry's marker file, which every committed registry change
replaces; when it changes, the alias is resolved again, and a new version is loaded in that
thread and swapped in with one assignment. A request in flight keeps the ``Served`` it read,
so it finishes on the old model; a version that fails to load is logged and the old one stays.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack import config
from nbtrack._version import __version__
from nbtrack.entities import ModelVersion
from nbtrack.errors import InvalidValueError, NbtrackError
from nbtrack.model_registry.names import check_alias, check_model_name
from nbtrack.model_registry.references import MODELS_SCHEME, parse_model_uri, resolve_model_version
from nbtrack.model_registry.uris import load_model
from nbtrack.models.pyfunc import PyFuncModel
from nbtrack.models.signatures import ColSpec
from nbtrack.store.current import current_store

log = logging.getLogger("nbtrack.serve")

DEFAULT_ALIAS = "champion"
# Detection delay of a promotion against one stat() per tick; a stat costs microseconds.
POLL_INTERVAL_S = 0.2

ACCEPTED_MODELS = (
    "a registered model NAME (served as NAME@champion), NAME@ALIAS, a model URI "
    "(models:/NAME@ALIAS, models:/NAME/3, models:/NAME/latest, runs:/RUN_ID/model) or a "
    "model folder"
)

MarkerState = tuple[int, int, int] | None
# How CSV text is read for a column of these signature types (see protocol.parse_csv).
_CSV_DTYPES = {"string": "object", "binary": "object", "float": "float32"}


@dataclass(frozen=True)
class Target:
    """What a server was asked to serve.

    ``uri`` is the model URI the request means; ``follows`` the alias (or ``"latest"``) that
    the server follows for ``models:/NAME@ALIAS`` and ``models:/NAME/latest``, else None.
    """

    uri: str
    name: str | None = None
    follows: str | None = None


def target(model: str) -> Target:
    """Read the MODEL argument: a model URI, a local model folder, ``NAME`` (meaning
    ``models:/NAME@champion``) or ``NAME@ALIAS``.

    Examples
    --------
    >>> target("churn")
    Target(uri='models:/churn@champion', name='churn', follows='champion')
    """
    if not isinstance(model, str) or not model.strip():
        raise InvalidValueError(f"serve: model {model!r} is not accepted; give {ACCEPTED_MODELS}")
    if model.startswith(MODELS_SCHEME):
        name, kind, ref = parse_model_uri(model)
        follows = None if kind == "version" else ("latest" if kind == "latest" else str(ref))
        return Target(model, name, follows)
    # A name cannot hold "/": anything path-like is a folder, and so is a bare word that
    # names a model folder here (a data folder called like the model is not one).
    if ":/" in model or "/" in model or os.sep in model or _is_model_folder(model):
        return Target(model)
    name, at, alias = model.partition("@")
    name, alias = check_model_name(name), check_alias(alias if at else DEFAULT_ALIAS)
    return Target(f"{MODELS_SCHEME}{name}@{alias}", name, alias)


def _is_model_folder(text: str) -> bool:
    return (Path(text).expanduser() / "MLmodel").is_file()


@dataclass(frozen=True)
class Served:
    """One loaded model with what the request handler needs precomputed."""

    model: PyFuncModel
    uri: str
    name: str | None
    version: int | None
    run_id: str | None
    loaded_at: dt.datetime
    # The column a flat list of values fills, for a model that takes one named column.
    single_column: str | None
    # Text columns read from CSV as text ("007" stays "007"), of object dtype, and float
    # columns at float32, as MLflow's server reads them.
    csv_dtypes: dict[str, str]
    # Columns typed binary, sent as base64 text.
    binary_columns: tuple[str, ...]
    metadata: dict[str, Any] = field(repr=False)


def load(requested: Target) -> Served:
    """Load what ``requested`` names now; an alias is pinned to the version it points at."""
    version: ModelVersion | None = None
    uri = requested.uri
    if requested.name is not None:
        version = resolve_model_version(requested.uri)
        uri = version.model_uri
    return _served(requested, load_model(uri), uri, version)


def served(model: PyFuncModel, uri: str) -> Served:
    """A model the caller loaded itself (a trusted folder, say), as a server holds it; it
    follows nothing. ``uri`` names it in ``/metadata``."""
    return _served(Target(uri), model, uri, None)


def _served(
    requested: Target, model: PyFuncModel, uri: str, version: ModelVersion | None
) -> Served:
    inputs = model.signature.inputs if model.signature is not None else None
    columns = [spec for spec in inputs or () if isinstance(spec, ColSpec)]
    named = [spec.name for spec in columns if spec.name is not None]
    run_id = version.run_id if version is not None else model.metadata.get("run_id")
    loaded_at = dt.datetime.now(dt.UTC)
    metadata = {
        "model_uri": requested.uri,
        "served_uri": uri,
        "name": version.name if version is not None else None,
        "version": version.version if version is not None else None,
        "alias": requested.follows if requested.follows != "latest" else None,
        # The alias, "latest" or None: what a registry change may move.
        "follows": requested.follows,
        "run_id": run_id,
        "flavor": model.flavor,
        "signature": _signature(model.metadata.get("signature")),
        # The method predict calls (MLflow's pyfunc_predict_fn): predict_proba answers otherwise.
        "predict_fn": _predict_fn(model.metadata),
        "loaded_at": loaded_at.isoformat(timespec="seconds"),
        "nbtrack_version": __version__,
    }
    return Served(
        model=model,
        uri=uri,
        name=version.name if version is not None else None,
        version=version.version if version is not None else None,
        run_id=run_id if isinstance(run_id, str) else None,
        loaded_at=loaded_at,
        single_column=named[0] if len(columns) == 1 and len(named) == 1 else None,
        # Binary columns too: their base64 text must not be read as a number.
        csv_dtypes={
            spec.name: _CSV_DTYPES[spec.type]
            for spec in columns
            if spec.name and spec.type in _CSV_DTYPES
        },
        binary_columns=tuple(spec.name for spec in columns if spec.name and spec.type == "binary"),
        metadata=metadata,
    )


def _predict_fn(mlmodel: dict[str, Any]) -> str:
    flavors = mlmodel.get("flavors")
    pyfunc = flavors.get("python_function") if isinstance(flavors, dict) else None
    method = pyfunc.get("predict_fn") if isinstance(pyfunc, dict) else None
    return method if isinstance(method, str) else "predict"


def _signature(entry: object) -> dict[str, Any] | None:
    """MLmodel's signature with its JSON strings decoded, for /metadata."""
    if not isinstance(entry, dict):
        return None
    decoded: dict[str, Any] = {}
    for key in ("inputs", "outputs", "params"):
        value = entry.get(key)
        try:
            decoded[key] = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            decoded[key] = None
    return decoded


class Follower:
    """Holds the served model; for an alias, a thread swaps in each version it moves to.

    Examples
    --------
    >>> follower = Follower.start(target("churn"))  # doctest: +SKIP
    >>> follower.current.version  # doctest: +SKIP
    2
    """

    def __init__(self, requested: Target, served: Served, marker: Path | None) -> None:
        self.target = requested
        self.current = served
        self._marker = marker
        self._target = config.resolve_target()
        self._seen: MarkerState = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls, requested: Target, interval_s: float = POLL_INTERVAL_S) -> Follower:
        """Load the model now (errors are raised here), then follow it if it is an alias."""
        marker = current_store().registry_marker
        # Read before resolving: a change committed meanwhile is then seen as a change.
        seen = marker_state(marker)
        follower = cls(requested, load(requested), marker if requested.follows else None)
        follower._seen = seen
        if requested.follows:
            follower._thread = threading.Thread(
                target=follower._watch, args=(interval_s,), name="nbtrack-serve-follow",
                daemon=True,
            )  # fmt: skip
            follower._thread.start()
        return follower

    @property
    def following(self) -> bool:
        """Whether an alias (or ``latest``) is followed."""
        return self._thread is not None

    def stop(self) -> None:
        """End the watcher thread (the model keeps answering until the server stops)."""
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def refresh(self) -> bool:
        """Resolve the followed alias again; load and swap in the version it names if that is
        another one. True when the served model changed. Never raises: failures are logged."""
        if self.target.follows is None:
            return False
        with self._lock:
            old = self.current
            try:
                # URIs resolve in the process's current store; a server stays with its own.
                if (now := config.resolve_target()) != self._target:
                    log.warning(
                        "this process now tracks to %s; %s is not followed there, still "
                        "serving version %s from %s",
                        now, self.target.uri, old.version, self._target,
                    )  # fmt: skip
                    return False
                version = resolve_model_version(self.target.uri)
                if version.version == old.version:
                    return False
                served = _served(self.target, load_model(version.model_uri), version.model_uri,
                                 version)  # fmt: skip
            except NbtrackError as exc:
                log.error("%s: %s; still serving version %s", self.target.uri, exc, old.version)
                return False
            except Exception:
                log.exception(
                    "%s: loading its new version failed; still serving version %s",
                    self.target.uri, old.version,
                )  # fmt: skip
                return False
            # One reference swapped: requests that already read the old one finish on it.
            self.current = served
        log.info(
            "%s moved: now serving %s version %s (was %s)",
            self.target.uri, served.name, served.version, old.version,
        )  # fmt: skip
        return True

    def _watch(self, interval_s: float) -> None:
        assert self._marker is not None
        while not self._stopped.wait(interval_s):
            state = marker_state(self._marker)
            if state == self._seen:
                continue
            self._seen = state
            self.refresh()


def marker_state(marker: Path) -> MarkerState:
    """What identifies one version of the marker file; None while it does not exist."""
    try:
        found = marker.stat()
    except OSError:
        return None
    # The inode too: the registry replaces the file, so two changes within one mtime tick
    # still differ.
    return (found.st_mtime_ns, found.st_ino, found.st_size)
