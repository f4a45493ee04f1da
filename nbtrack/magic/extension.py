"""``%load_ext nbtrack``: the IPython glue of ``%%track`` and ``%nbtrack``.

``%%track`` is not run as a cell magic. An input transformer blanks the ``%%track`` line, so
the cell runs as the plain cell it is (its traceback, last-expression display, top-level
``await``, ``!cmd`` and line magics all behave as usual, and a failing cell fails the
execution), while ``pre_run_cell`` opens the cell's run and ``post_run_cell`` closes it.
"""

from __future__ import annotations

import math
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack import config
from nbtrack.autologging import switch
from nbtrack.errors import InvalidValueError, NbtrackError
from nbtrack.magic.arguments import HELP, TrackArgs, TrackCell, parse_track_cell, parse_track_line
from nbtrack.magic.literals import assigned_names, literal_params
from nbtrack.tracking import fluent, run_refs
from nbtrack.tracking.atomic_files import write_atomically
from nbtrack.tracking.lifecycle import last_started, open_run
from nbtrack.tracking.run import ActiveRun
from nbtrack.tracking.run_refs import resolve_run
from nbtrack.tracking.validation import metric_value

if TYPE_CHECKING:
    from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult, InteractiveShell

    from nbtrack.widgets.live import LiveMetrics

KERNEL_ID_TAG = "nbtrack.kernel_id"
CELL_ID_TAG = "nbtrack.cell_id"
CWD_TAG = "nbtrack.cwd"
HISTORY_ARTIFACT = "nbtrack/session_history.py"


@dataclass(frozen=True)
class _Held:
    """What a ``--metrics`` variable held when the cell started: the object, and its value
    as a metric (None if it was not a number), to see a change made in place (``acc += 1``
    on an array keeps the object)."""

    value: object
    number: float | None


@dataclass
class _Cell:
    """A tracked cell being executed: its run and what to record when it ends."""

    run: ActiveRun
    args: TrackArgs
    # The code whose literals become params (None: another cell magic runs the body).
    literal_source: str | None
    # The body a cell magic after %%track runs as a nested cell (%%capture does), which
    # would hide its error from this cell's result.
    magic_body: str | None = None
    body_error: BaseException | None = None
    warnings: list[str] = field(default_factory=list)
    live: LiveMetrics | None = None
    # The --metrics variables as the cell found them: a value the cell did not produce is
    # an earlier cell's, and never this run's metric.
    metrics_before: dict[str, _Held] = field(default_factory=dict)
    # Autolog turned on for this cell only (--autolog while it was off): off again after it.
    autolog_for_cell: bool = False


