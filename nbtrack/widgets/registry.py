"""``registry()``: the model registry under a cell — models, their versions with the run and
metrics behind each, buttons that promote, alias and archive, and the alias history drawn.

Every button calls the same function a user would call from code (``nbtrack.promote``,
``set_alias``, ...), so a click is one committed transaction: ``load_model`` and servers that
follow an alias see it at once. The widget refreshes itself when the registry changes in any
process (it watches the registry's marker file, never DuckDB), keeping the model shown.
"""

from __future__ import annotations

import html
import math
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Final

import altair as alt
import ipywidgets  # type: ignore[import-untyped]
import pandas as pd

from nbtrack import config
from nbtrack.entities import ARCHIVED, ModelVersion, RegisteredModel
from nbtrack.errors import InvalidValueError, NbtrackError
from nbtrack.model_registry import versions as model_registry
from nbtrack.store.store import get_store
from nbtrack.tracking.run_table import display_value
from nbtrack.tracking.search import runs_frame
from nbtrack.widgets import alias_chart, poller, static
from nbtrack.widgets.live import enable_offline_charts
from nbtrack.widgets.tree import descendants

PROMOTE_ALIAS: Final = "champion"
MAX_VERSIONS: Final = 50
MAX_METRICS: Final = 4
MAX_HISTORY_ROWS: Final = 20
ACTIONS: Final = ("promote", "archive", "restore", "set alias", "remove alias")
ERROR_COLOUR: Final = "var(--jp-error-color1, #d32f2f)"
OK_COLOUR: Final = "var(--jp-success-color1, #388e3c)"
_CELL: Final = "padding: 2px 8px; white-space: nowrap"
_CHIP: Final = (
    "display: inline-block; margin-right: 4px; padding: 0 7px; border-radius: 9px; "
    "background: var(--jp-brand-color3, #bbdefb); color: var(--jp-ui-font-color0, #000)"
)


def registry(name: str | None = None) -> RegistryWidget:
    """The model registry in the notebook.

    Parameters
    ----------
    name : str, optional
        The registered model to show first; the first by name when None. Another can be
        chosen in the widget.

    Returns
    -------
    RegistryWidget
        Shown when it is the cell's last expression. Its buttons promote a version (alias
        ``champion``), archive or restore it, and set or remove any alias; it refreshes by
        itself when the registry changes in any process.

    Raises
    ------
    NotFoundError
        No registered model is called ``name``.

    Examples
    --------
    >>> import nbtrack
    >>> nbtrack.registry("churn")  # doctest: +SKIP
    """
    return RegistryWidget(name)


