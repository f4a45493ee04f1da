"""What the registry widget shows, read through the public registry functions: every registered
model, and of the one shown its newest versions, the runs behind them and its alias history.
Plain data, no widget; the widget draws it and reloads it after every click and change.
"""

from __future__ import annotations

from typing import Any, Final

import pandas as pd

from nbtrack.entities import ModelVersion, RegisteredModel
from nbtrack.model_registry import versions as model_registry
from nbtrack.tracking.search import runs_frame
from nbtrack.widgets.alias_chart import move_text

MAX_VERSIONS: Final = 50
MAX_METRICS: Final = 4
MAX_MOVES_SAID: Final = 2


class RegistryState:
    """The registered models, the name of the one shown (None while there is none), and its
    versions, their runs and its alias history as last read.

    Raises ``NotFoundError`` when no registered model is called ``name``.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name: str | None = name
        self.models: list[RegisteredModel] = []
        self.versions: list[ModelVersion] = []
        self.runs = pd.DataFrame()
        self.history = pd.DataFrame()
        self.load(models_including(name))

    def load(self, models: list[RegisteredModel] | None = None) -> None:
        """Read the models (unless just read: ``models``), then the shown one's versions, their
        runs and its alias history."""
        self.models = model_registry.search_registered_models() if models is None else models
        names = [m.name for m in self.models]
        if self.name not in names:
            # Deleted elsewhere: show another rather than an error that cannot be acted on.
            self.name = names[0] if names else None
        if self.name is None:
            self.versions, self.runs, self.history = [], pd.DataFrame(), pd.DataFrame()
            return
        self.versions = model_registry.search_model_versions(self.name)
        run_ids = sorted({v.run_id for v in self.shown_versions() if v.run_id})
        self.runs = runs_frame(runs=run_ids) if run_ids else pd.DataFrame()
        self.history = model_registry.get_alias_history(self.name)

    def model(self) -> RegisteredModel | None:
        """The registered model shown."""
        return next((m for m in self.models if m.name == self.name), None)

    def shown_versions(self) -> list[ModelVersion]:
        """The newest ``MAX_VERSIONS`` versions, newest first."""
        return sorted(self.versions, key=lambda v: -v.version)[:MAX_VERSIONS]

    def metric_columns(self) -> list[str]:
        """The metrics shown beside the versions: the first ``MAX_METRICS`` by name."""
        columns = [c for c in self.runs.columns if c.startswith("metrics.")]
        return sorted(columns)[:MAX_METRICS]

    def run_of(self, version: ModelVersion) -> dict[str, Any]:
        """The run behind ``version`` as a row of ``search_runs`` ({} if there is none)."""
        if not version.run_id or self.runs.empty:
            return {}
        rows = self.runs[self.runs["run_id"] == version.run_id]
        return {} if rows.empty else {str(k): v for k, v in rows.iloc[0].to_dict().items()}

    def row_values(self, version: ModelVersion) -> dict[str, Any]:
        """One row of ``versions_frame``."""
        run = self.run_of(version)
        values: dict[str, Any] = {
            "version": version.version,
            "status": version.status,
            "aliases": ", ".join(version.aliases),
            "run": run.get("run_name") or (version.run_id or ""),
            "run_id": version.run_id,
        }
        for column in self.metric_columns():
            values[column] = run.get(column)
        values["registered"] = version.created_at
        return values

    def fingerprint(self) -> tuple[Any, ...]:
        """What tells one reading of the registry from another: the model shown, its versions
        with their status and aliases, and how many alias moves it has had."""
        versions = tuple((v.version, v.status, tuple(sorted(v.aliases))) for v in self.versions)
        return (self.name, tuple(m.name for m in self.models), versions, len(self.history))

    def changes_since(self, moves_before: int) -> str:
        """In words, what changed elsewhere: the alias moves after the first ``moves_before``
        (newest last), else that the registry changed."""
        moves = self.history.iloc[moves_before:] if self.name is not None else self.history[:0]
        if moves.empty:
            return f"updated: {self.name or 'the registry'} changed outside this widget"
        said = [
            f"{self.name}@{row['alias']} {move_text(row['previous_version'], row['version'])}"
            f" (by {row['changed_by']}, {row['changed_at']:%H:%M:%S} UTC)"
            for row in moves.tail(MAX_MOVES_SAID).to_dict("records")
        ]
        return "changed elsewhere: " + "; ".join(said)

    def versions_frame(self) -> pd.DataFrame:
        """The rows shown: version, status, aliases, run, metrics, registered (newest first)."""
        return pd.DataFrame([self.row_values(v) for v in self.shown_versions()])


def models_including(name: str | None) -> list[RegisteredModel]:
    """Every registered model, after checking ``name`` (if given) is one of them."""
    models = model_registry.search_registered_models()
    if name is not None and name not in {m.name for m in models}:
        # Raises, listing the registered models.
        model_registry.get_registered_model(name)
    return models
