"""The one mapping between MLflow's entities and nbtrack's, as the JSON of MLflow's REST API.

The plugin turns these dicts into MLflow's entity objects (through MLflow's own protobuf
messages); the server sends them as they are. So both speak exactly the same shapes:

- ids: run ids are the same (uuid4 hex); experiment ids are nbtrack's, except that the
  experiment named ``Default`` is ``"0"``, the id MLflow's client uses when none is set.
- times: MLflow's milliseconds; nbtrack keeps microseconds (``* 1000`` in, ``// 1000`` out).
- ``mlflow.*`` tags: ``mlflow.runName``, ``mlflow.user``, ``mlflow.source.name``,
  ``mlflow.source.git.commit`` and ``mlflow.parentRunId`` are columns of a nbtrack run and tags
  of an MLflow one; nbtrack's cell source becomes ``nbtrack.source``.
- what MLflow logs that nbtrack has no table for (dataset inputs, logged models) is kept as
  tags under ``nbtrack.mlflow.``, so it stays in the store, visible to SQL, and comes back.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from nbtrack.entities import Experiment, ModelVersion, RegisteredModel, Run
from nbtrack.store import mlflow_ops
from nbtrack.store.whole_runs import FullRun

# MLflow's "0" is nbtrack's experiment named Default (the store's operations know it too).
DEFAULT_EXPERIMENT = mlflow_ops.DEFAULT_EXPERIMENT
DEFAULT_EXPERIMENT_ID = mlflow_ops.DEFAULT_EXPERIMENT_ID

RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
SOURCE_NAME_TAG = "mlflow.source.name"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
PARENT_RUN_TAG = "mlflow.parentRunId"
SOURCE_TAG = "nbtrack.source"
# A run's dataset inputs and logged models, one tag each, JSON in the value.
INPUT_TAG = "nbtrack.mlflow.input."
MODEL_TAG = "nbtrack.mlflow.model."
# A model version's stage (MLflow's deprecated stages, kept for the clients that still move
# versions between them): a version tag, shown as ``current_stage``, not as a tag.
STAGE_TAG = "nbtrack.mlflow.stage"
STAGES = ("None", "Staging", "Production", "Archived")
# What a tag of the source can hold in MLflow (its tag values are at most 8,000 characters).
_SOURCE_TAG_CHARS = 8000

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_FLOAT_TEXT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def experiment_id_out(experiment: Experiment) -> str:
    return DEFAULT_EXPERIMENT_ID if experiment.name == DEFAULT_EXPERIMENT else experiment.id


def millis(micros: int | None) -> int | None:
    return None if micros is None else micros // 1000


def micros_of(moment: Any) -> int | None:
    """Microseconds since the epoch of an aware datetime (None stays None)."""
    if moment is None:
        return None
    return int((moment - _EPOCH) // dt.timedelta(microseconds=1))


def number_out(value: float) -> float | str:
    """A double as protobuf's JSON writes it: NaN and the infinities as text."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def number_in(value: object) -> object:
    """A double from protobuf's JSON: ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` as floats."""
    if isinstance(value, str) and value in _FLOAT_TEXT:
        return _FLOAT_TEXT[value]
    return value


def key_values(pairs: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in pairs.items()]


