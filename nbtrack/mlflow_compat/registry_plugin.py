"""MLflow's model-registry store for ``nbtrack:`` URIs: ``mlflow.register_model``, aliases and
versions land in nbtrack's registry (``registry.RegistryService``), so ``nbtrack serve NAME``
serves what MLflow's client registered."""

from __future__ import annotations

from typing import Any

from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.protos import model_registry_pb2
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.abstract_store import AbstractStore
from mlflow.utils.proto_json_utils import parse_dict

from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.mlflow_compat import registry_filters
from nbtrack.mlflow_compat.plugin import service_for, translating
from nbtrack.mlflow_compat.registry import RegistryService


def _version(found: dict[str, Any]) -> ModelVersion:
    message = model_registry_pb2.ModelVersion()
    parse_dict(found, message)
    return ModelVersion.from_proto(message)


def _model(found: dict[str, Any]) -> RegisteredModel:
    message = model_registry_pb2.RegisteredModel()
    parse_dict(found, message)
    return RegisteredModel.from_proto(message)


@translating
class NbtrackRegistryStore(AbstractStore):
    """MLflow's registry store for ``nbtrack:`` URIs."""

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None) -> None:
        super().__init__(store_uri, tracking_uri)
        self.registry = RegistryService(service_for(store_uri))

    def create_registered_model(
        self, name: str, tags: Any = None, description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:  # fmt: skip
        found = self.registry.create_registered_model(name, description)
        for tag in tags or []:
            self.registry.set_registered_model_tag(name, tag.key, tag.value)
        return _model(self.registry.get_registered_model(name) if tags else found)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return _model(self.registry.get_registered_model(name))

    def update_registered_model(
        self, name: str, description: str, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        return _model(self.registry.update_registered_model(name, description))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        raise InvalidValueError(
            f"registered model {name!r} cannot be renamed in nbtrack: aliases and their "
            "history keep its name; register the versions under the new name instead"
        )

    def delete_registered_model(self, name: str) -> None:
        self.registry.delete_registered_model(name)

    def search_registered_models(
        self, filter_string: str | None = None, max_results: int | None = None,
        order_by: Any = None, page_token: str | None = None,
    ) -> PagedList[Any]:  # fmt: skip
        holds = registry_filters.matching(registry_filters.parse(filter_string))
        found = [_model(item) for item in self.registry.search_registered_models() if holds(item)]
        return PagedList(found[:max_results] if max_results else found, None)

    def get_latest_versions(self, name: str, stages: Any = None) -> list[ModelVersion]:
        return [_version(item) for item in self.registry.latest_versions(name, stages or ())]

    def set_registered_model_tag(self, name: str, tag: Any) -> None:
        self.registry.set_registered_model_tag(name, tag.key, tag.value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.registry.delete_registered_model_tag(name, key)

    def create_model_version(
        self, name: str, source: str, run_id: str | None = None, tags: Any = None,
        run_link: str | None = None, description: str | None = None,
        local_model_path: str | None = None, model_id: str | None = None,
    ) -> ModelVersion:  # fmt: skip
        tag_map = {tag.key: tag.value for tag in tags or []}
        return _version(
            self.registry.create_model_version(name, source, run_id, model_id, description, tag_map)
        )

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        return _version(self.registry.get_model_version(name, str(version)))

    def update_model_version(self, name: str, version: str, description: str) -> ModelVersion:
        return _version(self.registry.update_model_version(name, str(version), description))

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool
    ) -> ModelVersion:
        found = self.registry.transition_stage(
            name, str(version), stage, bool(archive_existing_versions)
        )
        return _version(found)

    def delete_model_version(self, name: str, version: str) -> None:
        self.registry.delete_model_version(name, str(version))

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        return self.registry.download_uri(name, str(version))

    def search_model_versions(
        self, filter_string: str | None = None, max_results: int | None = None,
        order_by: Any = None, page_token: str | None = None,
    ) -> PagedList[Any]:  # fmt: skip
        comparisons = registry_filters.parse(filter_string)
        name = registry_filters.wanted(comparisons, "name")
        run_id = registry_filters.wanted(comparisons, "run_id")
        try:
            found = self.registry.search_model_versions(name, run_id)
        except NotFoundError:
            found = []
        holds = registry_filters.matching(comparisons)
        versions = [_version(item) for item in found if holds(item)]
        return PagedList(versions[:max_results] if max_results else versions, None)

    def set_model_version_tag(self, name: str, version: str, tag: Any) -> None:
        self.registry.set_model_version_tag(name, str(version), tag.key, tag.value)

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        self.registry.delete_model_version_tag(name, str(version), key)

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.registry.set_alias(name, alias, str(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.registry.delete_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return _version(self.registry.version_by_alias(name, alias))


def remote_registry_store(store_uri: str, tracking_uri: str | None = None) -> Any:
    """The registry for ``nbtrack+http(s)://``: MLflow's own REST registry client against the
    server's registry routes (registering is rare; only tracking goes through the journal).
    Its token is the one the tracking side sends."""
    from mlflow.store.model_registry.rest_store import RestStore
    from mlflow.utils.rest_utils import MlflowHostCreds

    from nbtrack.mlflow_compat.remote_scheme import ARTIFACTS_PATH, server_address

    address = server_address(store_uri)

    class ProxiedRegistry(RestStore):
        # The server records a version's hashes from the files it holds: the files this
        # process logged must have left the spool first.
        def create_model_version(self, *args: Any, **kwargs: Any) -> Any:
            from nbtrack.mlflow_compat.spooled_artifacts import deliver_spool
            from nbtrack.store.remote.store import get_remote_store

            deliver_spool(get_remote_store(address))
            return super().create_model_version(*args, **kwargs)

        # The server answers mlflow-artifacts:/ URIs, which MLflow resolves only against an
        # http(s) tracking URI: a models:/ URI must download from the proxy's full URL.
        def get_model_version_download_uri(self, name: str, version: str) -> str:
            found: str = super().get_model_version_download_uri(name, version)
            if found.startswith(PROXY_SCHEME):
                return address.url + ARTIFACTS_PATH + found[len(PROXY_SCHEME) :].lstrip("/")
            return found

    return ProxiedRegistry(lambda: MlflowHostCreds(address.url, token=address.token))


PROXY_SCHEME = "mlflow-artifacts:"
