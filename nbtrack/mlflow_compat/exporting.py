"""``nbtrack mlflow export``: the store's history written into an MLflow tracking URI.

The store is read as MLflow's client sees it through the ``nbtrack:`` plugin (the same
``client_source.ClientSource`` that imports from MLflow), and written through ``MlflowClient``
on the target, so whatever MLflow's protocol can hold arrives as MLflow would have logged it:
runs with their times, status, params, every metric point, tags and nesting, artifacts,
logged models, registered models with their versions and aliases. MLflow gives every run and
logged model a new id; the tag ``nbtrack.run_id`` keeps the store's, which is also how a second
export knows a run is there already.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbtrack import config
from nbtrack.errors import InvalidValueError, NbtrackError, NotFoundError
from nbtrack.mlflow_compat import mapping
from nbtrack.mlflow_compat.client_source import PAGE, ClientSource, pages
from nbtrack.mlflow_compat.registry import RegistryService
from nbtrack.mlflow_compat.service import TrackingService
from nbtrack.mlflow_compat.sources import (
    SourceLoggedModel,
    SourceModel,
    SourceRun,
    SourceVersion,
    parents_first,
)
from nbtrack.mlflow_compat.summary import Progress, TransferSummary, no_progress

EXPORTED_TAG = "nbtrack.run_id"
# MLflow's log-batch limits.
_METRICS, _PARAMS, _TAGS = 1000, 100, 100


def export_mlflow(
    target: str,
    experiments: Sequence[str] | str | None = None,
    progress: Progress = no_progress,
) -> TransferSummary:
    """Write the store (or some ``experiments``) into the MLflow tracking URI ``target``."""
    if not isinstance(target, str) or ":" not in target:
        raise InvalidValueError(
            f"export target {target!r} is not accepted: give an MLflow tracking URI "
            "(sqlite:///mlflow.db, http://host:5000, ...)"
        )
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise NbtrackError(
            "export writes through MLflow's client, which is not installed: "
            "pip install 'nbtrack[mlflow]'"
        ) from None
    path = config.resolve_store_path()
    reader = ClientSource(f"nbtrack:{path}")
    client = MlflowClient(tracking_uri=target, registry_uri=target)
    exporter = Exporter(reader, client, progress)
    exporter.registry = RegistryService(TrackingService(path))
    wanted = [experiments] if isinstance(experiments, str) else experiments
    exporter.export(wanted)
    return exporter.summary


class Exporter:
    def __init__(self, reader: ClientSource, client: Any, progress: Progress) -> None:
        self.reader = reader
        self.client = client
        self.progress = progress
        self.summary = TransferSummary()
        self.run_ids: dict[str, str] = {}
        # (the store's run id, the model's folder) -> the logged model's id in the target
        self.model_ids: dict[tuple[str, str], str] = {}
        self.registry: RegistryService | None = None

    def export(self, wanted: Sequence[str] | None) -> None:
        found = [e for e in self.reader.experiments() if e.lifecycle_stage == "active"]
        if wanted is not None:
            missing = [w for w in wanted if w not in {e.name for e in found}]
            if missing:
                raise NotFoundError(
                    f"no experiment {', '.join(map(repr, missing))} in this store; it has "
                    f"{', '.join(repr(e.name) for e in found)}"
                )
            found = [e for e in found if e.name in wanted]
        runs: list[tuple[str, SourceRun]] = []
        for done, experiment in enumerate(found, 1):
            target_id = self._experiment(experiment.name)
            runs += [(target_id, run) for run in self.reader.runs(experiment.id)]
            self.progress("experiments", done, len(found), experiment.name)
        self._known_runs([target for target, _ in runs])
        models = self.reader.logged_models([e.id for e in found])
        targets = {run.id: target for target, run in runs}
        ordered = parents_first([run for _, run in runs])
        for done, run in enumerate(ordered, 1):
            target_id = targets[run.id]
            self._run(target_id, run, [m for m in models if m.run_id == run.id])
            self.progress("runs", done, len(runs), run.name)
        registered = self._registered_models()
        for done, model in enumerate(registered, 1):
            self._registered(model, wanted is None)
            self.progress("registered models", done, len(registered), model.name)

    def _registered_models(self) -> list[SourceModel]:
        """The store's registry, read from the store: MLflow's client adds a filter on prompt
        tags to every registry search, which the ``nbtrack:`` plugin does not take."""
        if self.registry is None:
            return self.reader.registered_models()
        found = []
        for model in self.registry.search_registered_models():
            versions = self.registry.search_model_versions(model["name"])
            found.append(
                SourceModel(
                    name=model["name"],
                    description=model["description"],
                    tags=_pairs(model["tags"]),
                    aliases={a["alias"]: int(a["version"]) for a in model["aliases"]},
                    versions=tuple(
                        SourceVersion(
                            version=int(v["version"]),
                            source=v["source"],
                            run_id=v["run_id"] or None,
                            model_id=None,
                            description=v["description"],
                            tags=_pairs(v["tags"]),
                        )
                        for v in versions
                    ),
                )
            )
        return found

    def _experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            self.summary.already["experiments"] += 1
            return str(found.experiment_id)
        self.summary.count("experiments")
        return str(self.client.create_experiment(name))

    def _known_runs(self, experiment_ids: list[str]) -> None:
        """The runs an earlier export wrote into the target, by the store's run id."""
        from mlflow.entities import ViewType

        found = pages(
            lambda token: self.client.search_runs(
                sorted(set(experiment_ids)) or ["0"],
                run_view_type=ViewType.ALL,
                max_results=PAGE,
                page_token=token,
            )
        )
        for run in found:
            source_id = run.data.tags.get(EXPORTED_TAG)
            if source_id:
                self.run_ids[source_id] = run.info.run_id

    def _run(self, experiment_id: str, run: SourceRun, models: list[SourceLoggedModel]) -> None:
        if run.id in self.run_ids:
            self.summary.already["runs"] += 1
            return
        if run.lifecycle_stage != "active" or run.status not in ("FINISHED", "FAILED", "KILLED"):
            self.summary.skip(f"run {run.id} ({run.name!r}): {run.status}, {run.lifecycle_stage}")
            return
        tags = dict(run.tags)
        parent = tags.get(mapping.PARENT_RUN_TAG)
        if parent is not None:
            tags[mapping.PARENT_RUN_TAG] = self.run_ids.get(parent, parent)
        tags[EXPORTED_TAG] = run.id
        created = self.client.create_run(
            experiment_id, start_time=run.start_time, tags=tags, run_name=run.name
        )
        new_id = created.info.run_id
        self.run_ids[run.id] = new_id
        self._data(new_id, run)
        self._artifacts(new_id, run, {m.name for m in models})
        for model in models:
            self._logged_model(experiment_id, new_id, model)
        self.client.set_terminated(new_id, run.status, run.end_time)
        self.summary.count("runs")

    def _data(self, new_id: str, run: SourceRun) -> None:
        from mlflow.entities import Metric, Param

        params = [Param(k, v) for k, v in run.params.items()]
        for start in range(0, len(params), _PARAMS):
            self.client.log_batch(new_id, params=params[start : start + _PARAMS])
        self.summary.count("params", len(params))
        for key in run.metric_keys:
            history = self.reader.metric_history(run, key)
            points = [Metric(key, value, at, step) for value, at, step in history]
            for start in range(0, len(points), _METRICS):
                self.client.log_batch(new_id, metrics=points[start : start + _METRICS])
            self.summary.count("metric points", len(points))

    def _artifacts(self, new_id: str, run: SourceRun, model_folders: set[str]) -> None:
        """The run's artifacts, but for the folders of its logged models: MLflow 3 keeps those
        with the logged model, which ``_logged_model`` writes."""
        with tempfile.TemporaryDirectory(prefix="nbtrack-export-") as scratch:
            self.reader.download_artifacts(run, Path(scratch))
            for top in sorted(Path(scratch).iterdir()):
                if top.name in model_folders:
                    continue
                files = [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
                if top.is_dir():
                    self.client.log_artifacts(new_id, str(top), top.name)
                else:
                    self.client.log_artifact(new_id, str(top))
                self.summary.count("artifact files", len(files))

    def _logged_model(self, experiment_id: str, run_id: str, model: SourceLoggedModel) -> None:
        created = self.client.create_logged_model(
            experiment_id,
            name=model.name,
            source_run_id=run_id,
            tags=model.tags or None,
            params=model.params or None,
            model_type=model.model_type or None,
        )
        with tempfile.TemporaryDirectory(prefix="nbtrack-export-") as scratch:
            self.reader.download_model(model, Path(scratch))
            self.client.log_model_artifacts(created.model_id, scratch)
        if model.status == "LOGGED_MODEL_READY":
            self.client.finalize_logged_model(created.model_id, "READY")
        if model.run_id:
            self.model_ids[(model.run_id, model.name)] = created.model_id
        self.summary.count("logged models")

    def _registered(self, model: SourceModel, every: bool) -> None:
        from mlflow.exceptions import MlflowException

        if not any(self._version_source(v.source, v.run_id)[0] for v in model.versions):
            if every:
                self.summary.skip(f"registered model {model.name!r}: none of its runs went out")
            return
        try:
            existing = {
                int(v.version)
                for v in self.client.search_model_versions(f"name = '{_quoted(model.name)}'")
            }
            self.client.get_registered_model(model.name)
            self.summary.already["registered models"] += 1
        except MlflowException:
            existing = set()
            self.client.create_registered_model(
                model.name, tags=model.tags or None, description=model.description or None
            )
            self.summary.count("registered models")
        numbers: dict[int, str] = {}
        for version in model.versions:
            if version.version in existing:
                numbers[version.version] = str(version.version)
                self.summary.already["model versions"] += 1
                continue
            source, run_id, model_id = self._version_source(version.source, version.run_id)
            if source is None:
                self.summary.skip(
                    f"model version {model.name}/{version.version}: its run was not exported"
                )
                continue
            created = self.client.create_model_version(
                model.name,
                source,
                run_id=run_id,
                tags=version.tags or None,
                description=version.description or None,
                model_id=model_id,
            )
            numbers[version.version] = str(created.version)
            if int(created.version) != version.version:
                self.summary.notes.append(
                    f"model version {model.name}/{version.version} is version "
                    f"{created.version} in the target"
                )
            self.summary.count("model versions")
        there = self.client.get_registered_model(model.name).aliases or {}
        for alias, number in model.aliases.items():
            if number in numbers and str(there.get(alias)) != numbers[number]:
                self.client.set_registered_model_alias(model.name, alias, numbers[number])
                self.summary.count("aliases")

    def _version_source(
        self, source: str, run_id: str | None
    ) -> tuple[str | None, str | None, str | None]:
        """The target's URI for a version's model: its logged model there, else its run's."""
        if not source.startswith("runs:/"):
            return None, None, None
        old_run, _, path = source[len("runs:/") :].partition("/")
        new_run = self.run_ids.get(old_run)
        if new_run is None:
            return None, None, None
        new_model = self.model_ids.get((old_run, path))
        if new_model is not None:
            return f"models:/{new_model}", new_run, new_model
        return f"runs:/{new_run}/{path}", new_run, None


def _pairs(pairs: list[dict[str, str]]) -> dict[str, str]:
    return {pair["key"]: pair["value"] for pair in pairs}


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")
