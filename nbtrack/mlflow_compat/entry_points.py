"""What MLflow's entry points name for the ``nbtrack:`` scheme: builders of the store plugins.

MLflow loads its store plugins while ``mlflow`` itself is still being imported. Were the entry
points to name the plugin classes, a process whose first import of MLflow comes from
``plugin.py`` would have MLflow look for the class in that half-imported module and drop the
scheme with a warning. This module imports nothing of MLflow; the builders import the plugins
when MLflow first asks for a store, when every module is whole.
"""

from __future__ import annotations

from typing import Any

__all__ = ["artifact_repository", "registry_store", "remote_registry_store", "tracking_store"]


def tracking_store(store_uri: str | None = None, artifact_uri: str | None = None) -> Any:
    """MLflow's tracking store for a ``nbtrack:`` or ``nbtrack+http(s)://`` URI."""
    from nbtrack.mlflow_compat.plugin import NbtrackTrackingStore

    return NbtrackTrackingStore(store_uri, artifact_uri)


def registry_store(store_uri: str | None = None, tracking_uri: str | None = None) -> Any:
    """MLflow's model-registry store for a ``nbtrack:`` URI."""
    from nbtrack.mlflow_compat.registry_plugin import NbtrackRegistryStore

    return NbtrackRegistryStore(store_uri, tracking_uri)


def remote_registry_store(store_uri: str, tracking_uri: str | None = None) -> Any:
    """MLflow's model-registry store for a ``nbtrack+http(s)://`` URI."""
    from nbtrack.mlflow_compat.registry_plugin import remote_registry_store as build

    return build(store_uri, tracking_uri)


def artifact_repository(
    artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
) -> Any:
    """MLflow's artifact repository for a ``nbtrack+http(s)://`` run's artifact URI."""
    from nbtrack.mlflow_compat.spooled_artifacts import SpooledArtifactRepository

    return SpooledArtifactRepository(artifact_uri, tracking_uri, registry_uri)
