"""MLflow's experiment operations on a nbtrack store.

MLflow's id ``"0"`` is the experiment named ``Default`` (made when first asked for), as it is
the id MLflow's client falls back to. An experiment's artifacts always live in the store's
own artifact folder: an ``artifact_location`` elsewhere is refused, never followed.

Over ``nbtrack+http://`` (a ``RemoteStore``) the experiments the server named are remembered in
the spool folder (``store/remote/experiment_cache.py``), so a process that cannot reach the
server still opens its client and starts runs in ``Default`` or any experiment this project
used before; anything else names the server in one error (``offline_experiments.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from nbtrack.entities import Experiment
from nbtrack.errors import InvalidValueError, ServerUnreachableError
from nbtrack.mlflow_compat import mapping, offline_experiments
from nbtrack.mlflow_compat.paging import VIEW_TYPES, offset_of, token_for
from nbtrack.store import experiments, mlflow_ops
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.store.store import Store
from nbtrack.tracking.lifecycle import forget_experiments
from nbtrack.tracking.validation import check_name, tag_value

MAX_EXPERIMENTS_PAGE = 50_000


class Experiments:
    """Create, find, list, rename, delete and restore experiments with MLflow's ids."""

    def __init__(self, store: Store, artifact_uri: Callable[[Path, str], str]) -> None:
        self.store = store
        self.artifact_uri = artifact_uri
        # nbtrack's id of "Default", once known: MLflow's "0" is asked for on every run.
        self._default_id: str | None = None
        # Experiments new runs went to, by MLflow's id: creating a run then costs no read.
        # Forgotten when this process deletes, restores or renames one.
        self._for_runs: dict[str, Experiment] = {}

    def json(self, experiment: Experiment, tags: dict[str, str] | None = None) -> dict[str, Any]:
        location = self.artifact_uri(self.store.folder, experiment.artifact_location)
        return mapping.experiment_json(experiment, location, tags)

    def id_out(self, nbtrack_id: str) -> str:
        if self._default_id is None:
            try:
                default = self.store.write(
                    experiments.get_or_create_experiment, mapping.DEFAULT_EXPERIMENT
                )
            except ServerUnreachableError as exc:
                return offline_experiments.id_out(self.store, nbtrack_id, exc)
            offline_experiments.remember(self.store, default)
            self._default_id = default.id
        return mapping.DEFAULT_EXPERIMENT_ID if nbtrack_id == self._default_id else nbtrack_id

    def id_in(self, con: Any, mlflow_id: object) -> str:
        """nbtrack's id of the experiment MLflow calls ``mlflow_id``, read on ``con``."""
        return mlflow_ops.experiment_by_mlflow_id(con, mlflow_id).id

    def ensure_default(self) -> None:
        """Make the ``Default`` experiment now, as MLflow's stores do when they open; a server
        that does not answer makes it later (a client opens offline)."""
        with contextlib.suppress(ServerUnreachableError):
            self.id_out("")

    def known_for_runs(self, mlflow_id: object) -> bool:
        """Whether ``for_runs(mlflow_id)`` is answered without the store."""
        return isinstance(mlflow_id, str) and mlflow_id in self._for_runs

    def for_runs(self, mlflow_id: str) -> Experiment:
        """The experiment a new run goes to; a deleted one is refused."""
        known = self._for_runs.get(mlflow_id)
        if known is not None:
            return known

        try:
            experiment = self.store.write(mlflow_ops.experiment_for_mlflow_runs, mlflow_id)
        except ServerUnreachableError as exc:
            experiment = offline_experiments.by_mlflow_id(self.store, mlflow_id, exc)
        offline_experiments.remember(self.store, experiment)
        if experiment.deleted:
            raise InvalidValueError(
                f"The experiment {mlflow_id} must be in the 'active' state. Current state is "
                "deleted."
            )
        self._for_runs[mlflow_id] = experiment
        return experiment

    def create(
        self,
        name: object,
        artifact_location: str | None = None,
        tags: Iterable[tuple[str, str]] = (),
    ) -> str:
        checked = check_name(name, "experiment name")
        if artifact_location:
            self._check_location(artifact_location)
        pairs = [_checked_tag(key, value) for key, value in tags]
        created = self.store.write(mlflow_ops.create_tagged_experiment, checked, pairs)
        offline_experiments.remember(self.store, created)
        return self.id_out(created.id)

    def set_tag(self, mlflow_id: str, key: object, value: object) -> None:
        """Set a tag of an active experiment (MLflow's ``set_experiment_tag``)."""
        self.store.write(mlflow_ops.tag_active_experiment, mlflow_id, *_checked_tag(key, value))

    def delete_tag(self, mlflow_id: str, key: object) -> None:
        """Remove a tag of an active experiment; not found if it has none by that name."""
        name = check_name(key, "tag key")
        self.store.write(mlflow_ops.untag_active_experiment, mlflow_id, name)

    def _check_location(self, location: str) -> None:
        root = (self.store.folder / ARTIFACTS_FOLDER).resolve()
        raise InvalidValueError(
            f"artifact_location {location!r} is not accepted: nbtrack keeps every experiment's "
            f"artifacts in the store's artifact folder {root}; leave artifact_location out"
        )

    def get(self, mlflow_id: str) -> dict[str, Any]:
        if mlflow_id == mapping.DEFAULT_EXPERIMENT_ID:
            self.ensure_default()
        return self.json(*self.store.read(mlflow_ops.experiment_with_tags, mlflow_id))

    def get_by_name(self, name: str) -> dict[str, Any]:
        checked = check_name(name, "experiment name")
        try:
            found, tags = self.store.read(mlflow_ops.named_experiment_with_tags, checked)
        except ServerUnreachableError as exc:
            # Its tags are the server's to say: offline, an experiment shows none.
            return self.json(offline_experiments.by_name(self.store, checked, exc))
        offline_experiments.remember(self.store, found)
        return self.json(found, tags)

    def search(
        self,
        view_type: str = "ACTIVE_ONLY",
        max_results: int = 1000,
        filter_string: str | None = None,
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        if filter_string:
            raise InvalidValueError(
                f"filter_string {filter_string!r} is not accepted: nbtrack searches experiments "
                "without a filter; list them all and choose by name"
            )
        stage = VIEW_TYPES.get(view_type)
        if stage is None:
            raise InvalidValueError(
                f"view_type {view_type!r} is not one of {', '.join(VIEW_TYPES)}"
            )
        if not 0 < max_results <= MAX_EXPERIMENTS_PAGE:
            raise InvalidValueError(
                f"Invalid value {max_results} for parameter 'max_results' supplied"
            )
        self.ensure_default()
        every, tags = self.store.read(mlflow_ops.all_experiments_with_tags)
        chosen = [e for e in every if stage in ("all", e.lifecycle_stage)]
        # MLflow's order: the newest first.
        chosen.sort(key=lambda e: (e.created_at, int(e.id)), reverse=True)
        offset = offset_of(page_token)
        page = chosen[offset : offset + max_results]
        more = offset + max_results < len(chosen)
        found = [self.json(e, tags.get(e.id)) for e in page]
        return found, (token_for(offset + max_results) if more else None)

    def rename(self, mlflow_id: str, new_name: str) -> None:
        nbtrack_id = self.store.read(mlflow_ops.experiment_by_mlflow_id, mlflow_id).id
        self.store.write(
            experiments.rename_experiment, nbtrack_id, check_name(new_name, "new_name")
        )
        forget_experiments()
        self._for_runs.clear()

    def set_stage(self, mlflow_id: str, stage: str) -> None:
        nbtrack_id = self.store.read(mlflow_ops.experiment_by_mlflow_id, mlflow_id).id
        forget_experiments()
        self._for_runs.clear()
        self.store.write_stages(experiments.set_experiment_stage, nbtrack_id, stage)


def _checked_tag(key: object, value: object) -> tuple[str, str]:
    name = check_name(key, "tag key")
    return name, tag_value(name, "" if value is None else value)
