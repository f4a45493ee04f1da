"""Registering model versions and moving aliases, each one synchronous write under the lock."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from nbtrack import config
from nbtrack.entities import ARCHIVED, READY, ModelVersion, RegisteredModel
from nbtrack.errors import InvalidValueError
from nbtrack.model_registry.names import check_alias, check_model_name, check_version
from nbtrack.model_registry.references import (
    MODELS_SCHEME,
    REGISTRY_FOLDER,
    RUNS_SCHEME,
    registry_root,
    resolve_model_version,
    with_absolute_path,
)
from nbtrack.models.integrity import ModelFiles, hash_files
from nbtrack.store import payloads, registry
from nbtrack.store.current import current_store
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.store.store import Store
from nbtrack.tracking.artifact_paths import relative_parts
from nbtrack.tracking.models import recorded_model
from nbtrack.tracking.remote_artifacts import fetched, send_folder, server_store
from nbtrack.tracking.run import get_run
from nbtrack.tracking.validation import check_name, tag_value

if TYPE_CHECKING:
    import pandas as pd

ACCEPTED_SOURCES = (
    "runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>/latest, "
    "models:/<name>@<alias>, or the folder of a model logged in a run of this store"
)


# -- registering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    path: Path
    hashes: dict[str, str]
    run_id: str | None
    uri: str


def register_model(model_uri: str | os.PathLike[str], name: str) -> ModelVersion:
    """Register the model at ``model_uri`` as the next version of ``name`` (created if new).

    The source's files are checked against the hashes recorded when it was saved, then copied
    into the registry's own folder, and only then is the version number assigned, in one
    transaction: two processes registering the same name at once get two versions.

    Examples
    --------
    >>> info = nbtrack.log_model(classifier, "model")  # doctest: +SKIP
    >>> nbtrack.register_model(info.model_uri, "churn").version  # doctest: +SKIP
    1
    """
    name = check_model_name(name)
    store = current_store()
    source = _resolve_source(store, model_uri)
    root = registry_root(store)
    root.mkdir(parents=True, exist_ok=True)
    folder_name = uuid.uuid4().hex
    building = root / f".{folder_name}.tmp"
    target = root / folder_name
    # With a server as the store, the run's model comes from the server (``fetched``).
    with fetched(source.path) as local:
        if not local.is_dir():
            raise InvalidValueError(f"no model folder at {source.uri!r} ({source.path})")
        # Checked before copying: a tampered source is refused with the file it differs in.
        ModelFiles(local, source.hashes).verify()
        try:
            shutil.copytree(local, building)
            copied = hash_files(building)
            if copied != source.hashes:
                raise InvalidValueError(
                    f"the model at {source.uri!r} changed while it was being copied into the "
                    "registry; nothing was registered"
                )
            os.rename(building, target)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    relative = f"{ARTIFACTS_FOLDER}/{REGISTRY_FOLDER}/{folder_name}"
    try:
        version = store.write_registry(
            registry.create_model_version,
            name,
            source.run_id,
            source.uri,
            relative,
            copied,
            time.time_ns() // 1000,
        )
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    send_folder(target)  # a server's registry gets its copy through the spool
    return with_absolute_path(store, version)


def _resolve_source(store: Store, model_uri: object) -> _Source:
    if isinstance(model_uri, str) and model_uri.startswith(RUNS_SCHEME):
        run_id, _, path = model_uri[len(RUNS_SCHEME) :].partition("/")
        artifact_path = "/".join(relative_parts(path or "model", "artifact_path"))
        run = get_run(store, run_id)
        folder = Path(run.artifact_uri).joinpath(*PurePosixPath(artifact_path).parts)
        hashes = store.read(payloads.model_payloads, run.id, artifact_path)
        uri = f"{RUNS_SCHEME}{run.id}/{artifact_path}"
        run_id_of_model: str | None = run.id
    elif isinstance(model_uri, str) and model_uri.startswith(MODELS_SCHEME):
        version = resolve_model_version(model_uri)
        folder = Path(version.storage_path)
        hashes = store.read(registry.model_version_files, version.name, version.version)
        uri, run_id_of_model = version.model_uri, version.run_id
    elif isinstance(model_uri, (str, os.PathLike)) and ":/" not in os.fspath(model_uri):
        folder = Path(model_uri).expanduser().resolve()
        run_id_of_model, hashes = recorded_model(store, folder)
        uri = str(folder)
    else:
        raise InvalidValueError(f"model URI {model_uri!r} is not accepted; give {ACCEPTED_SOURCES}")
    # A server's models are on the server: register_model fetches them.
    if server_store() is None and not folder.is_dir():
        raise InvalidValueError(f"no model folder at {str(model_uri)!r} ({folder})")
    if not hashes:
        raise InvalidValueError(
            f"refusing to register {str(model_uri)!r}: the store has no record of this model's "
            "files, so they cannot be checked; log it with nbtrack.log_model in a run and "
            "register runs:/<run_id>/<path> (registering unrecorded folders as trusted is not "
            "supported yet)"
        )
    return _Source(folder, hashes, run_id_of_model, uri)


# -- reading ----------------------------------------------------------------------------------


def get_model_version(name: str, version: int | str) -> ModelVersion:
    """Version ``version`` of the registered model ``name``."""
    name, number = check_model_name(name), check_version(version)
    store = current_store()
    return with_absolute_path(store, store.read(registry.get_model_version, name, number))


def search_model_versions(name: str | None = None) -> list[ModelVersion]:
    """Every version of ``name`` (an unknown name is an error), or of every registered model,
    ordered by name then version."""
    if name is not None:
        name = check_model_name(name)
    store = current_store()
    return [with_absolute_path(store, v) for v in store.read(registry.search_model_versions, name)]


def get_registered_model(name: str) -> RegisteredModel:
    """The registered model ``name``: description, tags, aliases, latest version, times."""
    (model,) = current_store().read(registry.registered_models, check_model_name(name))
    return model


def search_registered_models() -> list[RegisteredModel]:
    """Every registered model, by name."""
    return current_store().read(registry.registered_models, None)


def get_alias_history(name: str) -> pd.DataFrame:
    """Every alias move of ``name``, oldest first: alias, version (missing when the alias was
    deleted), previous_version (missing when it was new), changed_at (UTC), changed_by."""
    name = check_model_name(name)
    return current_store().read(registry.alias_history, name)


# -- aliases ----------------------------------------------------------------------------------


def set_alias(name: str, alias: str, version: int | str) -> ModelVersion:
    """Point ``alias`` at ``version`` of ``name``; the move is kept in the alias history.

    The version must exist and not be archived. ``models:/NAME@ALIAS`` then loads it, and a
    server following the alias switches to it.
    """
    name, alias, number = check_model_name(name), check_alias(alias), check_version(version)
    store = current_store()
    moved = store.write_registry(
        registry.set_alias, name, alias, number, config.current_user(), time.time_ns() // 1000
    )
    return with_absolute_path(store, moved)


def delete_alias(name: str, alias: str) -> None:
    """Remove ``alias`` from ``name``; the removal is kept in the alias history."""
    name, alias = check_model_name(name), check_alias(alias)
    current_store().write_registry(
        registry.delete_alias, name, alias, config.current_user(), time.time_ns() // 1000
    )


def promote(name: str, version: int | str, alias: str = "champion") -> ModelVersion:
    """Make ``version`` of ``name`` the promoted one: ``set_alias(name, alias, version)``."""
    return set_alias(name, alias, version)


# -- lifecycle --------------------------------------------------------------------------------


def archive_model_version(name: str, version: int | str) -> ModelVersion:
    """Archive a version: ``latest`` skips it and no alias may point at it. Refused while an
    alias points at it, naming the alias."""
    name, number = check_model_name(name), check_version(version)
    store = current_store()
    return with_absolute_path(
        store, store.write_registry(registry.set_model_version_status, name, number, ARCHIVED)
    )


def restore_model_version(name: str, version: int | str) -> ModelVersion:
    """Bring an archived version back (READY)."""
    name, number = check_model_name(name), check_version(version)
    store = current_store()
    return with_absolute_path(
        store, store.write_registry(registry.set_model_version_status, name, number, READY)
    )


def delete_model_version(name: str, version: int | str) -> None:
    """Delete a version and its copy of the model; refused while an alias points at it."""
    name, number = check_model_name(name), check_version(version)
    _remove_folders(current_store(), registry.delete_model_versions, name, number)


def delete_registered_model(name: str) -> None:
    """Delete a model with all its versions and history; refused while it has any alias."""
    _remove_folders(current_store(), registry.delete_model_versions, check_model_name(name), None)


def set_model_description(name: str, description: str, version: int | str | None = None) -> None:
    """Describe a registered model, or one of its versions."""
    if not isinstance(description, str) or "\x00" in description:
        raise InvalidValueError(f"a description is text without NUL bytes, got {description!r:.80}")
    number = None if version is None else check_version(version)
    current_store().write_registry(
        registry.set_model_description, check_model_name(name), number, description
    )


def set_model_tag(name: str, key: str, value: object, version: int | str | None = None) -> None:
    """Tag a registered model, or one of its versions (``version``); a tag set again is
    replaced. Values are text (numbers and bools are turned into their text, as for run tags)."""
    name, key = check_model_name(name), check_name(key, "tag key")
    text = tag_value(key, value)
    number = None if version is None else check_version(version)
    current_store().write_registry(registry.set_model_tag, name, number, key, text)


def delete_model_tag(name: str, key: str, version: int | str | None = None) -> None:
    """Remove the tag ``key`` of a registered model, or of one of its versions."""
    name, key = check_model_name(name), check_name(key, "tag key")
    number = None if version is None else check_version(version)
    current_store().write_registry(registry.set_model_tag, name, number, key, None)


def _remove_folders(store: Store, delete: Any, name: str, number: int | None) -> None:
    paths: list[str] = store.write_registry(delete, name, number)
    root = registry_root(store)
    # Rows first, in their transaction; then the copies, and only inside the registry folder.
    for relative in paths:
        folder = (store.folder / relative).resolve()
        if folder.is_relative_to(root) and folder != root:
            shutil.rmtree(folder, ignore_errors=True)
