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
from nbtrack.errors import StoreCorruptError
from nbtrack.model_registry.references import (
    MODELS_SCHEME,
    REGISTRY_FOLDER,
    parse_model_uri,
    registry_root,
    resolve,
    with_absolute_path,
)
from nbtrack.store import registry
from nbtrack.store.current import current_store
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.tracking.models import load_model as load_tracked_model
from nbtrack.tracking.remote_artifacts import fetched

if TYPE_CHECKING:
    from nbtrack.models.format import PyFuncModel
    from nbtrack.store.store import Store


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
        version, hashes = store.read(resolve, *parse_model_uri(model_uri))
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
    with fetched(Path(version.storage_path)) as folder:
        return load_folder(folder, expected_hashes=hashes, trusted=trusted)


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
    return store.read(registry.model_version_at, relative)
