"""MLflow's model registry operations on nbtrack's registry (``nbtrack/model_registry``).

A version MLflow's client registers is an ordinary nbtrack version: its model is copied into
the registry's folder after its files match the hashes recorded when it was logged, so
``nbtrack serve NAME`` and ``nbtrack.load_model("models:/NAME@alias")`` use it. The source may
be a logged model (``models:/m-...``), ``runs:/RUN/PATH``, or the artifact URI of a folder under
a run's artifacts (a file path or ``mlflow-artifacts:/``, as MLflow's client resolves
``runs:/`` URIs); anything else is refused, since its files were never recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from nbtrack import config
from nbtrack.entities import ModelVersion
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.mlflow_compat import mapping
from nbtrack.mlflow_compat.logged_models import LoggedModels
from nbtrack.mlflow_compat.remote_scheme import ARTIFACTS_PATH
from nbtrack.mlflow_compat.service import TrackingService
from nbtrack.model_registry import versions
from nbtrack.model_registry.names import check_model_name
from nbtrack.store import registry
from nbtrack.store.schema import ARTIFACTS_FOLDER

_PROXY = "mlflow-artifacts:/"


class RegistryService:
    """MLflow's registry API over the store of ``tracking``."""

    def __init__(self, tracking: TrackingService) -> None:
        self.tracking = tracking
        self.store = tracking.store
        self.logged_models = LoggedModels(tracking)

    @contextmanager
    def _here(self) -> Iterator[None]:
        # nbtrack's registry functions work on the current store: make it this one meanwhile.
        before = config.resolve_store_path()
        if before == self.store.path:
            yield
            return
        config.set_tracking_uri(self.store.path)
        try:
            yield
        finally:
            config.set_tracking_uri(before)

    # -- registered models ---------------------------------------------------------------------

    def create_registered_model(self, name: str, description: str | None = None) -> dict[str, Any]:
        name = check_model_name(name)
        self.store.write_registry(
            registry.create_registered_model, name, description or None, time.time_ns() // 1000
        )
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> dict[str, Any]:
        (model,) = self.store.read(registry.registered_models, check_model_name(name))
        latest = (
            None
            if model.latest_version is None
            else self._version(name, model.latest_version, json=False)
        )
        return mapping.registered_model_json(model, latest)  # type: ignore[arg-type]

    def search_registered_models(self) -> list[dict[str, Any]]:
        models = self.store.read(registry.registered_models, None)
        return [mapping.registered_model_json(model) for model in models]

    def update_registered_model(self, name: str, description: str) -> dict[str, Any]:
        with self._here():
            versions.set_model_description(name, description)
        return self.get_registered_model(name)

    def delete_registered_model(self, name: str) -> None:
        with self._here():
            versions.delete_registered_model(name)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        with self._here():
            versions.set_model_tag(name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        with self._here():
            versions.delete_model_tag(name, key)

    # -- versions ------------------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        model_id: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        model_uri = self._runs_uri(source, run_id, model_id)
        with self._here():
            version = versions.register_model(model_uri, name)
            for key, value in (tags or {}).items():
                versions.set_model_tag(name, key, value, version.version)
            if description:
                versions.set_model_description(name, description, version.version)
        return self.get_model_version(name, str(version.version))

    def _runs_uri(self, source: str, run_id: str | None, model_id: str | None) -> str:
        if not model_id and source.startswith("models:/m-"):
            model_id = source[len("models:/") :].split("/", maxsplit=1)[0]
        if model_id:
            found = self.logged_models.get(model_id)["info"]
            run_id, path = found["source_run_id"], found["name"]
        elif source.startswith("runs:/"):
            run_id, _, path = source[len("runs:/") :].partition("/")
        else:
            parts = self._artifact_parts(source)
            # <experiment>/<run id>/artifacts/<path...>
            if parts is None or len(parts) < 4 or parts[2] != "artifacts":
                raise InvalidValueError(
                    f"model source {source!r} is not accepted: register a model logged in a "
                    "run of this store (runs:/<run_id>/<path> or models:/<model_id>)"
                )
            if run_id and run_id != parts[1]:
                raise InvalidValueError(f"model source {source!r} is not in run {run_id}")
            run_id, path = parts[1], "/".join(parts[3:])
        # A model MLflow 3 logged in a run still open is complete once it is registered.
        self.logged_models.record_pending(run_id)
        return f"runs:/{run_id}/{path}"

    def _artifact_parts(self, source: str) -> tuple[str, ...] | None:
        if source.startswith(_PROXY):
            return PurePosixPath(source[len(_PROXY) :].lstrip("/")).parts
        if source.startswith(("http://", "https://", "nbtrack+http://", "nbtrack+https://")):
            # A client logging through nbtrack+http(s):// gives the proxy's own URL (with the
            # scheme's prefix since its files go through the spool); the run it names must
            # still be one of this store's, with the model's folder in it.
            path = urlsplit(source).path
            if not path.startswith(ARTIFACTS_PATH):
                return None
            return PurePosixPath(path[len(ARTIFACTS_PATH) :]).parts
        if ":/" in source:
            return None
        root = (self.store.folder / ARTIFACTS_FOLDER).resolve()
        folder = Path(source).resolve()
        return folder.relative_to(root).parts if folder.is_relative_to(root) else None

    def get_model_version(self, name: str, version: str) -> dict[str, Any]:
        found = self._version(name, version, json=True)
        assert isinstance(found, dict)
        return found

    def _version(self, name: str, version: object, json: bool) -> dict[str, Any] | ModelVersion:
        number = _number(version)
        found = self.store.read(registry.get_model_version, check_model_name(name), number)
        return mapping.model_version_json(found) if json else found

    def search_model_versions(
        self, name: str | None = None, run_id: str | None = None
    ) -> list[dict[str, Any]]:
        found = self.store.read(registry.search_model_versions, name)
        return [
            mapping.model_version_json(version)
            for version in found
            if run_id is None or version.run_id == run_id
        ]

    def latest_versions(self, name: str, stages: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The newest version in each of ``stages`` that has one (all four if none given)."""
        wanted = [_stage(stage) for stage in stages] or list(mapping.STAGES)
        every = self.store.read(registry.search_model_versions, check_model_name(name))
        newest: dict[str, ModelVersion] = {}
        for version in every:  # by version number: the last one seen per stage is the newest
            newest[mapping.current_stage(version)] = version
        return [mapping.model_version_json(newest[s]) for s in wanted if s in newest]

    def transition_stage(
        self, name: str, version: str, stage: str, archive_existing: bool = False
    ) -> dict[str, Any]:
        """Move a version to ``stage``; ``archive_existing`` moves the versions already in it
        (Staging or Production only) to Archived, in the same transaction."""
        name, number, target = check_model_name(name), _number(version), _stage(stage)
        if archive_existing and target not in ("Staging", "Production"):
            raise InvalidValueError(
                f"Model version transition cannot archive existing model versions because "
                f"'{target}' is not an Active stage. Valid stages are Staging and Production"
            )

        def move(con: Any) -> None:
            registry.set_model_tag(con, name, number, mapping.STAGE_TAG, target)
            for other in registry.search_model_versions(con, name) if archive_existing else []:
                if other.version != number and mapping.current_stage(other) == target:
                    registry.set_model_tag(con, name, other.version, mapping.STAGE_TAG, "Archived")

        self.store.write_registry(move)
        return self.get_model_version(name, version)

    def update_model_version(self, name: str, version: str, description: str) -> dict[str, Any]:
        with self._here():
            versions.set_model_description(name, description, _number(version))
        return self.get_model_version(name, version)

    def delete_model_version(self, name: str, version: str) -> None:
        with self._here():
            versions.delete_model_version(name, _number(version))

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        with self._here():
            versions.set_model_tag(name, key, value, _number(version))

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        with self._here():
            versions.delete_model_tag(name, key, _number(version))

    def download_uri(self, name: str, version: str) -> str:
        found = self._version(name, version, json=False)
        assert isinstance(found, ModelVersion)
        relative = (self.store.folder / found.storage_path).resolve()
        return self.tracking.artifact_uri(
            self.store.folder, relative.relative_to(self.store.folder.resolve()).as_posix()
        )

    # -- aliases -------------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: str) -> None:
        with self._here():
            versions.set_alias(name, alias, _number(version))

    def delete_alias(self, name: str, alias: str) -> None:
        with self._here():
            versions.delete_alias(name, alias)

    def version_by_alias(self, name: str, alias: str) -> dict[str, Any]:
        found = self.store.read(registry.aliased_model_version, check_model_name(name), alias)
        return mapping.model_version_json(found)


def _number(version: object) -> int:
    try:
        number = int(str(version))
    except ValueError:
        raise InvalidValueError(
            f"Invalid value {version!r} for parameter 'version': a version is a number"
        ) from None
    if number < 1:
        raise NotFoundError(f"Model version {version} does not exist")
    return number


def _stage(stage: object) -> str:
    for known in mapping.STAGES:
        if isinstance(stage, str) and stage.lower() == known.lower():
            return known
    raise InvalidValueError(
        f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(mapping.STAGES)}."
    )
