"""The model registry: registered models, their versions, aliases and alias history, and the
``models:/`` URIs that load them.

Version numbers and aliases are written synchronously, under the store's file lock, in one
transaction each. A version is the registry's own copy of the model folder, with the hashes of
its files kept in the store: it never depends on its run's artifacts staying put, and nothing
in it is unpickled unless its files still match.
"""

from __future__ import annotations

from nbtrack.model_registry.references import resolve_model_version
from nbtrack.model_registry.uris import load_model
from nbtrack.model_registry.versions import (
    delete_alias,
    get_alias_history,
    get_model_version,
    promote,
    register_model,
    search_model_versions,
    set_alias,
)

__all__ = [
    "delete_alias",
    "get_alias_history",
    "get_model_version",
    "load_model",
    "promote",
    "register_model",
    "resolve_model_version",
    "search_model_versions",
    "set_alias",
]
