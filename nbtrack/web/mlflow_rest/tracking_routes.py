"""MLflow's tracking endpoints (``mlflow/protos/service.proto``): each a function from the
request's fields to the response's JSON, over ``mlflow_compat``'s services."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nbtrack.errors import InvalidValueError
from nbtrack.mlflow_compat.logged_models import LoggedModels
from nbtrack.mlflow_compat.service import TrackingService
from nbtrack.web.mlflow_rest.fields import Fields

Handler = Callable[[TrackingService, Fields], dict[str, Any]]


def create_experiment(service: TrackingService, f: Fields) -> dict[str, Any]:
    name = f.required_text("name")
    location = f.text("artifact_location")
    return {"experiment_id": service.experiments.create(name, location, f.key_values("tags"))}


def get_experiment(service: TrackingService, f: Fields) -> dict[str, Any]:
    return {"experiment": service.experiments.get(f.required_text("experiment_id"))}


def get_experiment_by_name(service: TrackingService, f: Fields) -> dict[str, Any]:
    return {"experiment": service.experiments.get_by_name(f.required_text("experiment_name"))}


def search_experiments(service: TrackingService, f: Fields) -> dict[str, Any]:
    found, token = service.experiments.search(
        f.text("view_type") or "ACTIVE_ONLY",
        f.integer("max_results") or 1000,
        f.text("filter"),
        f.text("page_token"),
    )
    return {"experiments": found, **({"next_page_token": token} if token else {})}


def update_experiment(service: TrackingService, f: Fields) -> dict[str, Any]:
    service.experiments.rename(f.required_text("experiment_id"), f.required_text("new_name"))
    return {}


def delete_experiment(service: TrackingService, f: Fields) -> dict[str, Any]:
    service.experiments.set_stage(f.required_text("experiment_id"), "deleted")
    return {}


def restore_experiment(service: TrackingService, f: Fields) -> dict[str, Any]:
    service.experiments.set_stage(f.required_text("experiment_id"), "active")
    return {}


def set_experiment_tag(service: TrackingService, f: Fields) -> dict[str, Any]:
    experiment_id = f.required_text("experiment_id")
    service.experiments.set_tag(experiment_id, f.required_text("key"), f.text("value") or "")
    return {}


def delete_experiment_tag(service: TrackingService, f: Fields) -> dict[str, Any]:
    experiment_id = f.required_text("experiment_id")
    service.experiments.delete_tag(experiment_id, f.required_text("key"))
    return {}


def create_run(service: TrackingService, f: Fields) -> dict[str, Any]:
    run = service.create_run(
        f.text("experiment_id") or "0",
        f.text("user_id"),
        f.integer("start_time"),
        f.key_values("tags"),
        f.text("run_name"),
    )
    return {"run": run}


def update_run(service: TrackingService, f: Fields) -> dict[str, Any]:
    info = service.update_run(
        f.required_text("run_id", "run_uuid"),
        f.text("status"),
        f.integer("end_time"),
        f.text("run_name"),
    )
    return {"run_info": info}


def get_run(service: TrackingService, f: Fields) -> dict[str, Any]:
    return {"run": service.get_run(f.required_text("run_id", "run_uuid"))}


def delete_run(service: TrackingService, f: Fields) -> dict[str, Any]:
    service.delete_run(f.required_text("run_id"))
    return {}


def restore_run(service: TrackingService, f: Fields) -> dict[str, Any]:
    service.restore_run(f.required_text("run_id"))
    return {}


def search_runs(service: TrackingService, f: Fields) -> dict[str, Any]:
    order_by = [item for item in f.items("order_by") if isinstance(item, str)]
    found, token = service.search_runs(
        [str(e) for e in f.items("experiment_ids")],
        f.text("filter"),
        f.text("run_view_type") or "ACTIVE_ONLY",
        1000 if f.integer("max_results") is None else f.integer("max_results"),  # type: ignore[arg-type]
        order_by,
        f.text("page_token"),
    )
    return {"runs": found, **({"next_page_token": token} if token else {})}


def log_metric(service: TrackingService, f: Fields) -> dict[str, Any]:
    run_id = f.required_text("run_id", "run_uuid")
    metric = (f.required_text("key"), f.number("value"), f.integer("timestamp", True),
              f.integer("step") or 0)  # fmt: skip
    service.writer(run_id).log(metrics=(metric,))
    return {}


def log_param(service: TrackingService, f: Fields) -> dict[str, Any]:
    run_id = f.required_text("run_id", "run_uuid")
    service.log_batch(run_id, params=[(f.required_text("key"), f.text("value") or "")])
    return {}


def set_tag(service: TrackingService, f: Fields) -> dict[str, Any]:
    run_id = f.required_text("run_id", "run_uuid")
    key = f.required_text("key")
    service.log_batch(run_id, tags=[(key, f.text("value") or "")])
    return {}


def delete_tag(service: TrackingService, f: Fields) -> dict[str, Any]:
    service.delete_tag(f.required_text("run_id"), f.required_text("key"))
    return {}


def log_batch(service: TrackingService, f: Fields) -> dict[str, Any]:
    run_id = f.required_text("run_id")
    metrics = []
    for item in f.items("metrics"):
        if not isinstance(item, dict) or "timestamp" not in item:
            raise InvalidValueError(
                f"Invalid value {_compact(f.values['metrics'])} for parameter 'metrics' supplied."
            )
        inner = Fields(item)
        metrics.append((inner.required_text("key"), inner.number("value"),
                        inner.integer("timestamp", True), inner.integer("step") or 0))  # fmt: skip
    service.log_batch(run_id, metrics, f.key_values("params"), f.key_values("tags"))
    return {}


def log_inputs(service: TrackingService, f: Fields) -> dict[str, Any]:
    run_id = f.required_text("run_id")
    if "datasets" not in f.values:
        raise InvalidValueError("Missing value for required parameter 'datasets'.")
    datasets = [item for item in f.items("datasets") if isinstance(item, dict)]
    service.log_inputs(run_id, datasets)
    return {}


def get_metric_history(service: TrackingService, f: Fields) -> dict[str, Any]:
    run_id = f.required_text("run_id", "run_uuid")
    return {"metrics": service.get_metric_history(run_id, f.required_text("metric_key"))}


def list_artifacts(service: TrackingService, f: Fields) -> dict[str, Any]:
    run_id = f.required_text("run_id", "run_uuid")
    files = service.list_artifacts(run_id, f.text("path"))
    return {"root_uri": service.get_run(run_id)["info"]["artifact_uri"], "files": files}


def server_info(service: TrackingService, f: Fields) -> dict[str, Any]:
    return {
        "store_type": None,
        "workspaces_enabled": False,
        "trace_archival_enabled": False,
        "multipart_uploads_enabled": False,
        "multipart_downloads_enabled": False,
        "features_enabled": {"gateway": False},
    }


# -- logged models ------------------------------------------------------------------------------


def create_logged_model(service: TrackingService, f: Fields) -> dict[str, Any]:
    found = LoggedModels(service).create(
        f.required_text("experiment_id"), f.text("name"), f.text("source_run_id"),
        f.key_values("params"), f.key_values("tags"), f.text("model_type"),
    )  # fmt: skip
    return {"model": found}


def get_logged_model(service: TrackingService, f: Fields) -> dict[str, Any]:
    return {"model": LoggedModels(service).get(f.required_text("model_id"))}


def finalize_logged_model(service: TrackingService, f: Fields) -> dict[str, Any]:
    models = LoggedModels(service)
    return {"model": models.finalize(f.required_text("model_id"), f.required_text("status"))}


def set_logged_model_tags(service: TrackingService, f: Fields) -> dict[str, Any]:
    LoggedModels(service).set_tags(f.required_text("model_id"), f.key_values("tags"))
    return {}


def search_logged_models(service: TrackingService, f: Fields) -> dict[str, Any]:
    found = LoggedModels(service).search([str(e) for e in f.items("experiment_ids")])
    wanted = f.text("filter")
    if wanted:
        key, _, value = wanted.partition("=")
        value = value.strip().strip("'\"")
        field = {"source_run_id": "source_run_id", "name": "name"}.get(key.strip())
        if field is None:
            raise InvalidValueError(
                f"filter {wanted!r} is not accepted for logged models: use "
                "source_run_id = '...' or name = '...'"
            )
        found = [m for m in found if m["info"][field] == value]
    return {"models": found}


def log_outputs(service: TrackingService, f: Fields) -> dict[str, Any]:
    models = [
        (Fields(item).required_text("model_id"), Fields(item).integer("step") or 0)
        for item in f.items("models")
        if isinstance(item, dict)
    ]
    LoggedModels(service).log_outputs(f.required_text("run_id"), models)
    return {}


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))
