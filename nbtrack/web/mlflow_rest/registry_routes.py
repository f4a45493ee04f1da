"""MLflow's model-registry endpoints (``mlflow/protos/model_registry.proto``) over
``mlflow_compat.registry.RegistryService``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.mlflow_compat import registry_filters
from nbtrack.mlflow_compat.registry import RegistryService
from nbtrack.web.mlflow_rest.fields import Fields

Handler = Callable[[RegistryService, Fields], dict[str, Any]]


def create_registered_model(registry: RegistryService, f: Fields) -> dict[str, Any]:
    name = f.required_text("name")
    registry.create_registered_model(name, f.text("description"))
    for key, value in f.key_values("tags"):
        registry.set_registered_model_tag(name, key, value)
    return {"registered_model": registry.get_registered_model(name)}


def get_registered_model(registry: RegistryService, f: Fields) -> dict[str, Any]:
    return {"registered_model": registry.get_registered_model(f.required_text("name"))}


def search_registered_models(registry: RegistryService, f: Fields) -> dict[str, Any]:
    holds = registry_filters.matching(registry_filters.parse(f.text("filter")))
    found = [model for model in registry.search_registered_models() if holds(model)]
    limit = f.integer("max_results")
    return {"registered_models": found[:limit] if limit else found}


def update_registered_model(registry: RegistryService, f: Fields) -> dict[str, Any]:
    model = registry.update_registered_model(f.required_text("name"), f.text("description") or "")
    return {"registered_model": model}


def rename_registered_model(registry: RegistryService, f: Fields) -> dict[str, Any]:
    raise InvalidValueError(
        f"registered model {f.text('name')!r} cannot be renamed in nbtrack: aliases and their "
        "history keep its name"
    )


def delete_registered_model(registry: RegistryService, f: Fields) -> dict[str, Any]:
    registry.delete_registered_model(f.required_text("name"))
    return {}


def get_latest_versions(registry: RegistryService, f: Fields) -> dict[str, Any]:
    stages = [str(stage) for stage in f.items("stages")]
    return {"model_versions": registry.latest_versions(f.required_text("name"), stages)}


def set_registered_model_tag(registry: RegistryService, f: Fields) -> dict[str, Any]:
    registry.set_registered_model_tag(
        f.required_text("name"), f.required_text("key"), f.text("value") or ""
    )
    return {}


def delete_registered_model_tag(registry: RegistryService, f: Fields) -> dict[str, Any]:
    registry.delete_registered_model_tag(f.required_text("name"), f.required_text("key"))
    return {}


def create_model_version(registry: RegistryService, f: Fields) -> dict[str, Any]:
    version = registry.create_model_version(
        f.required_text("name"), f.required_text("source"), f.text("run_id"), f.text("model_id"),
        f.text("description"), dict(f.key_values("tags")),
    )  # fmt: skip
    return {"model_version": version}


def get_model_version(registry: RegistryService, f: Fields) -> dict[str, Any]:
    version = registry.get_model_version(f.required_text("name"), f.required_text("version"))
    return {"model_version": version}


def update_model_version(registry: RegistryService, f: Fields) -> dict[str, Any]:
    version = registry.update_model_version(
        f.required_text("name"), f.required_text("version"), f.text("description") or ""
    )
    return {"model_version": version}


def delete_model_version(registry: RegistryService, f: Fields) -> dict[str, Any]:
    registry.delete_model_version(f.required_text("name"), f.required_text("version"))
    return {}


def search_model_versions(registry: RegistryService, f: Fields) -> dict[str, Any]:
    comparisons = registry_filters.parse(f.text("filter"))
    name = registry_filters.wanted(comparisons, "name")
    try:
        found = registry.search_model_versions(name, registry_filters.wanted(comparisons, "run_id"))
    except NotFoundError:
        found = []
    holds = registry_filters.matching(comparisons)
    found = [version for version in found if holds(version)]
    limit = f.integer("max_results")
    return {"model_versions": found[:limit] if limit else found}


def get_download_uri(registry: RegistryService, f: Fields) -> dict[str, Any]:
    uri = registry.download_uri(f.required_text("name"), f.required_text("version"))
    return {"artifact_uri": uri}


def set_model_version_tag(registry: RegistryService, f: Fields) -> dict[str, Any]:
    registry.set_model_version_tag(
        f.required_text("name"), f.required_text("version"), f.required_text("key"),
        f.text("value") or "",
    )  # fmt: skip
    return {}


def delete_model_version_tag(registry: RegistryService, f: Fields) -> dict[str, Any]:
    registry.delete_model_version_tag(
        f.required_text("name"), f.required_text("version"), f.required_text("key")
    )
    return {}


def transition_stage(registry: RegistryService, f: Fields) -> dict[str, Any]:
    archive = f.values.get("archive_existing_versions", False)
    if not isinstance(archive, bool):
        raise InvalidValueError(
            f"Invalid value {archive!r} for parameter 'archive_existing_versions': true or false"
        )
    found = registry.transition_stage(
        f.required_text("name"), f.required_text("version"), f.required_text("stage"), archive
    )
    return {"model_version": found}


def set_alias(registry: RegistryService, f: Fields) -> dict[str, Any]:
    registry.set_alias(
        f.required_text("name"), f.required_text("alias"), f.required_text("version")
    )
    return {}


def delete_alias(registry: RegistryService, f: Fields) -> dict[str, Any]:
    registry.delete_alias(f.required_text("name"), f.required_text("alias"))
    return {}


def get_by_alias(registry: RegistryService, f: Fields) -> dict[str, Any]:
    version = registry.version_by_alias(f.required_text("name"), f.required_text("alias"))
    return {"model_version": version}
