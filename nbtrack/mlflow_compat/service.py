"""MLflow's tracking operations on one nbtrack store, answering with MLflow's JSON shapes.

The ``nbtrack:`` plugin and ``nbtrack server`` both call this class: one place decides what
MLflow's ``create_run``, ``log_batch``, ``search_runs``, ... mean in nbtrack. Writes go to
this process's journal (``writer.RunWriter``); reads are the store's short-lived reads, which
first take in what any process has logged. Experiments live in ``experiments.py``, logged
models in ``logged_models.py``.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from nbtrack.entities import RUNNING
from nbtrack.errors import InvalidValueError, ServerUnreachableError
from nbtrack.mlflow_compat import mapping
from nbtrack.mlflow_compat.experiments import Experiments
from nbtrack.mlflow_compat.paging import VIEW_TYPES, offset_of, token_for
from nbtrack.mlflow_compat.run_mirror import RunMirror
from nbtrack.mlflow_compat.writer import NewRun, RunWriter, checked_millis
from nbtrack.store import mlflow_ops, runs, whole_runs
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.store.store import Store, get_store
from nbtrack.store.whole_runs import FullRun
from nbtrack.tracking.artifact_files import run_files
from nbtrack.tracking.artifact_paths import relative_parts
from nbtrack.tracking.filters import compile_filter, compile_order_by
from nbtrack.tracking.validation import check_name

# MLflow's limits: a page of runs, and what one log-batch may carry.
MAX_RESULTS = 50_000
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
# The generation of a copy kept for offline answers only: no store ever counts -1 changes.
_OFFLINE_ONLY = -1

# How a run's artifact folder (relative to the store's folder) is named to a client: a file
# path for the plugin, an ``mlflow-artifacts:/`` URI for the server's proxy.
ArtifactUri = Callable[[Path, str], str]


def local_artifact_uri(folder: Path, relative: str) -> str:
    # Resolving stats every component of the path, for every run handed out: the folder that
    # holds the run folders is resolved once. What follows it, "<run id>/artifacts", is made
    # by nbtrack and is never a link; any other shape is resolved whole.
    head, run_id, last = ["", "", "", *relative.rsplit("/", 2)][-3:]
    if last != "artifacts" or not head or run_id in ("", ".", ".."):
        return str((folder / relative).resolve())
    return f"{_resolved(folder, head)}/{run_id}/artifacts"


@functools.lru_cache(maxsize=1024)
def _resolved(folder: Path, relative: str) -> str:
    return str((folder / relative).resolve())


def proxied_artifact_uri(folder: Path, relative: str) -> str:
    return "mlflow-artifacts:/" + relative.removeprefix(ARTIFACTS_FOLDER + "/")


class TrackingService:
    """MLflow's tracking API over a store: the file at a path, or a given ``Store`` (a
    server's ``RemoteStore``, for ``nbtrack+http://``)."""

    def __init__(
        self,
        target: Path | Store,
        artifact_uri: ArtifactUri = local_artifact_uri,
        mirror_runs: bool = False,
        offline_copies: bool = False,
    ) -> None:
        self.store: Store = target if isinstance(target, Store) else get_store(target)
        # Whether runs/get may answer from the runs this process wrote (``RunMirror``): only
        # where every journal line of this process comes through this service, as in
        # ``nbtrack server``; a notebook using the plugin may also log through nbtrack's API.
        self.mirror_runs = mirror_runs
        # Over nbtrack+http://: a copy of each run this process creates, kept by its writes,
        # answers runs/get only while the server does not (MLflow's client reads a run for its
        # artifact URI before it logs a file).
        self.offline_copies = offline_copies
        self.artifact_uri = artifact_uri
        self.experiments = Experiments(self.store, artifact_uri)
        self._writers: dict[str, RunWriter] = {}
        # Runs this process logged MLflow 3 models in: their end completes the models.
        self.models_pending: set[str] = set()
        self._lock = threading.Lock()

    # -- runs -----------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str | None = None,
        start_time: int | None = None,
        tags: Iterable[tuple[str, str]] = (),
        run_name: str | None = None,
    ) -> dict[str, Any]:
        experiment = self.experiments.for_runs(experiment_id)
        tag_map = dict(tags)
        name = run_name or tag_map.get(mapping.RUN_NAME_TAG) or _generated_name()
        check_name(name, "run_name")
        new = NewRun(
            experiment_id=experiment.id,
            name=name,
            user=user_id or tag_map.get(mapping.USER_TAG),
            start_ms=int(time.time() * 1000) if start_time is None else start_time,
            source_name=tag_map.get(mapping.SOURCE_NAME_TAG),
            git_commit=tag_map.get(mapping.GIT_COMMIT_TAG),
            parent_run_id=tag_map.get(mapping.PARENT_RUN_TAG),
        )
        generation = self.store.changes_outside_journal() if self.mirror_runs else None
        tag_map[mapping.RUN_NAME_TAG] = name
        writer = RunWriter.start(self.store, new, experiment.artifact_location, tag_map.items())
        assert writer.created is not None
        if generation is not None or self.offline_copies:
            writer.mirror = RunMirror(
                FullRun(writer.created, "active", {}, []),
                _OFFLINE_ONLY if generation is None else generation,
            )
        with self._lock:
            self._writers[writer.run_id] = writer
        # Answered from what was just written: the start is in the journal, not yet read back.
        return self._run_json(FullRun(writer.created, "active", {}, []))

    def get_run(self, run_id: str) -> dict[str, Any]:
        run_id = self._run_id(run_id)
        writer = self._writers.get(run_id)
        generation = self.store.changes_outside_journal() if self.mirror_runs else None
        mirrored = self._mirrored(writer, generation)
        if mirrored is not None:
            return mirrored
        writes = writer.writes if writer is not None else 0
        try:
            full = self.store.read(whole_runs.full_run, run_id)
        except ServerUnreachableError:
            if writer is None or writer.mirror is None or not self.offline_copies:
                raise
            return self._run_json(writer.mirror.full())
        # Mirrored only if no write of this process's raced the read.
        if writer is not None and generation is not None and writer.writes == writes:
            writer.mirror = RunMirror(full, generation)
        return self._run_json(full)

    def run_from_memory(self, run_id: object) -> dict[str, Any] | None:
        """``get_run``'s answer if it can be given without the store, else None."""
        if not self.mirror_runs or not isinstance(run_id, str):
            return None
        writer = self._writers.get(run_id)
        if writer is None or writer.mirror is None:
            return None
        return self._mirrored(writer, self.store.changes_outside_journal())

    def _mirrored(self, writer: RunWriter | None, generation: int | None) -> dict[str, Any] | None:
        mirror = writer.mirror if writer is not None else None
        if mirror is not None and generation is not None and mirror.generation == generation:
            return self._run_json(mirror.full())
        return None

    def owns(self, run_id: object) -> bool:
        """Whether logging to (or ending) ``run_id`` needs no read or write of the store: this
        process writes the run and has no models of it to complete."""
        return run_id in self._writers and run_id not in self.models_pending

    def _run_json(self, full: FullRun) -> dict[str, Any]:
        experiment_id = self.experiments.id_out(full.run.experiment_id)
        return mapping.run_json(
            full, self.artifact_uri(self.store.folder, full.run.artifact_uri), experiment_id
        )

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> dict[str, Any]:
        run_id = self._run_id(run_id)
        if run_name:
            self.store.write(runs.rename_run, run_id, check_name(run_name, "run_name"))
        if status is not None and status != RUNNING:
            if run_id in self.models_pending:
                from nbtrack.mlflow_compat.logged_models import LoggedModels

                LoggedModels(self).record_pending(run_id)
            end_ms = int(time.time() * 1000) if end_time is None else end_time
            writer = self._writers.get(run_id)
            if writer is not None:
                writer.end(status, end_ms)
            else:
                # Ended by a process that does not own it: the journal's end would not count.
                self.store.write(
                    whole_runs.end_run,
                    run_id,
                    _status(status),
                    checked_millis(end_ms, "end_time") * 1000,
                )
        writer = self._writers.get(run_id)
        if writer is not None and writer.created is not None and not run_name:
            full = FullRun(writer.created, "active", {}, [])
        else:
            full = self.store.read(whole_runs.full_run, run_id)
        return mapping.run_info_json(
            full,
            self.artifact_uri(self.store.folder, full.run.artifact_uri),
            self.experiments.id_out(full.run.experiment_id),
        )

    def delete_run(self, run_id: str) -> None:
        self._set_stage(run_id, "deleted")

    def restore_run(self, run_id: str) -> None:
        self._set_stage(run_id, "active")

    def _set_stage(self, run_id: str, stage: str) -> None:
        run_id = self._run_id(run_id)
        self.store.write_stages(runs.set_run_stage, run_id, stage)
        with self._lock:
            self._writers.pop(run_id, None)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: str = "ACTIVE_ONLY",
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of runs, and the token of the next page (None after the last)."""
        if (
            isinstance(max_results, bool)
            or not isinstance(max_results, int)
            or not (0 < max_results <= MAX_RESULTS)
        ):
            raise InvalidValueError(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be "
                f"a positive integer at most {MAX_RESULTS}"
            )
        stage = VIEW_TYPES.get(run_view_type)
        if stage is None:
            raise InvalidValueError(
                f"run_view_type {run_view_type!r} is not one of {', '.join(VIEW_TYPES)}"
            )
        where = compile_filter(filter_string)
        order = compile_order_by(list(order_by or []))
        offset = offset_of(page_token)

        found = self.store.read(
            mlflow_ops.page_of_full_runs, list(experiment_ids),
            ((where.sql, where.params), (order.sql, order.params)), stage,
            (offset, max_results + 1), self._artifacts_root(),
        )  # fmt: skip
        more = len(found) > max_results
        page = [self._run_json(full) for full in found[:max_results]]
        return page, (token_for(offset + max_results) if more else None)

    # -- logging --------------------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[tuple[Any, Any, Any, Any]] = (),
        params: Sequence[tuple[Any, Any]] = (),
        tags: Sequence[tuple[Any, Any]] = (),
    ) -> None:
        """Metrics as (key, value, timestamp ms, step); params and tags as (key, value)."""
        _check_batch(len(metrics), len(params), len(tags))
        writer = self.writer(run_id)
        tag_list = list(tags)
        writer.log(metrics, params, tag_list)
        for key, value in tag_list:
            if key == mapping.RUN_NAME_TAG:
                self.store.write(runs.rename_run, writer.run_id, check_name(value, "run name"))
                if writer.created is not None:
                    writer.created = dataclasses.replace(writer.created, name=value)

    def log_inputs(self, run_id: str, datasets: Sequence[dict[str, Any]]) -> None:
        self.writer(run_id).log(tags=[mapping.input_tag(item) for item in datasets])

    def delete_tag(self, run_id: str, key: str) -> None:
        run_id = self._run_id(run_id)
        self._active_writer(run_id)
        self.store.write(whole_runs.delete_tag, run_id, key)

    def get_metric_history(self, run_id: str, key: str) -> list[dict[str, Any]]:
        points = self.store.read(whole_runs.metric_points, self._run_id(run_id), key)
        return [mapping.metric_json(key, value, at, step) for value, at, step in points]

    def writer(self, run_id: str) -> RunWriter:
        """The writer of a run that can be logged to: active, in an active experiment."""
        return self._active_writer(self._run_id(run_id))

    def _active_writer(self, run_id: str) -> RunWriter:
        writer = self._writers.get(run_id)
        if writer is not None:
            return writer
        full, last_seq = self.store.read(mlflow_ops.loggable_state, run_id)
        if full.lifecycle_stage != "active":
            raise InvalidValueError(
                f"The run {run_id} must be in the 'active' state. Current state is "
                f"{full.lifecycle_stage}."
            )
        writer = RunWriter(self.store, run_id, full.params_text, last_seq)
        with self._lock:
            return self._writers.setdefault(run_id, writer)

    # -- artifacts ------------------------------------------------------------------------------

    def run_artifact_folder(self, run_id: str) -> Path:
        from nbtrack.tracking.run import artifact_folder

        run = self.store.read(runs.get_run, self._run_id(run_id))
        return artifact_folder(self.store, run.artifact_uri)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[dict[str, Any]]:
        """What is directly under ``path`` of a run's artifacts, as MLflow's ``FileInfo``, read
        where the run's files are kept (its folder, or the server's destination)."""
        run = self.store.read(runs.get_run, self._run_id(run_id))
        parts = relative_parts(path, "path") if path else ()
        listed = run_files(self.store, run.artifact_uri).listing(parts)
        return [{**entry, "path": "/".join((*parts, entry["path"]))} for entry in listed]

    def _artifacts_root(self) -> str:
        # The store's artifact folder as clients see it: what stands before "/<experiment>/..."
        # in every artifact URI this service hands out.
        return self.artifact_uri(self.store.folder, ARTIFACTS_FOLDER + "/").rstrip("/")

    @staticmethod
    def _run_id(run_id: object) -> str:
        if not isinstance(run_id, str) or not run_id:
            raise InvalidValueError(f"Invalid value {run_id!r} for parameter 'run_id' supplied")
        return run_id


def _status(status: str) -> str:
    from nbtrack.entities import END_STATUSES

    if status not in END_STATUSES:
        raise InvalidValueError(f"status {status!r} is not one of {', '.join(END_STATUSES)}")
    return status


def _check_batch(metrics: int, params: int, tags: int) -> None:
    limits = (
        ("metrics", metrics, MAX_METRICS_PER_BATCH),
        ("params", params, MAX_PARAMS_PER_BATCH),
        ("tags", tags, MAX_TAGS_PER_BATCH),
    )
    for what, count, limit in limits:
        if count > limit:
            raise InvalidValueError(
                f"A batch logging request can contain at most {limit} {what}. Got {count} "
                f"{what}. Please split up {what} across multiple requests and try again."
            )
    if metrics + params + tags > MAX_ENTITIES_PER_BATCH:
        raise InvalidValueError(
            f"A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} metrics, "
            f"params and tags in total. Got {metrics + params + tags}."
        )


def _generated_name() -> str:
    from nbtrack.tracking.capture import run_name

    return run_name()
