"""Any MLflow tracking URI MLflow's own client opens, read through ``MlflowClient``.

``sqlite:///mlflow.db`` and the other SQLAlchemy URIs go through MLflow's store classes,
``http(s)://`` through its REST client, ``nbtrack:`` through nbtrack's plugin (which is how
``export`` reads this store). Every list is read page by page, as MLflow's client pages.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from nbtrack.errors import NbtrackError
from nbtrack.mlflow_compat.mlruns import copy_regular
from nbtrack.mlflow_compat.sources import (
    Point,
    SourceExperiment,
    SourceLoggedModel,
    SourceModel,
    SourceRun,
    SourceVersion,
)

T = TypeVar("T")
PAGE = 1000
# MLflow's client names a logged model's status by its enum; its protocol (and nbtrack's
# records of logged models) by the protobuf name.
_MODEL_STATUSES = {
    "READY": "LOGGED_MODEL_READY",
    "PENDING": "LOGGED_MODEL_PENDING",
    "FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
    "UNSPECIFIED": "LOGGED_MODEL_STATUS_UNSPECIFIED",
}


def _sql_store(client: Any) -> Any:
    """MLflow's SQLAlchemy store behind ``client``, if that is what it uses: a run's metrics
    are then read in one query of MLflow's own models instead of one ``get_metric_history``
    per key (the client has no call for all of a run's points at once)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    return store if isinstance(store, SqlAlchemyStore) else None


def _sql_metrics(store: Any, run_id: str) -> dict[str, list[Point]]:
    """Every point of every metric of ``run_id``, in ``get_metric_history``'s order and with
    its NaN rule (a NaN is stored as 0 with ``is_nan`` set)."""
    from mlflow.store.tracking.dbmodels.models import SqlMetric

    columns = (SqlMetric.key, SqlMetric.value, SqlMetric.timestamp, SqlMetric.step)
    found: dict[str, list[Point]] = {}
    with store.ManagedSessionMaker() as session:
        rows = (
            session.query(*columns, SqlMetric.is_nan)
            .filter(SqlMetric.run_uuid == run_id)
            .order_by(SqlMetric.key, SqlMetric.timestamp, SqlMetric.step, SqlMetric.value)
            .all()
        )
    for key, value, timestamp, step, is_nan in rows:
        found.setdefault(key, []).append((math.nan if is_nan else value, timestamp, step))
    return found


def pages(fetch: Callable[[str | None], Any]) -> Iterator[Any]:
    """Every item of a paged MLflow listing: ``fetch(page_token)`` returns a ``PagedList``."""
    token: str | None = None
    while True:
        page = fetch(token)
        yield from page
        token = page.token
        if not token:
            return


class ClientSource:
    """The ``Source`` of an MLflow tracking URI."""

    def __init__(self, uri: str) -> None:
        try:
            from mlflow import MlflowClient
        except ImportError:
            raise NbtrackError(
                f"reading {uri!r} goes through MLflow's client, which is not installed: "
                "pip install 'nbtrack[mlflow]' (an mlruns folder needs no MLflow)"
            ) from None

        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        self._sql_store = _sql_store(self.client)
        self._run_metrics: tuple[str, dict[str, list[Point]]] = ("", {})

    def experiments(self) -> list[SourceExperiment]:
        from mlflow.entities import ViewType

        found = pages(
            lambda token: self.client.search_experiments(
                view_type=ViewType.ALL, max_results=PAGE, page_token=token
            )
        )
        return [SourceExperiment(e.experiment_id, e.name, e.lifecycle_stage) for e in found]

    def runs(self, experiment_id: str) -> Iterator[SourceRun]:
        from mlflow.entities import ViewType

        found = pages(
            lambda token: self.client.search_runs(
                [experiment_id], run_view_type=ViewType.ALL, max_results=PAGE, page_token=token
            )
        )
        for run in found:
            info, data = run.info, run.data
            yield SourceRun(
                id=info.run_id,
                experiment_id=experiment_id,
                name=info.run_name or data.tags.get("mlflow.runName", ""),
                status=info.status,
                start_time=info.start_time,
                end_time=info.end_time,
                user=info.user_id or None,
                lifecycle_stage=info.lifecycle_stage,
                params=dict(data.params),
                tags=dict(data.tags),
                metric_keys=tuple(sorted(data.metrics)),
            )

    def metric_history(self, run: SourceRun, key: str) -> list[Point]:
        if self._sql_store is not None:
            if self._run_metrics[0] != run.id:
                self._run_metrics = (run.id, _sql_metrics(self._sql_store, run.id))
            return self._run_metrics[1].get(key, [])
        return [(m.value, m.timestamp, m.step) for m in self.client.get_metric_history(run.id, key)]

    def download_artifacts(self, run: SourceRun, destination: Path) -> None:
        if not self.client.list_artifacts(run.id):
            return
        self._download(lambda into: self.client.download_artifacts(run.id, "", into), destination)

    def logged_models(self, experiment_ids: list[str]) -> list[SourceLoggedModel]:
        if not experiment_ids:
            return []
        found = pages(
            lambda token: self.client.search_logged_models(
                experiment_ids, max_results=100, page_token=token
            )
        )
        return [
            SourceLoggedModel(
                id=model.model_id,
                name=model.name,
                experiment_id=model.experiment_id,
                run_id=model.source_run_id or None,
                status=_MODEL_STATUSES.get(model.status.value, str(model.status.value)),
                model_type=model.model_type or "",
                created=model.creation_timestamp,
                updated=model.last_updated_timestamp,
                params=dict(model.params),
                tags=dict(model.tags),
            )
            for model in found
        ]

    def download_model(self, model: SourceLoggedModel, destination: Path) -> None:
        import mlflow.artifacts

        location = self.client.get_logged_model(model.id).artifact_location
        self._download(
            lambda into: mlflow.artifacts.download_artifacts(
                artifact_uri=location, dst_path=into, tracking_uri=self.uri
            ),
            destination,
        )

    @staticmethod
    def _download(download: Callable[[str], str], destination: Path) -> None:
        # MLflow's download writes where it likes under the folder it is given (and may leave
        # links from a local store): take the regular files from a scratch folder.
        with tempfile.TemporaryDirectory(prefix="nbtrack-mlflow-") as scratch:
            got = Path(download(scratch))
            copy_regular(got if got.is_dir() else Path(scratch), destination)

    def registered_models(self) -> list[SourceModel]:
        found = pages(
            lambda token: self.client.search_registered_models(max_results=PAGE, page_token=token)
        )
        return [self._registered(model) for model in found]

    def _registered(self, model: Any) -> SourceModel:
        quoted = model.name.replace("'", "\\'")
        versions = pages(
            lambda token: self.client.search_model_versions(
                f"name = '{quoted}'", max_results=PAGE, page_token=token
            )
        )
        return SourceModel(
            name=model.name,
            description=model.description or "",
            tags=dict(model.tags),
            aliases={alias: int(v) for alias, v in (model.aliases or {}).items()},
            versions=tuple(
                sorted(
                    (
                        SourceVersion(
                            version=int(v.version),
                            source=v.source,
                            run_id=v.run_id or None,
                            model_id=getattr(v, "model_id", None) or None,
                            description=v.description or "",
                            tags=dict(v.tags),
                        )
                        for v in versions
                    ),
                    key=lambda v: v.version,
                )
            ),
        )
