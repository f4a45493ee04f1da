"""The model registry as JSON-able data, and the alias changes a page may make.

Every change goes through ``model_registry`` (checked names, history kept, the registry
marker replaced), so a server following an alias switches as it would after
``nbtrack.promote`` in a notebook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nbtrack.entities import ModelVersion
from nbtrack.errors import InvalidValueError
from nbtrack.model_registry import versions as registry
from nbtrack.tracking.run_table import display_value
from nbtrack.tracking.search import runs_frame

MAX_VERSIONS = 100
MAX_METRICS = 6


def models() -> dict[str, Any]:
    """Every registered model: name, latest version, how many, aliases."""
    return {
        "models": [
            {
                "name": m.name,
                "description": m.description,
                "latest_version": m.latest_version,
                "version_count": m.version_count,
                "aliases": m.aliases,
                "updated_at": display_value(m.updated_at),
            }
            for m in registry.search_registered_models()
        ]
    }


def model(name: str) -> dict[str, Any]:
    """One model: its versions (newest first) with their runs' metrics, aliases and history."""
    found = registry.get_registered_model(name)
    versions = sorted(registry.search_model_versions(found.name), key=lambda v: -v.version)
    versions = versions[:MAX_VERSIONS]
    metrics = _run_metrics(versions)
    history = registry.get_alias_history(found.name)
    return {
        "name": found.name,
        "description": found.description,
        "aliases": found.aliases,
        "versions": [_version(v, metrics.get(v.run_id or "", {})) for v in versions],
        "metric_keys": sorted({k for m in metrics.values() for k in m})[:MAX_METRICS],
        "history": [
            {key: display_value(value) for key, value in row.items()}
            for row in history.to_dict("records")
        ],
    }


def _version(version: ModelVersion, metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": version.version,
        "status": version.status,
        "aliases": list(version.aliases),
        "run_id": version.run_id,
        "source": version.source,
        "created_at": display_value(version.created_at),
        "metrics": metrics,
    }


def _run_metrics(versions: list[ModelVersion]) -> dict[str, dict[str, Any]]:
    ids = sorted({v.run_id for v in versions if v.run_id})
    if not ids:
        return {}
    frame = runs_frame(runs=ids)
    keys = [c for c in frame.columns if c.startswith("metrics.")]
    return {
        row["run_id"]: {k.removeprefix("metrics."): display_value(row[k]) for k in keys}
        for row in frame[["run_id", *keys]].to_dict("records")
    }


def set_alias(name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Point ``body["alias"]`` (``champion`` by default) at ``body["version"]``."""
    alias = body.get("alias", "champion")
    if "version" not in body:
        raise InvalidValueError('the body needs "version": the version the alias points at')
    moved = registry.set_alias(name, alias, body["version"])
    return {"name": moved.name, "version": moved.version, "aliases": list(moved.aliases)}


def delete_alias(name: str, alias: str) -> dict[str, Any]:
    registry.delete_alias(name, alias)
    return {"name": name, "deleted": alias}
