"""MLflow 3's logged models, kept as tags of the run that logged them.

``mlflow.<flavor>.log_model`` first creates a "logged model", writes the model's files to its
artifact location, then marks it READY. nbtrack has no table for them: each is one tag of its
run, ``nbtrack.mlflow.model.<model_id>``, holding its fields as JSON, and its files go to
``<run's artifacts>/<name>`` — where ``nbtrack.load_model("runs:/<run_id>/<name>")`` and
``nbtrack.register_model`` find a model. When it becomes READY, the files' SHA-256 are recorded
as for a model nbtrack saved itself, so nbtrack loads it after checking them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.mlflow_compat import mapping
from nbtrack.models.integrity import hash_files
from nbtrack.store import payloads, whole_runs
from nbtrack.tracking.artifact_paths import relative_parts

if TYPE_CHECKING:
    # Only a type here: the service imports this module when a run with models ends.
    from nbtrack.mlflow_compat.service import TrackingService

PENDING = "LOGGED_MODEL_PENDING"
READY = "LOGGED_MODEL_READY"
STATUSES = (PENDING, READY, "LOGGED_MODEL_UPLOAD_FAILED")


class LoggedModels:
    """Create, read, finalize and search logged models through a ``TrackingService``."""

    def __init__(self, tracking: TrackingService) -> None:
        self.tracking = tracking
        self.store = tracking.store

    def create(
        self,
        experiment_id: str,
        name: str | None,
        source_run_id: str | None,
        params: Iterable[tuple[str, str]] = (),
        tags: Iterable[tuple[str, str]] = (),
        model_type: str | None = None,
    ) -> dict[str, Any]:
        if not source_run_id:
            raise InvalidValueError(
                "nbtrack keeps a logged model with the run that logged it: log the model "
                "inside a run (mlflow.start_run())"
            )
        name = name or "model"
        relative_parts(name, "logged model name")
        now = int(time.time() * 1000)
        record = {
            "name": name,
            "experiment_id": experiment_id,
            "created": now,
            "updated": now,
            "status": PENDING,
            "model_type": model_type or "",
            "params": dict(params),
            "tags": dict(tags),
        }
        model_id = f"m-{uuid.uuid4().hex}"
        self._save(source_run_id, model_id, record)
        self.tracking.models_pending.add(source_run_id)
        return self.get(model_id)

    def _save(self, run_id: str, model_id: str, record: dict[str, Any]) -> None:
        self.tracking.writer(run_id).log(
            tags=[(mapping.MODEL_TAG + model_id, json.dumps(record, sort_keys=True))]
        )

    def _find(self, model_id: str) -> tuple[str, dict[str, Any]]:
        if not isinstance(model_id, str) or not model_id.startswith("m-"):
            raise NotFoundError(f"Logged model with ID '{model_id}' not found.")
        found = self.store.read(whole_runs.tagged_runs, mapping.MODEL_TAG + model_id)
        if not found:
            raise NotFoundError(f"Logged model with ID '{model_id}' not found.")
        return found[0]

    def get(self, model_id: str) -> dict[str, Any]:
        run_id, record = self._find(model_id)
        return self._json(model_id, run_id, record)

    def _json(self, model_id: str, run_id: str, record: dict[str, Any]) -> dict[str, Any]:
        run_folder = self.tracking.run_artifact_folder(run_id)
        relative = run_folder.relative_to(self.store.folder.resolve()).as_posix()
        location = self.tracking.artifact_uri(self.store.folder, relative) + "/" + record["name"]
        return {
            "info": {
                "model_id": model_id,
                "experiment_id": record["experiment_id"],
                "name": record["name"],
                "creation_timestamp_ms": record["created"],
                "last_updated_timestamp_ms": record["updated"],
                "artifact_uri": location,
                "status": record["status"],
                "model_type": record["model_type"],
                "source_run_id": run_id,
                "tags": mapping.key_values(record["tags"]),
            },
            "data": {"params": mapping.key_values(record["params"]), "metrics": []},
        }

    def finalize(self, model_id: str, status: str) -> dict[str, Any]:
        if status not in STATUSES:
            raise InvalidValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        run_id, record = self._find(model_id)
        if status == READY:
            folder = self.tracking.run_artifact_folder(run_id) / record["name"]
            if not (folder / "MLmodel").is_file():
                # Files this process cannot read (a client of nbtrack+http(s):// uploaded them
                # to the server): it stays PENDING until the server, which holds them, records
                # their hashes when the model is registered.
                return self._json(model_id, run_id, record)
            self._record_hashes(run_id, record["name"], model_id, folder)
        record.update(status=status, updated=int(time.time() * 1000))
        self._save(run_id, model_id, record)
        return self._json(model_id, run_id, record)

    def record_pending(self, run_id: str) -> None:
        """Mark READY, with their files' hashes recorded, the models of ``run_id`` still
        PENDING whose files are in place. MLflow 3's ``log_model`` writes a model's files
        without finalizing it; the run's end (or registering it) is when they are complete."""
        self.tracking.models_pending.discard(run_id)
        found = self.store.read(whole_runs.tags_with_prefix, mapping.MODEL_TAG, [run_id])
        for _, key, value in found:
            record = json.loads(value)
            folder = self.tracking.run_artifact_folder(run_id) / record["name"]
            if record["status"] == PENDING and (folder / "MLmodel").is_file():
                self.finalize(key[len(mapping.MODEL_TAG) :], READY)

    def _record_hashes(self, run_id: str, name: str, model_id: str, folder: Path) -> None:
        # What nbtrack's load_model and register_model check before unpickling anything.
        if folder.is_dir():
            self.store.write(
                payloads.record_model_payloads, run_id, name, model_id, hash_files(folder)
            )

    def set_tags(self, model_id: str, tags: Iterable[tuple[str, str]]) -> None:
        run_id, record = self._find(model_id)
        record["tags"].update(tags)
        self._save(run_id, model_id, record)

    def search(self, experiment_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Every logged model of the runs of ``experiment_ids``, newest first."""
        wanted = {str(e) for e in experiment_ids}
        found = self.store.read(whole_runs.tags_with_prefix, mapping.MODEL_TAG)
        models = []
        for run_id, key, value in found:
            record = json.loads(value)
            if not wanted or record["experiment_id"] in wanted:
                models.append(self._json(key[len(mapping.MODEL_TAG) :], run_id, record))
        models.sort(key=lambda m: m["info"]["creation_timestamp_ms"], reverse=True)
        return models

    def log_outputs(self, run_id: str, models: Iterable[tuple[str, int]]) -> None:
        """Note the step at which a run produced each model (MLflow's ``log_outputs``)."""
        for model_id, step in models:
            owner, record = self._find(model_id)
            if owner != run_id:
                raise InvalidValueError(
                    f"logged model {model_id} was logged by run {owner}, not run {run_id}"
                )
            record["step"] = step
            self._save(run_id, model_id, record)