class TrackedCells:
    """The per-shell state: one entry per cell execution in progress (cells can nest)."""

    def __init__(self, shell: InteractiveShell) -> None:
        self.shell = shell
        # Paired by the ExecutionInfo IPython gives both hooks: it sends post_run_cell
        # without pre_run_cell for an empty cell, so order alone would pair the wrong ones.
        self._executing: list[tuple[ExecutionInfo, _Cell | None]] = []
        self.last_live: LiveMetrics | None = None

    # -- the %%track line ------------------------------------------------------------------

    def strip_magic_line(self, lines: list[str]) -> list[str]:
        """Input transformer: blank the ``%%track`` line (line numbers stay as typed), or drop
        it when another cell magic follows, which IPython then runs as the cell."""
        try:
            cell = self._read("".join(lines))
        except InvalidValueError as exc:
            # Raised from the cell itself, so IPython prints one UsageError line and the
            # execution fails as a bad magic line should.
            return [
                f"__import__('nbtrack.magic.extension').magic.extension.usage_error({str(exc)!r})\n"
            ]
        if cell is None:
            return lines
        if cell.magic is not None:
            # IPython reads a cell magic only on a cell's first line; the other magic's own
            # line numbers start there anyway.
            return cell.magic.source.splitlines(keepends=True)
        return ["\n", *cell.body.splitlines(keepends=True)]

    def _read(self, source: str) -> TrackCell | None:
        cell = parse_track_cell(source)
        # Refused before a run opens, rather than failing the run on IPython's own error.
        if cell is not None and cell.magic and not self.shell.find_cell_magic(cell.magic.name):
            raise InvalidValueError(
                f"%%track: there is no cell magic %%{cell.magic.name} (on the line after "
                "%%track); %lsmagic lists them"
            )
        return cell

    # -- around each cell ------------------------------------------------------------------

    def pre_run_cell(self, info: ExecutionInfo) -> None:
        cell = None
        try:
            # Dedented as IPython does before it looks for a cell magic (and so the transformer).
            read = self._read(textwrap.dedent(info.raw_cell or ""))
        except InvalidValueError:
            read = None  # a bad %%track line: the transformed cell raises the UsageError
        if read is not None:
            try:
                cell = self._open(read, info)
            except NbtrackError as exc:
                # e.g. --run names a deleted run: the cell still runs, and says it is untracked.
                print(f"nbtrack: this cell is not tracked: {exc}")
        self._executing.append((info, cell))

    def post_run_cell(self, result: ExecutionResult | None) -> None:
        found = self._pop(result)
        if found is None:
            return  # an empty cell: IPython skipped pre_run_cell
        info, cell = found
        error = _error_of(result)
        if cell is not None:
            self._close(cell, error or cell.body_error)
        elif error is not None and self._executing:
            # A cell run from inside a tracked cell: if it is that cell's body, run by a cell
            # magic such as %%capture (which swallows the error), the run still failed.
            enclosing = self._executing[-1][1]
            if enclosing is not None and enclosing.magic_body == info.raw_cell:
                enclosing.body_error = enclosing.body_error or error

    def _pop(self, result: ExecutionResult | None) -> tuple[ExecutionInfo, _Cell | None] | None:
        if result is None:
            return self._executing.pop() if self._executing else None
        for index in range(len(self._executing) - 1, -1, -1):
            if self._executing[index][0] is result.info:
                return self._executing.pop(index)
        return None

    def _open(self, read: TrackCell, info: ExecutionInfo) -> _Cell:
        args = read.args
        namespace = self.shell.user_ns
        if args.experiment is not None:
            fluent.set_experiment(args.experiment)
        if args.run is not None:
            run = open_run(run_id=_run_id(args.run), cell=True)
            # The run keeps its first cell as its source; later cells are kept beside it.
            _write_artifact(
                run, f"nbtrack/cells/{self.shell.execution_count}.py", info.raw_cell or ""
            )
        else:
            run = open_run(
                name=args.name,
                tags=args.tags,
                cell=True,
                source=info.raw_cell,
                source_name=args.notebook or notebook_path(namespace),
            )
        magic_body = read.magic.body if read.magic is not None else None
        cell = _Cell(run, args, read.literal_source, magic_body)
        try:
            self._prepare(cell, info)
        except BaseException as exc:
            # The run was opened for a cell that will now run untracked: it must not stay open.
            if cell.autolog_for_cell:
                switch.autolog(disable=True)
            run.end_after(exc)
            raise
        return cell

    def _prepare(self, cell: _Cell, info: ExecutionInfo) -> None:
        run, args, namespace = cell.run, cell.args, self.shell.user_ns
        cell.metrics_before = _held(args.metrics, namespace)
        context = {KERNEL_ID_TAG: kernel_id(), CELL_ID_TAG: getattr(info, "cell_id", None)}
        if run.source_name is None:
            context[CWD_TAG] = os.getcwd()
        run.set_tags({key: value for key, value in context.items() if value})
        missing = [name for name in args.params if name not in namespace]
        if missing:
            cell.warnings.append(
                f"--params: no variable named {', '.join(missing)} before the cell"
            )
        for name in args.params:
            if name in namespace:
                try:
                    run.log_param(name, namespace[name])
                except InvalidValueError as exc:
                    cell.warnings.append(f"--params {name}: not logged: {exc}")
        _write_history(run, namespace)
        if args.autolog and not switch.is_enabled():
            switch.autolog()
            cell.autolog_for_cell = True
        if args.live:
            from IPython.display import display

            from nbtrack import widgets

            cell.live = widgets.live_metrics(run)
            display(cell.live.widget)

    def _close(self, cell: _Cell, error: BaseException | None) -> None:
        if cell.autolog_for_cell:
            switch.autolog(disable=True)
        run = cell.run
        if cell.live is not None:
            cell.live.stop()
            self.last_live = cell.live
        try:
            if run.ended:
                # Ended by the cell itself (nbtrack.end_run()): it keeps the status it was given.
                if cell.args.metrics:
                    cell.warnings.append(
                        "--metrics: not logged, the cell ended its run before it finished"
                    )
            else:
                self._record_results(cell, error)
        except BaseException as failure:
            # The run must not outlive its cell (an open cell run would take the next tracked
            # cell as its child), and it lacks what it failed to record.
            run.end_after(error or failure)
            raise
        run.end_after(error)
        _show_summary(run, cell.warnings)

    def _record_results(self, cell: _Cell, error: BaseException | None) -> None:
        run = cell.run
        namespace = self.shell.user_ns
        code = (
            None if cell.literal_source is None else self.shell.transform_cell(cell.literal_source)
        )
        self._record_metrics(cell, error, code)
        if code is None:
            return
        # Literals of the cell give way to params logged explicitly, never the reverse.
        literals = literal_params(code)
        logged = run.param_keys() | set(cell.args.metrics)
        # Only a literal the variable still holds: a branch not taken, a line never reached
        # (the cell failed before it) or a value changed by code the parser cannot see
        # leaves no param behind.
        ran = {
            key: value
            for key, value in literals.items()
            if key not in logged and key in namespace and _same(namespace[key], value)
        }
        try:
            run.log_params(ran)
        except InvalidValueError as exc:
            cell.warnings.append(f"params from the cell's literals: {exc}")

    def _record_metrics(self, cell: _Cell, error: BaseException | None, code: str | None) -> None:
        """Log each ``--metrics`` variable this cell produced: one it bound to another object
        or changed in place, or, in a cell that ran to its end (its run FINISHED), one a
        top-level statement assigned (``n = 0`` again is the same object). Any other value
        is left from before the cell (an earlier cell's, or one the failing cell never
        reached): skipped, and the summary says so."""
        namespace = self.shell.user_ns
        finished = error is None or (isinstance(error, SystemExit) and error.code in (0, None))
        assigned = assigned_names(code) if finished and code is not None else set()
        skipped: list[str] = []
        for name in cell.args.metrics:
            if name not in namespace:
                cell.warnings.append(f"--metrics: no variable named {name} after the cell")
                continue
            value = namespace[name]
            if name not in assigned and not _changed(cell.metrics_before.get(name), value):
                skipped.append(name)
                continue
            try:
                cell.run.log_metric(name, metric_value(name, value))
            except InvalidValueError as exc:
                cell.warnings.append(f"--metrics: {exc}")
        if skipped:
            cell.warnings.append(_skipped_metrics(skipped, None if finished else error))

    # -- the fallback cell magic -----------------------------------------------------------

    def track_magic(self, line: str, cell: str) -> None:
        """Runs only when ``%%track`` is invoked as a magic (``run_cell_magic``), i.e. not
        through a cell, which the input transformer normally handles."""
        from IPython.core.error import UsageError

        try:
            args = parse_track_line(line)
        except InvalidValueError as exc:
            raise UsageError(str(exc)) from None
        run = open_run(
            name=args.name,
            experiment=args.experiment,
            tags=args.tags,
            cell=True,
            source=f"%%track {line}\n{cell}",
        )
        tracked = _Cell(run, args, cell)
        tracked.metrics_before = _held(args.metrics, self.shell.user_ns)
        if args.autolog and not switch.is_enabled():
            switch.autolog()
            tracked.autolog_for_cell = True
        try:
            result = self.shell.run_cell(cell)
        except BaseException as exc:
            self._close(tracked, exc)
            raise
        self._close(tracked, _error_of(result))
        result.raise_error()