class RegistryWidget(ipywidgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """A model picker, the versions of the model shown (one row each, with its buttons), an
    alias editor, a status line saying what the last click did, and the alias history."""

    def __init__(self, name: str | None = None) -> None:
        self._lock = threading.RLock()
        self._closed = False
        self._syncing = False
        self._store_path = config.resolve_store_path()
        self._marker = get_store(self._store_path).registry_marker
        opened_at = poller.marker_stamp(self._marker)
        models = self._models_including(name)
        self._models: list[RegisteredModel] = models
        self._name: str | None = name
        self._versions: list[ModelVersion] = []
        self._runs = pd.DataFrame()
        self._history = pd.DataFrame()
        self._message: tuple[str, bool] | None = None
        self._problem: str | None = None
        self._buttons: dict[tuple[str, int | None], Any] = {}
        self._row_widgets: list[Any] = []

        self._model_box = ipywidgets.Dropdown(description="model", layout={"width": "auto"})
        self._summary = ipywidgets.HTML()
        self._grid = ipywidgets.GridBox(layout={"grid_gap": "2px 0", "margin": "6px 0"})
        self._alias_box = ipywidgets.Text(
            description="alias", placeholder="challenger", layout={"width": "220px"}
        )
        self._alias_version_box = ipywidgets.Dropdown(
            description="→ version", layout={"width": "170px"}
        )
        self._set_alias_button = self._button("set alias", None, "point the alias at the version")
        self._remove_alias_box = ipywidgets.Dropdown(description="alias", layout={"width": "220px"})
        self._remove_alias_button = self._button("remove alias", None, "remove the chosen alias")
        self._status = ipywidgets.HTML()
        self._history_table = ipywidgets.HTML()
        enable_offline_charts()
        self._chart = alt.JupyterChart(alias_chart.alias_history_chart(pd.DataFrame()))
        self._alias_editor = ipywidgets.VBox(
            [
                ipywidgets.HBox([self._alias_box, self._alias_version_box, self._set_alias_button]),
                ipywidgets.HBox([self._remove_alias_box, self._remove_alias_button]),
            ]
        )
        self._header = ipywidgets.HBox([self._model_box, self._summary])
        super().__init__(
            [
                self._header,
                self._grid,
                self._alias_editor,
                self._status,
                self._chart,
                self._history_table,
            ]
        )
        self.add_class("nbtrack-registry")
        self._load(models)
        self._render()
        self._model_box.observe(self._on_model_box, names="value")
        poller.watch(self, since=opened_at)

    # -- what code and tests use ------------------------------------------------------------------

    @property
    def model(self) -> str | None:
        """The registered model shown."""
        return self._name

    @property
    def marker(self) -> Path | None:
        """The registry's marker file (the poller stats it); None once closed."""
        return None if self._closed else self._marker

    @property
    def versions(self) -> pd.DataFrame:
        """The rows shown: version, status, aliases, run, metrics, registered (newest first)."""
        with self._lock:
            return pd.DataFrame([self._row_values(v) for v in self._shown_versions()])

    @property
    def history(self) -> pd.DataFrame:
        """The alias history of the model shown (``nbtrack.get_alias_history``)."""
        with self._lock:
            return self._history.copy()

    @property
    def status_text(self) -> str:
        """The status line as text: what the last action did, or why it was refused."""
        with self._lock:
            if self._problem:
                return self._problem
            return self._message[0] if self._message else ""

    def button(self, action: str, version: int | None = None) -> Any:
        """The button for ``action`` (``"promote"``, ``"archive"``, ``"restore"`` of a version;
        ``"set alias"`` / ``"remove alias"`` of the alias editor), as the user clicks it."""
        if action not in ACTIONS:
            accepted = ", ".join(repr(a) for a in ACTIONS)
            raise InvalidValueError(f"no button {action!r}; the buttons are {accepted}")
        key = (action, None if action in ("set alias", "remove alias") else version)
        with self._lock:
            if key not in self._buttons:
                shown = sorted({v for (a, v) in self._buttons if a == action and v is not None})
                raise InvalidValueError(
                    f"no {action!r} button for version {version!r}; it has one for {shown}"
                )
            return self._buttons[key]

    def show(self, name: str) -> None:
        """Show the registered model ``name``."""
        models = self._models_including(name)
        with self._lock:
            self._name = name
            self._message = None
            self._load(models)
            self._render()

    def choose_alias(self, alias: str, version: int) -> None:
        """Fill the alias editor (what typing an alias and picking a version does)."""
        with self._lock:
            self._alias_box.value = alias
            self._alias_version_box.value = int(version)

    def refresh(self) -> None:
        """Read the registry again, keeping the model shown (called by the poller)."""
        with self._lock:
            if self._closed:
                return
            if config.resolve_store_path() != self._store_path:
                self._problem = (
                    "not refreshed: the tracking URI changed since this view was made "
                    f"({self._store_path}); call nbtrack.registry() again for the new store"
                )
                self._push_status()
                return
            try:
                self._load()
            except NbtrackError as exc:
                self._problem = f"not refreshed: {exc}"
                self._push_status()
                return
            self._problem = None
            self._render()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The widget view, plus a static snapshot (the versions as a table, the alias history
        as a PNG) for where no widget front end runs: nbconvert, GitHub's preview."""
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            with self._lock:
                frame = self.versions
                # The snapshot marks rows by "run_id": here, by version (aliased ones marked).
                rows = [
                    {
                        **{str(k): display_value(v) for k, v in row.items()},
                        "run_id": str(row["version"]),
                    }
                    for row in frame.to_dict("records")
                ]
                columns = [c for c in frame.columns if c != "run_id"]
                aliased = [str(v.version) for v in self._shown_versions() if v.aliases]
                caption = f"<b>{html.escape(self._name or '')}</b> {self._summary.value}"
                bundle["text/html"] = static.static_html(
                    columns=columns,
                    rows=rows,
                    selected=aliased,
                    caption=caption,
                    total=len(rows),
                    chart=None if self._history.empty else self._chart.chart,
                )
        return bundle

    def close(self) -> None:
        """Free the widget and its parts (also done when its cell runs again)."""
        built = hasattr(self, "_chart")
        with self._lock if built else nullcontext():
            self._closed = True
            poller.unwatch(self)
            if built:
                # Row widgets are outside the tree while no model is shown.
                for part in {id(w): w for w in [*self._row_widgets, *descendants(self)]}.values():
                    part.close()
            super().close()

    # -- reading ----------------------------------------------------------------------------------

    @staticmethod
    def _models_including(name: str | None) -> list[RegisteredModel]:
        """Every registered model, after checking ``name`` (if given) is one of them."""
        models = model_registry.search_registered_models()
        if name is not None and name not in {m.name for m in models}:
            # Raises, listing the registered models.
            model_registry.get_registered_model(name)
        return models

    def _load(self, models: list[RegisteredModel] | None = None) -> None:
        """Read the models (unless just read: ``models``), then the shown one's versions, their
        runs and its alias history."""
        self._models = model_registry.search_registered_models() if models is None else models
        names = [m.name for m in self._models]
        if self._name not in names:
            # Deleted elsewhere: show another rather than an error that cannot be acted on.
            self._name = names[0] if names else None
        if self._name is None:
            self._versions, self._runs, self._history = [], pd.DataFrame(), pd.DataFrame()
            return
        self._versions = model_registry.search_model_versions(self._name)
        run_ids = sorted({v.run_id for v in self._shown_versions() if v.run_id})
        self._runs = runs_frame(runs=run_ids) if run_ids else pd.DataFrame()
        self._history = model_registry.get_alias_history(self._name)

    def _shown_versions(self) -> list[ModelVersion]:
        return sorted(self._versions, key=lambda v: -v.version)[:MAX_VERSIONS]

    def _metric_columns(self) -> list[str]:
        columns = [c for c in self._runs.columns if c.startswith("metrics.")]
        return sorted(columns)[:MAX_METRICS]

    def _run_of(self, version: ModelVersion) -> dict[str, Any]:
        if not version.run_id or self._runs.empty:
            return {}
        rows = self._runs[self._runs["run_id"] == version.run_id]
        return {} if rows.empty else {str(k): v for k, v in rows.iloc[0].to_dict().items()}

    def _row_values(self, version: ModelVersion) -> dict[str, Any]:
        run = self._run_of(version)
        values: dict[str, Any] = {
            "version": version.version,
            "status": version.status,
            "aliases": ", ".join(version.aliases),
            "run": run.get("run_name") or (version.run_id or ""),
            "run_id": version.run_id,
        }
        for column in self._metric_columns():
            values[column] = run.get(column)
        values["registered"] = version.created_at
        return values

    # -- drawing ----------------------------------------------------------------------------------

    def _render(self) -> None:
        names = [m.name for m in self._models]
        # Set by Python, not picked by the user: the change handler must not act on it.
        self._syncing = True
        try:
            if list(self._model_box.options) != names:
                self._model_box.options = names
            if self._name is not None and self._model_box.value != self._name:
                self._model_box.value = self._name
        finally:
            self._syncing = False
        self._summary.value = self._summary_html()
        self._render_grid()
        ready = [v.version for v in self._shown_versions() if v.status != ARCHIVED]
        keep = self._alias_version_box.value
        self._alias_version_box.options = ready
        if ready:
            self._alias_version_box.value = keep if keep in ready else ready[0]
        model = self._model()
        aliases = sorted(model.aliases) if model else []
        self._remove_alias_box.options = aliases
        self._remove_alias_button.disabled = not aliases
        self._set_alias_button.disabled = not ready
        self._alias_editor.layout.display = "none" if self._name is None else None
        self._chart.chart = alias_chart.alias_history_chart(self._history)
        self._chart.layout.display = "none" if self._name is None else None
        self._history_table.value = self._history_html()
        self._push_status()

    def _model(self) -> RegisteredModel | None:
        return next((m for m in self._models if m.name == self._name), None)

    def _summary_html(self) -> str:
        model = self._model()
        if model is None:
            return (
                "<i>No registered model yet: register one with "
                "<code>nbtrack.register_model(uri, name)</code> or "
                "<code>nbtrack.log_model(..., registered_model_name=name)</code>; it appears "
                "here by itself.</i>"
            )
        parts = [f"{model.version_count} version{'' if model.version_count == 1 else 's'}"]
        if model.aliases:
            parts.append(
                " ".join(
                    _chip(f"{alias} → v{version}")
                    for alias, version in sorted(model.aliases.items())
                )
            )
        if model.description:
            parts.append(f"<i>{html.escape(model.description)}</i>")
        if model.tags:
            parts.append(
                ", ".join(f"{html.escape(k)}={html.escape(v)}" for k, v in model.tags.items())
            )
        return f'<div style="{_CELL}; line-height: 28px">{" · ".join(parts)}</div>'

    def _render_grid(self) -> None:
        old = self._row_widgets
        self._buttons = {key: button for key, button in self._buttons.items() if key[1] is None}
        metrics = self._metric_columns()
        headings = ["version", "status", "aliases", "run", *metrics, "registered", "", ""]
        cells: list[Any] = [
            ipywidgets.HTML(f'<b style="{_CELL}">{html.escape(h.removeprefix("metrics."))}</b>')
            for h in headings
        ]
        shown = self._shown_versions()
        for version in shown:
            cells.extend(self._row_cells(version, metrics))
        if len(self._versions) > len(shown):
            more = len(self._versions) - len(shown)
            note = f"{more} older version{'' if more == 1 else 's'} not shown"
            cells.append(ipywidgets.HTML(f'<i style="{_CELL}">{note}</i>'))
        self._row_widgets = cells
        self._grid.layout.grid_template_columns = " ".join(["auto"] * len(headings))
        self._grid.children = cells if self._name is not None else []
        for widget in old:
            widget.close()

    def _row_cells(self, version: ModelVersion, metrics: list[str]) -> list[Any]:
        run = self._run_of(version)
        archived = version.status == ARCHIVED
        tone = "opacity: 0.55;" if archived else ""
        run_label = run.get("run_name") or ""
        run_html = (
            f'<span title="{html.escape(version.run_id)}">{html.escape(str(run_label))} '
            f"<code>{html.escape(version.run_id[:8])}</code></span>"
            if version.run_id
            else '<span title="registered from a folder">—</span>'
        )
        texts = [
            f"<b>v{version.version}</b>",
            html.escape(version.status),
            " ".join(_chip(a) for a in version.aliases),
            run_html,
            *(_number(run.get(column)) for column in metrics),
            html.escape(version.created_at.strftime("%Y-%m-%d %H:%M")),
        ]
        cells = [ipywidgets.HTML(f'<div style="{_CELL}; {tone}">{text}</div>') for text in texts]
        promote = self._button(
            "promote",
            version.version,
            f"point {PROMOTE_ALIAS} at version {version.version}",
        )
        promote.disabled = archived or PROMOTE_ALIAS in version.aliases
        lifecycle = (
            self._button("restore", version.version, "make this version READY again")
            if archived
            else self._button("archive", version.version, "archive: latest skips it")
        )
        lifecycle.disabled = bool(version.aliases)
        if version.aliases:
            lifecycle.tooltip = "an alias points at it: move or remove the alias first"
        for cell in [*cells, promote, lifecycle]:
            cell.add_class(f"nbtrack-version-{version.version}")
        return [*cells, promote, lifecycle]

    def _button(self, action: str, version: int | None, tooltip: str) -> Any:
        button = ipywidgets.Button(
            description=action,
            tooltip=tooltip,
            button_style="primary" if action == "promote" else "",
            layout={"width": "auto", "height": "26px"},
        )
        button.add_class(f"nbtrack-{action.replace(' ', '-')}")
        button.on_click(lambda _: self._act(action, version))
        self._buttons[(action, version)] = button
        return button

    def _history_html(self) -> str:
        if self._history.empty:
            return ""
        rows = self._history.iloc[::-1].head(MAX_HISTORY_ROWS)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="{_CELL}">{html.escape(text)}</td>'
                for text in (
                    row["changed_at"].strftime("%Y-%m-%d %H:%M:%S"),
                    str(row["alias"]),
                    alias_chart.move_text(row["previous_version"], row["version"]),
                    str(row["changed_by"]),
                )
            )
            + "</tr>"
            for row in rows.to_dict("records")
        )
        head = "".join(
            f'<th style="{_CELL}; text-align: left">{h}</th>'
            for h in ("changed at (UTC)", "alias", "move", "by")
        )
        more = len(self._history) - len(rows)
        tail = f'<div style="{_CELL}"><i>{more} earlier moves not shown</i></div>' if more else ""
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{tail}"

    def _push_status(self) -> None:
        if self._problem:
            text, ok = self._problem, False
        elif self._message:
            text, ok = self._message
        else:
            self._status.value = ""
            return
        colour = OK_COLOUR if ok else ERROR_COLOUR
        self._status.value = (
            f'<div style="color: {colour}; white-space: pre-wrap; {_CELL}">'
            f"{html.escape(text)}</div>"
        )

    # -- actions ----------------------------------------------------------------------------------

    def _act(self, action: str, version: int | None) -> None:
        with self._lock:
            name = self._name
            if name is None:
                return
            try:
                self._message = (self._perform(action, name, version), True)
            except NbtrackError as exc:
                self._message = (f"{action} refused: {exc}", False)
            try:
                self._load()
            except NbtrackError as exc:
                self._problem = f"not refreshed: {exc}"
            self._render()

    def _perform(self, action: str, name: str, version: int | None) -> str:
        """Do what the button says through the public registry functions; say what was done."""
        if action == "set alias":
            return self._set_alias(name)
        if action == "remove alias":
            return self._remove_alias(name)
        assert version is not None, "version buttons always carry their version"
        if action == "promote":
            model_registry.promote(name, version, alias=PROMOTE_ALIAS)
            return f"{name}@{PROMOTE_ALIAS} → version {version}"
        if action == "archive":
            model_registry.archive_model_version(name, version)
            return f"version {version} of {name} archived"
        model_registry.restore_model_version(name, version)
        return f"version {version} of {name} is READY again"

    def _set_alias(self, name: str) -> str:
        alias = self._alias_box.value.strip()
        version = self._alias_version_box.value
        if version is None:
            raise InvalidValueError("choose a version for the alias")
        moved = model_registry.set_alias(name, alias, version)
        return f"{name}@{alias} → version {moved.version}"

    def _remove_alias(self, name: str) -> str:
        alias = self._remove_alias_box.value
        if not alias:
            raise InvalidValueError(f"{name} has no alias to remove")
        model_registry.delete_alias(name, alias)
        return f"{name}@{alias} removed"

    def _on_model_box(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"] and change["new"] != self._name:
            self.show(change["new"])


def _chip(text: str) -> str:
    return f'<span style="{_CHIP}">{html.escape(text)}</span>'


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))
