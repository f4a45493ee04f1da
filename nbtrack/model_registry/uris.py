"""``models:/`` URIs: which version they name, and loading it after its files are checked.

``load_model`` here is the complete one (``runs:/``, ``models:/`` and local folders): tracking
sits below the registry and cannot resolve ``models:/`` itself, so ``nbtrack.load_model`` is
this function, and it hands every other URI to ``nbtrack.tracking.models.load_model``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.entities import ModelVersion
from nbtrack.errors import InvalidValueError, StoreCorruptError
from nbtrack.model_registry.names import check_alias, check_model_name, check_version
from nbtrack.model_registry.versions import (
    MODELS_SCHEME,
    REGISTRY_FOLDER,
    registry_root,
    with_absolute_path,
)
from nbtrack.store import queries
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.store.store import current_store
from nbtrack.tracking.models import load_model as load_tracked_model

if TYPE_CHECKING:
    import duckdb

    from nbtrack.models.format import PyFuncModel
    from nbtrack.store.store import Store

MODEL_URIS = "models:/<name>/<version>, models:/<name>/latest or models:/<name>@<alias>"


def parse_model_uri(model_uri: str) -> tuple[str, str, str | int]:
    """``(name, kind, ref)``: kind ``"version"`` (ref an int), ``"latest"`` or ``"alias"``."""
    rest = model_uri[len(MODELS_SCHEME) :] if model_uri.startswith(MODELS_SCHEME) else None
    if rest is None or not rest:
        raise InvalidValueError(f"model URI {model_uri!r} is not accepted; give {MODEL_URIS}")
    if "/" in rest:
        name, _, ref = rest.partition("/")
        check_model_name(name)
        if ref == "latest":
            return name, "latest", ref
        if ref.isascii() and ref.isdigit():
            return name, "version", check_version(ref)
        raise InvalidValueError(
            f"model URI {model_uri!r}: {ref!r} is neither a version number nor 'latest' "
            f"(stages are not supported: use an alias); give {MODEL_URIS}"
        )
    if "@" in rest:
        name, _, alias = rest.partition("@")
        return check_model_name(name), "alias", check_alias(alias)
    raise InvalidValueError(f"model URI {model_uri!r} names no version or alias; give {MODEL_URIS}")


def _resolve(
    con: duckdb.DuckDBPyConnection, name: str, kind: str, ref: str | int
) -> tuple[ModelVersion, dict[str, str]]:
    if kind == "version":
        assert isinstance(ref, int)
        version = queries.get_model_version(con, name, ref)
    elif kind == "latest":
        version = queries.latest_model_version(con, name)
    else:
        version = queries.aliased_model_version(con, name, str(ref))
    return version, queries.model_version_files(con, name, version.version)


def resolve_model_version(model_uri: str) -> ModelVersion:
    """The version a ``models:/`` URI names now (an alias or ``latest`` may move later)."""
    store = current_store()
    version, _ = store.read(_resolve, *parse_model_uri(model_uri))
    return with_absolute_path(store, version)


def load_model(model_uri: str | os.PathLike[str], trusted: bool = False) -> PyFuncModel:
    """Load a model with ``.predict(DataFrame)`` from ``models:/<name>/<version>``,
    ``models:/<name>/latest``, ``models:/<name>@<alias>``, ``runs:/<run_id>/<path>`` or a
    local model folder.

    A registered version loads from the registry's own copy, after every file of it matches
    the hash recorded when it was registered, before anything is unpickled.

    Examples
    --------
    >>> nbtrack.promote("churn", 2)  # doctest: +SKIP
    >>> nbtrack.load_model("models:/churn@champion").predict(df)  # doctest: +SKIP
    """
    from nbtrack.models.format import load_model as load_folder

    store = current_store()
    if isinstance(model_uri, str) and model_uri.startswith(MODELS_SCHEME):
        version, hashes = store.read(_resolve, *parse_model_uri(model_uri))
    else:
        local = model_uri if isinstance(model_uri, str) else Path(model_uri)
        found = _registered_folder(store, local)
        if found is None:
            return load_tracked_model(local, trusted=trusted)
        version, hashes = found
    version = with_absolute_path(store, version)
    if not hashes:
        raise StoreCorruptError(
            f"the store holds no file hashes for version {version.version} of "
            f"{version.name!r}; refusing to load it"
        )
    return load_folder(Path(version.storage_path), expected_hashes=hashes, trusted=trusted)


def _registered_folder(
    store: Store, model_uri: str | Path
) -> tuple[ModelVersion, dict[str, str]] | None:
    """A local path that is a version's folder in the registry: that version and its hashes."""
    if ":/" in str(model_uri):
        return None
    folder = Path(model_uri).expanduser().resolve()
    root = registry_root(store)
    if folder.parent != root:
        return None
    relative = f"{ARTIFACTS_FOLDER}/{REGISTRY_FOLDER}/{folder.name}"
    return store.read(queries.model_version_at, relative)