def _error_of(result: ExecutionResult | None) -> BaseException | None:
    if result is None:
        # ipykernel sends no result when it cancelled the execution (the stop button on a
        # cell that awaits): the cell was interrupted.
        return KeyboardInterrupt()
    return result.error_before_exec or result.error_in_exec


def _skipped_metrics(names: list[str], error: BaseException | None) -> str:
    one = len(names) == 1
    them = "it" if one else "them"
    if error is None:
        why = f"the cell did not assign {them}"
    elif isinstance(error, KeyboardInterrupt):
        why = f"the cell was stopped before assigning {them}"
    else:
        why = f"the cell failed before assigning {them}"
    held = "its value is" if one else "their values are"
    return f"--metrics: not logged: {', '.join(names)} ({why}; {held} from before the cell)"


def _held(names: tuple[str, ...], namespace: dict[str, Any]) -> dict[str, _Held]:
    return {
        name: _Held(namespace[name], _number(name, namespace[name]))
        for name in names
        if name in namespace
    }


def _number(name: str, value: object) -> float | None:
    try:
        return metric_value(name, value)
    except InvalidValueError:
        return None


def _changed(before: _Held | None, value: object) -> bool:
    """Whether the cell produced ``value``: a new variable, another object, or the same
    object with another value."""
    if before is None or value is not before.value:
        return True
    now = _number("", value)
    if now is None or before.number is None:
        return (now is None) != (before.number is None)
    return now != before.number and not (math.isnan(now) and math.isnan(before.number))


