"""What a ``models:/`` URI names: parsing it, and the registered version it points to now.

Registering (``versions``) and loading (``uris``) both need this; it lives below both so
neither imports the other.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.entities import ModelVersion
from nbtrack.errors import InvalidValueError, StoreCorruptError
from nbtrack.model_registry.names import check_alias, check_model_name, check_version
from nbtrack.store.combined import resolve_model_reference
from nbtrack.store.current import current_store
from nbtrack.store.schema import ARTIFACTS_FOLDER

if TYPE_CHECKING:
    from nbtrack.store.store import Store

RUNS_SCHEME = "runs:/"
MODELS_SCHEME = "models:/"
REGISTRY_FOLDER = "registry"


def registry_root(store: Store) -> Path:
    return (store.folder / ARTIFACTS_FOLDER / REGISTRY_FOLDER).resolve()


def with_absolute_path(store: Store, version: ModelVersion) -> ModelVersion:
    """``version`` with its storage path made absolute, after checking it is in the registry."""
    root = registry_root(store)
    folder = (store.folder / version.storage_path).resolve()
    if not folder.is_relative_to(root) or folder == root:
        raise StoreCorruptError(
            f"the store records the model folder {version.storage_path!r} for version "
            f"{version.version} of {version.name!r}, which is outside {root}; the store file "
            "has been edited by hand or damaged"
        )
    return dataclasses.replace(version, storage_path=str(folder))


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


# Kept under its old name: the registry's modules resolve URIs with it.
resolve = resolve_model_reference


def resolve_model_version(model_uri: str) -> ModelVersion:
    """The version a ``models:/`` URI names now (an alias or ``latest`` may move later)."""
    store = current_store()
    version, _ = store.read(resolve, *parse_model_uri(model_uri))
    return with_absolute_path(store, version)
