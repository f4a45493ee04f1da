"""``nbtrack mlflow import``: an MLflow tracking store's history, written into a nbtrack store.

Everything goes through the same doors as MLflow's client logging into nbtrack: runs through
``writer.RunWriter`` (the journal), logged models as ``logged_models`` records them, the
registry through ``registry_import``. A run keeps its MLflow id (and the tag
``nbtrack.mlflow.run_id`` says it came from MLflow), so a second import finds what it already
brought in and writes only what is new.

Left out, and said so in the summary: deleted experiments and runs, runs still RUNNING (import
again once they end), and anything whose id or name could not be stored as it is.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nbtrack import config
from nbtrack.entities import END_STATUSES, Experiment
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.mlflow_compat import mapping
from nbtrack.mlflow_compat.service import TrackingService
from nbtrack.mlflow_compat.sources import (
    Source,
    SourceExperiment,
    SourceLoggedModel,
    SourceRun,
    parents_first,
)
from nbtrack.mlflow_compat.summary import Progress, TransferSummary, no_progress
from nbtrack.mlflow_compat.writer import NewRun, RunWriter
from nbtrack.models.integrity import hash_files
from nbtrack.store import experiments as store_experiments
from nbtrack.store import payloads, runs, whole_runs
from nbtrack.tracking.artifact_paths import relative_parts
from nbtrack.tracking.run import artifact_folder

IMPORTED_TAG = "nbtrack.mlflow.run_id"
# MLflow's run ids are uuid4 hex; anything else would also name a folder, so it is refused.
_RUN_ID = re.compile(r"[0-9a-f]{32}")
_MODEL_ID = re.compile(r"m-[0-9a-f]{32}")
# Metric points per journal append: large enough to be quick, small enough to stay light.
_POINTS_PER_APPEND = 10_000


def import_mlflow(
    source: str | Path,
    experiments: Sequence[str] | str | None = None,
    progress: Progress = no_progress,
) -> TransferSummary:
    """Import the experiments, runs, artifacts, logged models and registry of an MLflow store.

    ``source`` is an ``mlruns`` folder, an SQLAlchemy URI such as ``sqlite:///mlflow.db``, or
    an ``http(s)://`` MLflow server; ``experiments`` limits it to some experiments (names or
    ids). Importing again writes only what is new.

    Examples
    --------
    >>> summary = nbtrack.import_mlflow("./mlruns")  # doctest: +SKIP
    >>> print(summary)  # doctest: +SKIP
    written: 2 experiments, 40 runs, 12,000 metric points, ...
    """
    wanted = [experiments] if isinstance(experiments, str) else experiments
    reader = open_source(str(source))
    service = TrackingService(config.resolve_store_path())
    summary = TransferSummary()
    chosen = _choose_experiments(reader, wanted, summary)
    importer = RunImporter(reader, service, summary, progress)
    importer.import_experiments(chosen)
    from nbtrack.mlflow_compat.registry_import import import_registry

    import_registry(reader, service, summary, progress, wanted is None)
    return summary


def open_source(uri: str) -> Source:
    """The reader for ``uri``: an ``mlruns`` folder (or ``file:`` URI), an SQLAlchemy URI such
    as ``sqlite:///mlflow.db``, or an ``http(s)://`` MLflow server."""
    if not isinstance(uri, str) or not uri:
        raise InvalidValueError(
            f"MLflow source {uri!r} is not accepted: give an mlruns folder, a database URI "
            "such as sqlite:///mlflow.db, or an http(s):// MLflow server"
        )
    if uri.startswith("file:") or "://" not in uri:
        from nbtrack.mlflow_compat.mlruns import MlrunsSource

        return MlrunsSource(Path(uri.removeprefix("file://").removeprefix("file:")))
    from nbtrack.mlflow_compat.client_source import ClientSource

    return ClientSource(uri)