def _same(held: object, literal: object) -> bool:
    if isinstance(held, tuple):
        held = list(held)  # a tuple literal is stored as a list
    try:
        return type(held) is type(literal) and bool(held == literal)
    except Exception:
        return False


def usage_error(message: str) -> None:
    """Raised from a cell whose ``%%track`` line is wrong: one UsageError line, no traceback."""
    from IPython.core.error import UsageError

    raise UsageError(message)


def _run_id(value: str) -> str:
    if value != "last":
        return resolve_run(value, "--run")
    last = last_started()
    if last is None:
        raise InvalidValueError(
            f"--run last: no run was started in this kernel yet; give {run_refs.ACCEPTED}"
        )
    return last.id


def _write_history(run: ActiveRun, namespace: dict[str, Any]) -> None:
    # The code this kernel ran before the cell, so a result can be reproduced even after
    # earlier cells were edited. `In` holds every input of the session, transformed; at
    # pre_run_cell it does not hold this cell yet.
    inputs = namespace.get("In")
    if not isinstance(inputs, list) or len(inputs) < 2:
        return
    text = "".join(
        f"# In[{number}]\n{source.rstrip()}\n\n"
        for number, source in enumerate(inputs)
        if number and isinstance(source, str) and source.strip()
    )
    _write_artifact(run, HISTORY_ARTIFACT, text)


def _write_artifact(run: ActiveRun, relative: str, text: str) -> None:
    # nbtrack's own fixed paths under the run's folder, written as every artifact is.
    write_atomically(run.artifact_dir / relative, lambda tmp: tmp.write_text(text, "utf-8"))


def notebook_path(namespace: dict[str, Any]) -> str | None:
    """The notebook this kernel runs, where a front end tells: VS Code, then jupyter_server."""
    for name in ("__vsc_ipynb_file__", "__session__"):
        value = namespace.get(name)
        if isinstance(value, str) and value:
            return value
    return config.jupyter_session_name()


def kernel_id() -> str | None:
    """The id of this Jupyter kernel, from its connection file; None outside a kernel."""
    import sys

    if "ipykernel.kernelapp" not in sys.modules:
        return None  # a terminal IPython: no kernel, and no reason to import ipykernel
    from ipykernel.kernelapp import IPKernelApp

    if not IPKernelApp.initialized():
        return None
    connection_file = IPKernelApp.instance().connection_file
    return Path(connection_file).stem.removeprefix("kernel-") if connection_file else None


def _show_summary(run: ActiveRun, warnings: list[str]) -> None:
    from IPython.display import display

    view = run.local_view()
    # The output says which run it summarises: the JupyterLab extension badges the cell from it.
    about = {"run_id": view.id, "name": view.name, "status": view.status}
    display(view, metadata={"nbtrack": about})
    for warning in warnings:
        print(f"nbtrack: {warning}")


def load(shell: InteractiveShell) -> None:
    """Register ``%%track`` and ``%nbtrack`` on ``shell`` (what ``%load_ext nbtrack`` does)."""
    from nbtrack.magic.line import NbtrackMagics

    existing = getattr(shell, "_nbtrack_cells", None)
    if existing is not None:
        return  # loaded already: a second %load_ext must not track cells twice
    cells = TrackedCells(shell)
    shell._nbtrack_cells = cells  # type: ignore[attr-defined]
    shell.input_transformers_cleanup.append(cells.strip_magic_line)
    shell.events.register("pre_run_cell", cells.pre_run_cell)
    shell.events.register("post_run_cell", cells.post_run_cell)
    shell.register_magics(NbtrackMagics(shell, cells))
    NbtrackMagics.track.__doc__ = HELP