def experiment_json(
    experiment: Experiment, artifact_location: str, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    created = micros_of(experiment.created_at) or 0
    return {
        "experiment_id": experiment_id_out(experiment),
        "name": experiment.name,
        "artifact_location": artifact_location,
        "lifecycle_stage": experiment.lifecycle_stage,
        "creation_time": created // 1000,
        "last_update_time": created // 1000,
        "tags": key_values(tags or {}),
    }


def run_tags(run: Run) -> dict[str, str]:
    """A run's tags as MLflow shows them: its own, and the columns MLflow keeps as tags."""
    tags = {key: value for key, value in run.tags.items() if not _is_record_tag(key)}
    derived = {
        USER_TAG: run.user,
        SOURCE_NAME_TAG: run.source_name,
        GIT_COMMIT_TAG: run.git_commit,
        PARENT_RUN_TAG: run.parent_run_id,
        SOURCE_TAG: None if run.source is None else run.source[:_SOURCE_TAG_CHARS],
    }
    for key, value in derived.items():
        if value is not None and key not in tags:
            tags[key] = value
    # The run's name is its column: renaming a run (update_run) renames the tag too.
    tags[RUN_NAME_TAG] = run.name
    return tags


def _is_record_tag(key: str) -> bool:
    return key.startswith((INPUT_TAG, MODEL_TAG))


def run_info_json(full: FullRun, artifact_uri: str, experiment_id: str) -> dict[str, Any]:
    run = full.run
    return {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": experiment_id,
        "user_id": run.user or "unknown",
        "status": run.status,
        "start_time": millis(micros_of(run.start_time)),
        "end_time": millis(micros_of(run.end_time)),
        "artifact_uri": artifact_uri,
        "lifecycle_stage": full.lifecycle_stage,
    }


def run_json(full: FullRun, artifact_uri: str, experiment_id: str) -> dict[str, Any]:
    """A run as MLflow's ``Run`` message: info, data (latest metrics, params, tags), inputs
    and outputs."""
    run = full.run
    metrics = [
        {"key": key, "value": number_out(value), "timestamp": timestamp // 1000, "step": step}
        for key, value, timestamp, step in full.latest
    ]
    inputs = [
        json.loads(value) for key, value in sorted(run.tags.items()) if key.startswith(INPUT_TAG)
    ]
    models = [
        {"model_id": key[len(MODEL_TAG) :], "step": json.loads(value).get("step", 0)}
        for key, value in sorted(run.tags.items())
        if key.startswith(MODEL_TAG)
    ]
    return {
        "info": run_info_json(full, artifact_uri, experiment_id),
        "data": {
            "metrics": metrics,
            "params": key_values(full.params_text),
            "tags": key_values(run_tags(run)),
        },
        "inputs": {"dataset_inputs": inputs},
        "outputs": {"model_outputs": models},
    }


def metric_json(key: str, value: float, timestamp_us: int, step: int) -> dict[str, Any]:
    return {"key": key, "value": number_out(value), "timestamp": timestamp_us // 1000, "step": step}


def input_tag(dataset_input: dict[str, Any]) -> tuple[str, str]:
    """The tag that keeps one dataset input: keyed by the dataset's name and digest."""
    dataset = dataset_input.get("dataset") or {}
    ident = f"{dataset.get('name', '')}-{dataset.get('digest', '')}"[:200]
    return INPUT_TAG + ident, json.dumps(dataset_input, sort_keys=True)


def model_version_json(version: ModelVersion, run_link: str = "") -> dict[str, Any]:
    created = (micros_of(version.created_at) or 0) // 1000
    return {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": created,
        "last_updated_timestamp": created,
        "description": version.description or "",
        "source": version.source,
        "run_id": version.run_id or "",
        "run_link": run_link,
        "status": "READY",
        "current_stage": current_stage(version),
        "tags": key_values({k: v for k, v in version.tags.items() if k != STAGE_TAG}),
        "aliases": list(version.aliases),
    }


def current_stage(version: ModelVersion) -> str:
    """The stage MLflow's client sees: the one set last, else Archived for an archived one."""
    return version.tags.get(STAGE_TAG) or ("Archived" if version.status == "ARCHIVED" else "None")


def registered_model_json(
    model: RegisteredModel, latest: ModelVersion | None = None
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": model.name,
        "creation_timestamp": (micros_of(model.created_at) or 0) // 1000,
        "last_updated_timestamp": (micros_of(model.updated_at) or 0) // 1000,
        "description": model.description or "",
        "tags": key_values(model.tags),
        "aliases": [
            {"alias": alias, "version": str(version)}
            for alias, version in sorted(model.aliases.items())
        ],
    }
    if latest is not None:
        found["latest_versions"] = [model_version_json(latest)]
    return found
