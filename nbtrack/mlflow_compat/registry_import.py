"""The registry part of an import: registered models, their versions (numbers kept) and aliases.

Each version is registered through ``registry.RegistryService``, as MLflow's client registers
one in nbtrack: from the logged model or the run artifacts it was made from, which the run
import has brought in with their hashes recorded. The MLflow version number is kept as the
tag ``nbtrack.mlflow.version``: that is how a second import knows the version is here, and how
aliases find it. nbtrack numbers versions 1, 2, 3...: where MLflow's numbers have a gap (a
deleted version) the summary says which number the version got instead.
"""

from __future__ import annotations

from nbtrack.errors import AlreadyExistsError, NbtrackError, NotFoundError
from nbtrack.mlflow_compat import mapping
from nbtrack.mlflow_compat.registry import RegistryService
from nbtrack.mlflow_compat.service import TrackingService
from nbtrack.mlflow_compat.sources import Source, SourceModel, SourceVersion
from nbtrack.mlflow_compat.summary import Progress, TransferSummary
from nbtrack.store import whole_runs

VERSION_TAG = "nbtrack.mlflow.version"


def import_registry(
    reader: Source,
    service: TrackingService,
    summary: TransferSummary,
    progress: Progress,
    every_experiment: bool,
) -> None:
    """Every registered model of ``reader`` whose versions' runs are in the store."""
    models = reader.registered_models()
    registry = RegistryService(service)
    for done, model in enumerate(models, 1):
        _import_model(registry, model, summary, every_experiment)
        progress("registered models", done, len(models), model.name)


def _import_model(
    registry: RegistryService, model: SourceModel, summary: TransferSummary, every: bool
) -> None:
    here = _imported_versions(registry, model.name)
    if not here and not any(_in_store(registry, v) for v in model.versions):
        if every:
            summary.skip(f"registered model {model.name!r}: none of its versions' runs came in")
        return
    try:
        registry.create_registered_model(model.name, model.description or None)
        summary.count("registered models")
    except AlreadyExistsError:
        summary.already["registered models"] += 1
    for key, value in model.tags.items():
        registry.set_registered_model_tag(model.name, key, value)
    for version in model.versions:
        if version.version in here:
            summary.already["model versions"] += 1
            continue
        number = _import_version(registry, model.name, version, summary)
        if number is not None:
            here[version.version] = number
    for alias, source_number in sorted(model.aliases.items()):
        if source_number not in here:
            summary.skip(f"alias {model.name}@{alias}: version {source_number} was not imported")
            continue
        current = registry.tracking.store.read(_alias_target, model.name, alias)
        if current != here[source_number]:
            registry.set_alias(model.name, alias, str(here[source_number]))
            summary.count("aliases")


def _import_version(
    registry: RegistryService, name: str, version: SourceVersion, summary: TransferSummary
) -> int | None:
    uri = _model_uri(registry, version)
    what = f"model version {name}/{version.version}"
    if uri is None:
        summary.skip(f"{what}: its model ({version.source}) is not in a run that was imported")
        return None
    tags = {**version.tags, VERSION_TAG: str(version.version)}
    try:
        created = registry.create_model_version(
            name, uri, run_id=version.run_id, description=version.description or None, tags=tags
        )
    except NbtrackError as exc:
        summary.skip(f"{what}: {exc}")
        return None
    number = int(created["version"])
    if number != version.version:
        summary.notes.append(f"{what} is version {number} here (MLflow's numbers have a gap)")
    summary.count("model versions")
    return number


def _model_uri(registry: RegistryService, version: SourceVersion) -> str | None:
    """What to register the version from: its logged model, else its run's artifacts."""
    source = version.source
    model_id = version.model_id
    if not model_id and source.startswith("models:/m-"):
        # Some of MLflow's stores answer a version without its model id, but with its source.
        model_id = source[len("models:/") :].split("/", 1)[0]
    if model_id and registry.tracking.store.read(
        whole_runs.tagged_runs, mapping.MODEL_TAG + model_id
    ):
        return f"models:/{model_id}"
    if source.startswith("runs:/"):
        path = source
    elif version.run_id and "/artifacts/" in source:
        path = f"runs:/{version.run_id}/{source.rsplit('/artifacts/', 1)[1]}"
    else:
        return None
    run_id = path[len("runs:/") :].split("/", 1)[0]
    return path if registry.tracking.store.read(_has_run, run_id) else None


def _in_store(registry: RegistryService, version: SourceVersion) -> bool:
    return _model_uri(registry, version) is not None


def _imported_versions(registry: RegistryService, name: str) -> dict[int, int]:
    """MLflow's number -> nbtrack's, of the versions of ``name`` an import brought in."""
    found: dict[int, int] = {}
    try:
        versions = registry.search_model_versions(name)
    except NotFoundError:
        return found
    for version in versions:
        tags = {tag["key"]: tag["value"] for tag in version["tags"]}
        if VERSION_TAG in tags:
            found[int(tags[VERSION_TAG])] = int(version["version"])
    return found


def _has_run(con: object, run_id: str) -> bool:
    from nbtrack.store.runs import find_run

    return find_run(con, run_id) is not None  # type: ignore[arg-type]


def _alias_target(con: object, name: str, alias: str) -> int | None:
    from nbtrack.store.registry import aliased_model_version

    try:
        return aliased_model_version(con, name, alias).version  # type: ignore[arg-type]
    except NbtrackError:
        return None
