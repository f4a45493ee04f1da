"""``run_project`` (and ``nbtrack run``): one entry point of a project, as one run.

In three steps, each said on stderr as it starts: everything is checked (the MLproject file,
the parameters, the command, the environment manager), so a mistake is one error before
anything runs; the environment is made ready; then the run opens, its params and tags are
logged, and the entry point runs in its own process with ``NBTRACK_RUN_ID`` and
``NBTRACK_URI``, its output shown live and kept as ``output.log``. Its exit status ends the run:
0 FINISHED, anything else FAILED (with the end of its output), Ctrl-C KILLED.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TextIO

from nbtrack import config
from nbtrack.entities import FAILED, FINISHED, KILLED, Run
from nbtrack.errors import InvalidValueError
from nbtrack.projects import commands, environments, notebooks, scripts
from nbtrack.projects.environments import Environment
from nbtrack.projects.mlproject import EntryPoint, Project, load_project
from nbtrack.projects.parameters import Resolved, resolve
from nbtrack.projects.source import source_tags
from nbtrack.tracking import lifecycle
from nbtrack.tracking.artifact_paths import inside
from nbtrack.tracking.atomic_files import write_atomically
from nbtrack.tracking.fluent import current_experiment_name
from nbtrack.tracking.run import ActiveRun, format_error

NAME_TAG = "nbtrack.project.name"
ENTRY_POINT_TAG = "nbtrack.project.entry_point"
ENV_MANAGER_TAG = "nbtrack.project.env_manager"
COMMAND_TAG = "nbtrack.project.command"
EXIT_STATUS_TAG = "nbtrack.project.exit_status"
OUTPUT_LOG = "output.log"


@dataclass(frozen=True)
class Outcome:
    """A finished project run, and the exit status ``nbtrack run`` exits with."""

    run: Run
    returncode: int


@dataclass(frozen=True)
class Launch:
    """How the entry point is started: the argv, where, and as whom it is shown and tagged."""

    argv: list[str]
    cwd: Path
    shown: str
    environment: Environment
    scratch: Path  # output.log and the executed notebook until they become artifacts


def run_project(
    path: str | os.PathLike[str],
    entry_point: str = "main",
    parameters: Mapping[str, object] | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    env_manager: str = "local",
) -> Run:
    """``nbtrack.run_project``, documented there."""
    return execute(path, entry_point, parameters, experiment, run_name, env_manager).run


def execute(
    path: str | os.PathLike[str],
    entry_point: str = "main",
    parameters: Mapping[str, object] | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    env_manager: str = "local",
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> Outcome:
    """``run_project``, with the exit status; ``out`` and ``err`` get the entry point's output
    (this process's stdout and stderr by default) and ``err`` the progress lines."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr

    def say(text: str) -> None:
        print(f"nbtrack run: {text}", file=err, flush=True)

    # 1. Everything is checked before anything runs.
    project, entry = target(path, entry_point)
    plan = environments.plan(env_manager, project)
    resolved = _resolve(project, entry, dict(parameters or {}))
    say(_describe(project, entry, resolved))
    # 2. The environment.
    environment = plan.prepare(say, out, err)
    with tempfile.TemporaryDirectory(prefix="nbtrack-run-") as scratch:
        launch = _launch(project, entry, resolved, environment, Path(scratch))
        # 3. The run.
        active = _open(project, entry, resolved, launch, experiment, run_name, say)
        returncode = _run(active, launch, entry, out, err, say)
    return Outcome(active.snapshot(), returncode)


def target(path: str | os.PathLike[str], entry_point: str) -> tuple[Project, EntryPoint]:
    """The project and entry point ``path`` names: a folder, or a file in one (``nbtrack run
    explore.ipynb`` is ``nbtrack run . -e explore.ipynb``)."""
    text = os.fspath(path)
    if "://" in text:
        raise InvalidValueError(
            f"{text!r} is a URI; nbtrack runs projects in local folders: clone it first"
        )
    found = Path(text).expanduser().resolve()
    if found.is_file():
        if entry_point not in ("main", found.name):
            raise InvalidValueError(
                f"{text} is a file, which is the entry point itself; -e {entry_point} would "
                "name another one (give the project folder to choose an entry point)"
            )
        project = load_project(found.parent)
        return project, project.entry_point(found.name)
    if not found.is_dir():
        raise InvalidValueError(f"there is no project folder or file {text!r} ({found})")
    project = load_project(found)
    return project, project.entry_point(entry_point)


def _resolve(project: Project, entry: EntryPoint, given: dict[str, object]) -> Resolved:
    cwd, folder = Path.cwd(), project.folder
    if entry.notebook is None:
        resolved = resolve(entry.parameters, given, entry_point=entry.name, cwd=cwd, folder=folder)
        # Built now for its checks (an unknown {placeholder}, shell syntax), and again once the
        # environment's Python is known.
        commands.build(entry.command, resolved.texts, resolved.extras, entry.name)
        return resolved
    # A notebook's parameters: its parameters cell's literals, typed by the MLproject if it
    # declares them; a key that is neither would be injected into nothing, so it is refused.
    found = notebooks.cell_parameters(notebooks.read(entry.notebook))
    return resolve(
        {**found, **entry.parameters},
        given,
        entry_point=entry.name,
        cwd=cwd,
        folder=folder,
        extras_allowed=False,
    )


def _describe(project: Project, entry: EntryPoint, resolved: Resolved) -> str:
    name = f"project {project.name!r}" if project.name else f"project in {project.folder}"
    values = ", ".join(f"{k}={v!r}" for k, v in resolved.values.items()) or "no parameters"
    return f"{name}, entry point {entry.name!r} ({values})"


def _launch(
    project: Project,
    entry: EntryPoint,
    resolved: Resolved,
    environment: Environment,
    scratch: Path,
) -> Launch:
    if entry.notebook is not None:
        notebook = notebooks.read(entry.notebook)
        notebooks.inject(notebook, resolved.values)
        injected = scratch / entry.notebook.name
        notebooks.write(notebook, injected)
        (scratch / "executed").mkdir()
        argv = notebooks.runner_argv(injected, _executed(scratch, entry), environment.python)
        shown = f"the notebook {entry.notebook}, on {environment.python}"
        return Launch(argv, entry.notebook.parent, shown, environment, scratch)
    argv = commands.build(entry.command, resolved.texts, resolved.extras, entry.name)
    path = _child_environment(environment, {}).get("PATH")
    argv = commands.resolve_program(argv, environment.python, project.folder, path)
    return Launch(argv, project.folder, commands.shown(argv), environment, scratch)


def _executed(scratch: Path, entry: EntryPoint) -> Path:
    assert entry.notebook is not None
    return scratch / "executed" / entry.notebook.name


def _open(
    project: Project,
    entry: EntryPoint,
    resolved: Resolved,
    launch: Launch,
    experiment: str | None,
    run_name: str | None,
    say: Callable[[str], None],
) -> ActiveRun:
    tags = {
        **source_tags(project.folder),
        ENTRY_POINT_TAG: entry.name,
        ENV_MANAGER_TAG: launch.environment.manager,
        COMMAND_TAG: launch.shown,
        **({NAME_TAG: project.name} if project.name else {}),
    }
    active = lifecycle.open_run(
        name=run_name,
        experiment=experiment,
        tags=tags,
        nested=True,  # a project run started inside a run is its child, as in MLflow
        source_name=str(entry.notebook or project.folder),
    )
    where = experiment if experiment is not None else current_experiment_name()
    say(f"run {active.name!r} ({active.id}) in experiment {where!r}")
    try:
        active.log_params(resolved.values)  # checked already: this cannot refuse them
    except BaseException as exc:
        active.end(FAILED, format_error(exc))
        raise
    say(f"command: {launch.shown}")
    return active


def _child_environment(environment: Environment, changes: dict[str, str | None]) -> dict[str, str]:
    child = config.child_environment({"PYTHONUNBUFFERED": "1", **changes})
    path = [str(environment.bin_folder), child.get("PATH", "")]
    child["PATH"] = os.pathsep.join(part for part in path if part)
    if environment.folder is not None:
        child["VIRTUAL_ENV"] = str(environment.folder)
        child.pop("PYTHONHOME", None)
    return child


def _run(
    active: ActiveRun,
    launch: Launch,
    entry: EntryPoint,
    out: TextIO,
    err: TextIO,
    say: Callable[[str], None],
) -> int:
    """Run the entry point and end ``active`` as it ended; returns the exit status."""
    changes: dict[str, str | None] = {
        config.RUN_ID_VARIABLE: active.id,
        config.URI_VARIABLE: config.get_tracking_uri(),
    }
    if entry.notebook is not None:
        changes["JPY_SESSION_NAME"] = str(entry.notebook)  # the path %%track cells record
    environment = _child_environment(launch.environment, changes)
    started = time.monotonic()
    try:
        finished = scripts.run_streamed(
            launch.argv,
            cwd=launch.cwd,
            env=environment,
            out=out,
            err=err,
            log=launch.scratch / OUTPUT_LOG,
        )
    except KeyboardInterrupt:
        _keep_files(active, launch.scratch, entry)
        active.set_tag(EXIT_STATUS_TAG, "stopped")
        active.end(KILLED, "stopped with Ctrl-C: the entry point was interrupted")
        say(f"run {active.name!r} KILLED: the entry point was stopped")
        raise
    except BaseException as exc:
        _keep_files(active, launch.scratch, entry)
        active.end(FAILED, format_error(exc))
        raise
    _keep_files(active, launch.scratch, entry)
    active.set_tag(EXIT_STATUS_TAG, finished.status)
    seconds = time.monotonic() - started
    if finished.returncode == 0:
        active.end(FINISHED)
        say(f"run {active.name!r} FINISHED in {seconds:.1f} s")
        return 0
    active.end(FAILED, f"the entry point exited with status {finished.status}\n\n{finished.tail}")
    say(f"run {active.name!r} FAILED in {seconds:.1f} s: exit status {finished.status}")
    # A shell reports a process killed by signal N as 128 + N.
    return finished.returncode if finished.returncode > 0 else 128 - finished.returncode


def _keep_files(active: ActiveRun, scratch: Path, entry: EntryPoint) -> None:
    """``output.log`` and, for a notebook, the executed notebook, as the run's artifacts."""
    kept = [(scratch / OUTPUT_LOG, OUTPUT_LOG)]
    if entry.notebook is not None:
        kept.append((_executed(scratch, entry), entry.notebook.name))
    root = active.artifact_dir_for_writing()
    for source, name in kept:
        if source.is_file():
            target = inside(root, (name,), name, "artifact")
            write_atomically(target, partial(shutil.copyfile, source))
