"""The ``nbtrack:`` scheme for MLflow's client: tracking and model-registry store plugins.

``mlflow.set_tracking_uri("nbtrack:")`` logs into the store nbtrack itself would find from the
working directory; ``"nbtrack:/path/to/nbtrack.duckdb"`` into that file. MLflow finds these
classes through the entry points ``mlflow.tracking_store`` and ``mlflow.model_registry_store``
in nbtrack's ``pyproject.toml``. Each call goes to ``service.TrackingService`` or
``registry.RegistryService``, whose dicts (MLflow's JSON) become MLflow's entities through
MLflow's own protobuf messages, so the shapes cannot drift apart from the server's.

A run's artifact URI is the path of its nbtrack artifact folder: MLflow's client writes
artifacts and models there itself, where ``nbtrack.list_artifacts`` and
``nbtrack.load_model("runs:/...")`` look.

``nbtrack+http://HOST:PORT`` logs to an ``nbtrack server`` through this process's journal
(``remote_scheme.py``).
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from mlflow.entities import Experiment, LoggedModel, Metric, Run, RunInfo, ViewType
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2, service_pb2
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils.proto_json_utils import parse_dict

from nbtrack import config
from nbtrack.errors import AlreadyExistsError, InvalidValueError, NbtrackError, NotFoundError
from nbtrack.mlflow_compat import remote_scheme, run_entities
from nbtrack.mlflow_compat.service import TrackingService

__all__ = ["NbtrackTrackingStore", "service_for", "store_path", "translating"]

T = TypeVar("T")
SCHEME = "nbtrack:"
_VIEWS = {
    ViewType.ACTIVE_ONLY: "ACTIVE_ONLY",
    ViewType.DELETED_ONLY: "DELETED_ONLY",
    ViewType.ALL: "ALL",
}
_services: dict[Path | str, TrackingService] = {}
_services_lock = threading.Lock()


def store_path(store_uri: str | None) -> Path:
    """The store file a ``nbtrack:`` URI names; ``nbtrack:`` alone is nbtrack's own choice."""
    rest = (store_uri or SCHEME).removeprefix(SCHEME)
    if rest.startswith("//"):
        rest = rest[2:]
    if not rest:
        return config.resolve_store_path()
    return Path(os.path.abspath(os.path.expanduser(rest)))


def service_for(store_uri: str | None) -> TrackingService:
    """One service per store file (or server) in this process: its run writers are shared."""
    remote = remote_scheme.is_remote(store_uri)
    key: Path | str = str(store_uri).lower() if remote else store_path(store_uri)
    with _services_lock:
        found = _services.get(key)
        if found is None:
            found = _services[key] = (
                remote_scheme.remote_service(str(store_uri))
                if remote
                else TrackingService(Path(key))
            )
        return found


def mlflow_error(exc: NbtrackError) -> MlflowException:
    """nbtrack's error as MLflow's, with the error code MLflow's client acts on."""
    if isinstance(exc, AlreadyExistsError):
        code = databricks_pb2.RESOURCE_ALREADY_EXISTS
    elif isinstance(exc, NotFoundError):
        code = databricks_pb2.RESOURCE_DOES_NOT_EXIST
    elif isinstance(exc, InvalidValueError):
        code = databricks_pb2.INVALID_PARAMETER_VALUE
    else:
        code = databricks_pb2.INTERNAL_ERROR
    return MlflowException(str(exc), error_code=code)


def _parsed(message: Any, found: dict[str, Any]) -> Any:
    parse_dict(found, message)
    return message


def run_entity(found: dict[str, Any]) -> Run:
    return run_entities.run(found, run_through_messages)


def run_through_messages(found: dict[str, Any]) -> Run:
    return Run.from_proto(_parsed(service_pb2.Run(), found))


def translating(cls: type[T]) -> type[T]:
    """Have every public method of ``cls`` raise nbtrack's errors as MLflow's."""
    for name, method in list(vars(cls).items()):
        if (callable(method) and not name.startswith("_")) or name == "_search_runs":
            setattr(cls, name, _translated(method))
    return cls


