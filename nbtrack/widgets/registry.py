"""``registry()``: the model registry under a cell — models, their versions with the run and
metrics behind each, buttons that promote, alias and archive, and the alias history drawn.

Every button calls the same function a user would call from code (``nbtrack.promote``,
``set_alias``, ...), so a click is one committed transaction: ``load_model`` and servers that
follow an alias see it at once. The widget refreshes itself when the registry changes in any
process (it watches the registry's marker file, never DuckDB), keeping the model shown; its
status line then says what changed elsewhere, so it never reports a click the store has since
overtaken.
"""

from __future__ import annotations

import html
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Final

import altair as alt
import ipywidgets  # type: ignore[import-untyped]
import pandas as pd

from nbtrack import config
from nbtrack.entities import ARCHIVED, ModelVersion
from nbtrack.errors import InvalidValueError, NbtrackError
from nbtrack.model_registry import versions as model_registry
from nbtrack.store.current import current_store
from nbtrack.tracking.run_table import display_value
from nbtrack.widgets import alias_chart, chart_parts, poller, registry_html, static
from nbtrack.widgets.live import enable_offline_charts
from nbtrack.widgets.registry_state import RegistryState, models_including
from nbtrack.widgets.restart_note import ROOT_CLASS, RestartNote
from nbtrack.widgets.tree import descendants

PROMOTE_ALIAS: Final = "champion"
ACTIONS: Final = ("promote", "archive", "restore", "set alias", "remove alias")


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
        # A store file's path or a server's URL (never its token): what the view was made on.
        self._store_path = str(config.resolve_target())
        self._marker = current_store().registry_marker
        opened_at = poller.marker_stamp(self._marker)
        self._state = RegistryState(name)
        # What the registry looked like after this widget last read or changed it: a refresh
        # that finds something else was changed elsewhere, and says so.
        self._seen = self._state.fingerprint()
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
        self._chart = alt.JupyterChart(
            alias_chart.alias_history_chart(pd.DataFrame()),
            embed_options=dict(chart_parts.EMBED_OPTIONS),
        )
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
                RestartNote("registry"),
            ]
        )
        self.add_class("nbtrack-registry")
        self.add_class(ROOT_CLASS)
        self._render()
        self._model_box.observe(self._on_model_box, names="value")
        poller.watch(self, since=opened_at)

    # -- what code and tests use ------------------------------------------------------------------

    @property
    def model(self) -> str | None:
        """The registered model shown."""
        return self._state.name

    @property
    def marker(self) -> Path | None:
        """The registry's marker file (the poller stats it); None once closed."""
        return None if self._closed else self._marker

    @property
    def versions(self) -> pd.DataFrame:
        """The rows shown: version, status, aliases, run, metrics, registered (newest first)."""
        with self._lock:
            return self._state.versions_frame()

    @property
    def history(self) -> pd.DataFrame:
        """The alias history of the model shown (``nbtrack.get_alias_history``)."""
        with self._lock:
            return self._state.history.copy()

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
        models = models_including(name)
        with self._lock:
            self._state.name = name
            self._message = None
            self._state.load(models)
            self._seen = self._state.fingerprint()
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
            if str(config.resolve_target()) != self._store_path:
                self._problem = (
                    "not refreshed: the tracking URI changed since this view was made "
                    f"({self._store_path}); call nbtrack.registry() again for the new store"
                )
                self._push_status()
                return
            shown, before = self._state.name, len(self._state.history)
            try:
                self._state.load()
            except NbtrackError as exc:
                self._problem = f"not refreshed: {exc}"
                self._push_status()
                return
            self._problem = None
            now = self._state.fingerprint()
            if now != self._seen:
                # Changed by another process (the CLI, a kernel): what the status line said
                # about the last click may no longer hold.
                self._message = (
                    self._state.changes_since(before)
                    if self._state.name == shown
                    else f"updated: {shown} is no longer registered",
                    True,
                )
                self._seen = now
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
                aliased = [str(v.version) for v in self._state.shown_versions() if v.aliases]
                caption = f"<b>{html.escape(self._state.name or '')}</b> {self._summary.value}"
                bundle["text/html"] = static.static_html(
                    columns=columns,
                    rows=rows,
                    selected=aliased,
                    caption=caption,
                    total=len(rows),
                    chart=None if self._state.history.empty else self._chart.chart,
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

    # -- drawing ----------------------------------------------------------------------------------

    def _render(self) -> None:
        state = self._state
        names = [m.name for m in state.models]
        # Set by Python, not picked by the user: the change handler must not act on it.
        self._syncing = True
        try:
            if list(self._model_box.options) != names:
                self._model_box.options = names
            if state.name is not None and self._model_box.value != state.name:
                self._model_box.value = state.name
        finally:
            self._syncing = False
        self._summary.value = registry_html.summary_html(state.model())
        self._render_grid()
        ready = [v.version for v in state.shown_versions() if v.status != ARCHIVED]
        keep = self._alias_version_box.value
        self._alias_version_box.options = ready
        if ready:
            self._alias_version_box.value = keep if keep in ready else ready[0]
        model = state.model()
        aliases = sorted(model.aliases) if model else []
        self._remove_alias_box.options = aliases
        self._remove_alias_button.disabled = not aliases
        self._set_alias_button.disabled = not ready
        self._alias_editor.layout.display = "none" if state.name is None else None
        # No history yet: one short line, not an empty chart saying so.
        no_history = state.name is None or state.history.empty
        if not no_history:
            self._chart.chart = alias_chart.alias_history_chart(state.history)
        self._chart.layout.display = "none" if no_history else None
        self._history_table.value = (
            registry_html.history_html(state.history) if state.name is not None else ""
        )
        self._push_status()

    def _render_grid(self) -> None:
        old = self._row_widgets
        self._buttons = {key: button for key, button in self._buttons.items() if key[1] is None}
        metrics = self._state.metric_columns()
        headings = ["version", "status", "aliases", "run", *metrics, "registered", "", ""]
        cells = registry_html.heading_cells(headings)
        shown = self._state.shown_versions()
        for version in shown:
            cells.extend(self._row_cells(version, metrics))
        if len(self._state.versions) > len(shown):
            cells.append(registry_html.older_versions_cell(len(self._state.versions) - len(shown)))
        self._row_widgets = cells
        self._grid.layout.grid_template_columns = " ".join(["auto"] * len(headings))
        self._grid.children = cells if self._state.name is not None else []
        for widget in old:
            widget.close()

    def _row_cells(self, version: ModelVersion, metrics: list[str]) -> list[Any]:
        cells = registry_html.version_cells(version, self._state.run_of(version), metrics)
        archived = version.status == ARCHIVED
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

    def _push_status(self) -> None:
        if self._problem:
            text, ok = self._problem, False
        elif self._message:
            text, ok = self._message
        else:
            self._status.value = ""
            return
        self._status.value = registry_html.status_html(text, ok)

    # -- actions ----------------------------------------------------------------------------------

    def _act(self, action: str, version: int | None) -> None:
        with self._lock:
            name = self._state.name
            if name is None:
                return
            try:
                self._message = (self._perform(action, name, version), True)
            except NbtrackError as exc:
                self._message = (f"{action} refused: {exc}", False)
            try:
                self._state.load()
                self._seen = self._state.fingerprint()
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
        if not self._syncing and change["new"] and change["new"] != self._state.name:
            self.show(change["new"])