def _choose_experiments(
    reader: Source, wanted: Sequence[str] | None, summary: TransferSummary
) -> list[SourceExperiment]:
    found = reader.experiments()
    if wanted is not None:
        known = {e.name for e in found} | {e.id for e in found}
        missing = [name for name in wanted if name not in known]
        if missing:
            raise NotFoundError(
                f"no experiment {', '.join(map(repr, missing))} in the MLflow store; it has "
                f"{', '.join(repr(e.name) for e in found) or 'no experiments'}"
            )
        found = [e for e in found if e.name in wanted or e.id in wanted]
    chosen = []
    for experiment in found:
        if experiment.lifecycle_stage != "active":
            summary.skip(f"experiment {experiment.name!r}: deleted in MLflow")
        else:
            chosen.append(experiment)
    return chosen


class RunImporter:
    """Experiments, their runs (with artifacts and logged models) from ``reader`` into the
    store of ``service``."""

    def __init__(
        self, reader: Source, service: TrackingService, summary: TransferSummary, progress: Progress
    ) -> None:
        self.reader = reader
        self.service = service
        self.store = service.store
        self.summary = summary
        self.progress = progress

    def import_experiments(self, chosen: Sequence[SourceExperiment]) -> None:
        targets: dict[str, Experiment] = {}
        here = {e.name for e in self.store.read(store_experiments.list_experiments, True)}
        for done, experiment in enumerate(chosen, 1):
            target = self.store.write(store_experiments.get_or_create_experiment, experiment.name)
            if target.deleted:
                self.summary.skip(
                    f"experiment {experiment.name!r}: deleted in this store (restore it first)"
                )
            else:
                targets[experiment.id] = target
                counter = self.summary.already if target.name in here else self.summary.imported
                counter["experiments"] += 1
            self.progress("experiments", done, len(chosen), experiment.name)
        candidates = [run for key in targets for run in self.reader.runs(key)]
        new_runs = self._new_runs(candidates)
        models = self._models_by_run(list(targets))
        for done, run in enumerate(new_runs, 1):
            self._import_run(run, targets[run.experiment_id], models.get(run.id, []))
            self.progress("runs", done, len(new_runs), run.name)

    def _new_runs(self, candidates: list[SourceRun]) -> list[SourceRun]:
        """The runs not imported yet, parents before their children."""
        imported = {
            value for _, _, value in self.store.read(whole_runs.tags_with_prefix, IMPORTED_TAG)
        }
        fresh = []
        for run in candidates:
            if run.id in imported:
                self.summary.already["runs"] += 1
            elif reason := _refusal(run):
                self.summary.skip(f"run {run.id} ({run.name!r}): {reason}")
            else:
                fresh.append(run)
        present = set(self.store.read(_existing, [run.id for run in fresh]))
        for run_id in present:
            self.summary.skip(
                f"run {run_id}: a run with this id is in the store but was not imported "
                "completely; delete it (nbtrack runs delete) and import again"
            )
        return parents_first([run for run in fresh if run.id not in present])

    def _models_by_run(self, experiment_ids: list[str]) -> dict[str, list[SourceLoggedModel]]:
        found: dict[str, list[SourceLoggedModel]] = defaultdict(list)
        for model in self.reader.logged_models(experiment_ids):
            if not _MODEL_ID.fullmatch(model.id):
                self.summary.skip(f"logged model {model.id!r}: not an MLflow logged model id")
            elif model.run_id:
                found[model.run_id].append(model)
            else:
                self.summary.skip(
                    f"logged model {model.id} ({model.name!r}): logged outside a run; nbtrack "
                    "keeps a logged model with the run that logged it"
                )
        return found

    def _import_run(
        self, run: SourceRun, experiment: Experiment, models: list[SourceLoggedModel]
    ) -> None:
        tags = run.tags
        start = run.start_time if run.start_time is not None else run.end_time or 0
        new = NewRun(
            experiment_id=experiment.id,
            name=run.name or run.id,
            user=run.user or tags.get(mapping.USER_TAG),
            start_ms=start,
            source_name=tags.get(mapping.SOURCE_NAME_TAG),
            git_commit=tags.get(mapping.GIT_COMMIT_TAG),
            parent_run_id=tags.get(mapping.PARENT_RUN_TAG),
            run_id=run.id,
        )
        writer = RunWriter.start(self.store, new, experiment.artifact_location)
        writer.log(params=run.params.items(), tags=tags.items())
        points = sum(self._import_metric(writer, run, key) for key in run.metric_keys)
        folder = artifact_folder(self.store, f"{experiment.artifact_location}/{run.id}/artifacts")
        self._import_artifacts(run, folder)
        experiment_id = self.service.experiments.id_out(experiment.id)
        for model in models:
            self._import_model(writer, model, folder, experiment_id)
        writer.log(tags=[(IMPORTED_TAG, run.id)])
        writer.end(run.status, run.end_time if run.end_time is not None else start)
        self.summary.count("runs")
        self.summary.count("params", len(run.params))
        self.summary.count("tags", len(tags))
        self.summary.count("metric points", points)

    def _import_metric(self, writer: RunWriter, run: SourceRun, key: str) -> int:
        history = self.reader.metric_history(run, key)
        for start in range(0, len(history), _POINTS_PER_APPEND):
            chunk = history[start : start + _POINTS_PER_APPEND]
            writer.log(metrics=[(key, value, at, step) for value, at, step in chunk])
        return len(history)

    def _import_artifacts(self, run: SourceRun, folder: Path) -> None:
        self.reader.download_artifacts(run, folder)
        files = [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []
        self.summary.count("artifact files", len(files))
        # A model MLflow 2 logged among a run's artifacts: its files' hashes are recorded as
        # nbtrack records its own, so load_model("runs:/...") and register_model accept it.
        for mlmodel in (path for path in files if path.name == "MLmodel"):
            relative = mlmodel.parent.relative_to(folder).as_posix()
            if relative != ".":
                self._record_model(run.id, relative, run.id, mlmodel.parent)

    def _import_model(
        self, writer: RunWriter, model: SourceLoggedModel, run_folder: Path, experiment_id: str
    ) -> None:
        name = model.name
        relative_parts(name, "logged model name")
        if (run_folder / name).exists():
            name = f"{model.name}-{model.id}"
            self.summary.notes.append(
                f"logged model {model.id}: its run already has an artifact {model.name!r}; "
                f"its files are under {name!r}"
            )
        folder = run_folder / name
        self.reader.download_model(model, folder)
        record = {
            "name": name,
            "experiment_id": experiment_id,
            "created": model.created,
            "updated": model.updated,
            "status": model.status,
            "model_type": model.model_type,
            "params": model.params,
            "tags": model.tags,
        }
        writer.log(tags=[(mapping.MODEL_TAG + model.id, json.dumps(record, sort_keys=True))])
        if (folder / "MLmodel").is_file():
            self._record_model(writer.run_id, name, model.id, folder)
        self.summary.count("logged models")

    def _record_model(self, run_id: str, path: str, model_id: str, folder: Path) -> None:
        self.store.write(payloads.record_model_payloads, run_id, path, model_id, hash_files(folder))


def _refusal(run: SourceRun) -> str | None:
    """Why ``run`` is not imported, if it is not."""
    if run.lifecycle_stage != "active":
        return "deleted in MLflow"
    if run.status not in END_STATUSES:
        return f"{run.status} in MLflow; import again once it has ended"
    if not _RUN_ID.fullmatch(run.id):
        return "its id is not an MLflow run id (32 hex digits)"
    return None


def _existing(con: Any, run_ids: Iterable[str]) -> list[str]:
    return [run_id for run_id in run_ids if runs.find_run(con, run_id) is not None]