def _translated(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except NbtrackError as exc:
            raise mlflow_error(exc) from exc

    return call


@translating
class NbtrackTrackingStore(AbstractStore):
    """MLflow's tracking store for ``nbtrack:`` URIs."""

    def __init__(self, store_uri: str | None = None, artifact_uri: str | None = None) -> None:
        super().__init__()
        self.service = service_for(store_uri)
        self.experiments = self.service.experiments
        try:
            self.experiments.ensure_default()
        except NbtrackError as exc:
            raise mlflow_error(exc) from exc

    # -- experiments -----------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Any = None
    ) -> str:
        pairs = [(tag.key, tag.value) for tag in tags or []]
        return self.experiments.create(name, artifact_location, pairs)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return _experiment(self.experiments.get(str(experiment_id)))

    def get_experiment_by_name(self, experiment_name: str) -> Experiment | None:
        try:
            return _experiment(self.experiments.get_by_name(experiment_name))
        except NotFoundError:
            return None

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Any = None,
        page_token: str | None = None,
    ) -> PagedList[Any]:
        found, token = self.experiments.search(
            _VIEWS[view_type], max_results, filter_string, page_token
        )
        return PagedList([_experiment(item) for item in found], token)

    def delete_experiment(self, experiment_id: str) -> None:
        self.experiments.set_stage(str(experiment_id), "deleted")

    def restore_experiment(self, experiment_id: str) -> None:
        self.experiments.set_stage(str(experiment_id), "active")

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.experiments.rename(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        self.experiments.set_tag(str(experiment_id), tag.key, tag.value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.experiments.delete_tag(str(experiment_id), key)

    # -- runs --------------------------------------------------------------------------------

    def create_run(
        self, experiment_id: str, user_id: str, start_time: int, tags: Any, run_name: str | None
    ) -> Run:
        pairs = [(tag.key, tag.value) for tag in tags or []]
        return run_entity(
            self.service.create_run(str(experiment_id), user_id, start_time, pairs, run_name)
        )

    def get_run(self, run_id: str) -> Run:
        return run_entity(self.service.get_run(run_id))

    def update_run_info(
        self, run_id: str, run_status: Any, end_time: int | None, run_name: str | None
    ) -> RunInfo:
        from mlflow.entities import RunStatus

        status = run_status if isinstance(run_status, str) else RunStatus.to_string(run_status)
        return run_entities.run_info(self.service.update_run(run_id, status, end_time, run_name))

    def delete_run(self, run_id: str) -> None:
        self.service.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.service.restore_run(run_id)

    def _search_runs(
        self,
        experiment_ids: Any,
        filter_string: str | None,
        run_view_type: int,
        max_results: int,
        order_by: Any,
        page_token: str | None,
    ) -> tuple[list[Run], str | None]:
        found, token = self.service.search_runs(
            [str(e) for e in experiment_ids], filter_string, _VIEWS[run_view_type], max_results,
            order_by, page_token,
        )  # fmt: skip
        return [run_entity(item) for item in found], token

    # -- logging -----------------------------------------------------------------------------

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.service.writer(run_id).log(
            metrics=((metric.key, metric.value, metric.timestamp, metric.step or 0),)
        )

    def log_param(self, run_id: str, param: Any) -> None:
        self.service.writer(run_id).log(params=((param.key, param.value),))

    def set_tag(self, run_id: str, tag: Any) -> None:
        self.service.log_batch(run_id, tags=[(tag.key, tag.value)])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.service.delete_tag(run_id, key)

    def log_batch(self, run_id: str, metrics: Any, params: Any, tags: Any) -> None:
        self.service.log_batch(
            run_id,
            [(m.key, m.value, m.timestamp, m.step or 0) for m in metrics],
            [(p.key, p.value) for p in params],
            [(t.key, t.value) for t in tags],
        )

    def log_inputs(self, run_id: str, datasets: Any = None, models: Any = None) -> None:
        from mlflow.utils.proto_json_utils import message_to_json

        items = [json.loads(message_to_json(item.to_proto())) for item in datasets or []]
        self.service.log_inputs(run_id, items)

    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: int | None = None, page_token: Any = None
    ) -> PagedList[Any]:
        points = self.service.get_metric_history(run_id, metric_key)
        metrics = [Metric(p["key"], _number(p["value"]), p["timestamp"], p["step"]) for p in points]
        return PagedList(metrics[:max_results] if max_results else metrics, None)

    def link_traces_to_run(self, trace_ids: list[str], run_id: str) -> None:
        raise InvalidValueError("nbtrack does not keep traces; nothing was linked")

    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        """MLflow 2's record of a model logged in a run: its files are already in the run's
        artifacts, where nbtrack finds them."""

    # -- logged models (MLflow 3) --------------------------------------------------------------

    @property
    def _models(self) -> Any:
        from nbtrack.mlflow_compat.logged_models import LoggedModels

        return LoggedModels(self.service)

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Any = None,
        params: Any = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        found = self._models.create(
            str(experiment_id), name, source_run_id,
            [(p.key, p.value) for p in params or []], [(t.key, t.value) for t in tags or []],
            model_type,
        )  # fmt: skip
        return _logged_model(found)

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        return _logged_model(self._models.get(model_id))

    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        name = service_pb2.LoggedModelStatus.Name(status.to_proto())
        return _logged_model(self._models.finalize(model_id, name))

    def set_logged_model_tags(self, model_id: str, tags: Any) -> None:
        self._models.set_tags(model_id, [(t.key, t.value) for t in tags])

    def log_outputs(self, run_id: str, models: Any) -> None:
        self._models.log_outputs(run_id, [(m.model_id, m.step) for m in models])

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: Any = None,
        max_results: int | None = None,
        order_by: Any = None,
        page_token: str | None = None,
    ) -> PagedList[Any]:
        found = [_logged_model(item) for item in self._models.search(experiment_ids)]
        if filter_string:
            found = [m for m in found if _matches(m, filter_string)]
        return PagedList(found[:max_results] if max_results else found, None)


def _matches(model: LoggedModel, filter_string: str) -> bool:
    # MLflow's client looks a run's models up by "source_run_id = '<id>'" only.
    key, _, value = filter_string.partition("=")
    wanted = value.strip().strip("'\"")
    if key.strip() == "source_run_id":
        return bool(model.source_run_id == wanted)
    if key.strip() == "name":
        return bool(model.name == wanted)
    raise InvalidValueError(
        f"filter {filter_string!r} is not accepted for logged models: use source_run_id = '...' "
        "or name = '...'"
    )


def _experiment(found: dict[str, Any]) -> Experiment:
    return Experiment.from_proto(_parsed(service_pb2.Experiment(), found))


def _logged_model(found: dict[str, Any]) -> LoggedModel:
    return LoggedModel.from_proto(_parsed(service_pb2.LoggedModel(), found))


def _number(value: float | str) -> float:
    return float(value.replace("Infinity", "inf")) if isinstance(value, str) else value
