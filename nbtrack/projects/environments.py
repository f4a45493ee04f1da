"""Where an entry point runs: ``local`` (this Python), or an environment that ``uv`` or
``virtualenv`` builds from the project's ``python_env.yaml``.

A built environment holds ``build_dependencies`` and ``dependencies`` as the file lists them
(``-r requirements.txt`` included), plus links to the running nbtrack (``host_packages``), on
this Python's version. It is cached under ``~/.cache/nbtrack/envs`` by a hash of all that, so
the second run of a project starts at once; two processes building the same one take turns.
``conda`` and ``docker`` are refused, and so is a project whose environment only they can build,
unless it runs ``local`` (as ``--no-conda`` does in MLflow).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from nbtrack import config
from nbtrack._version import __version__
from nbtrack.errors import EnvironmentBuildError, InvalidValueError
from nbtrack.projects import host_packages
from nbtrack.projects.mlproject import Project, inside, read_yaml
from nbtrack.projects.scripts import run_streamed
from nbtrack.tracking.validation import shown

MANAGERS = ("local", "uv", "virtualenv")
_REFUSED = ("conda", "docker")
READY = ".nbtrack-ready"
# Part of every cache key: a change to how environments are built builds them again.
_FORMAT = 1


@dataclass(frozen=True)
class PythonEnv:
    """A ``python_env.yaml``: the Python version, then what is installed, in two steps."""

    python: str | None
    build_dependencies: tuple[str, ...]
    dependencies: tuple[str, ...]


@dataclass(frozen=True)
class Environment:
    """An environment ready to run in: its interpreter, its ``bin`` folder (first on PATH, so
    that ``python`` in a shell script is this interpreter too), and its folder if it is a
    virtual environment nbtrack built."""

    manager: str
    python: Path
    bin_folder: Path
    folder: Path | None = None


@dataclass(frozen=True)
class Plan:
    """An environment as it will be made; every check is done when the plan is made."""

    manager: str
    spec: PythonEnv | None
    spec_file: Path | None
    folder: Path | None
    tool: list[str]
    note: str

    def prepare(self, say: Callable[[str], None], out: TextIO, err: TextIO) -> Environment:
        """The environment, built now unless the cache has it."""
        if self.folder is None:
            say(f"environment: local, this Python ({sys.executable}){self.note}")
            return Environment("local", Path(sys.executable), Path(sys.executable).parent)
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        with open(self.folder.with_name(self.folder.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process building it: wait for it
            if (self.folder / READY).is_file():
                say(f"environment: {self.manager}, cached in {self.folder}{self.note}")
            else:
                say(f"environment: {self.manager}, building {self.folder}{self.note}")
                self._build(out, err)
        bin_folder = self.folder / "bin"
        return Environment(self.manager, bin_folder / "python", bin_folder, self.folder)

    def _build(self, out: TextIO, err: TextIO) -> None:
        assert self.folder is not None and self.spec is not None
        if self.folder.exists():
            shutil.rmtree(self.folder)  # left half-built by a process that was stopped
        python = self.folder / "bin" / "python"
        if self.manager == "uv":
            steps = [[*self.tool, "venv", "--python", sys.executable, str(self.folder)]]
            install = [*self.tool, "pip", "install", "--python", str(python)]
        else:
            steps = [[*self.tool, "--python", sys.executable, str(self.folder)]]
            install = [str(python), "-m", "pip", "install"]
        folder = self.spec_file.parent if self.spec_file else self.folder.parent
        for group in (self.spec.build_dependencies, self.spec.dependencies):
            if group:
                steps.append([*install, *_requirements(group, folder)])
        for step in steps:
            finished = run_streamed(step, cwd=self.folder.parent, env=config.child_environment({}),
                                    out=out, err=err)  # fmt: skip
            if finished.returncode != 0:
                raise EnvironmentBuildError(
                    f"building the {self.manager} environment failed: `{shlex.join(step)}` exited "
                    f"with status {finished.status}:\n{finished.tail}"
                )
        host_packages.link(self.folder / "nbtrack-host", _site_packages(python))
        (self.folder / READY).write_text(json.dumps(self._description()), encoding="utf-8")

    def _description(self) -> dict[str, Any]:
        assert self.spec is not None
        return {
            "manager": self.manager,
            "python": [sys.executable, sys.version],
            "build_dependencies": list(self.spec.build_dependencies),
            "dependencies": list(self.spec.dependencies),
            "nbtrack": str(host_packages.nbtrack_folder()),
            "format": _FORMAT,
        }


def plan(manager: str, project: Project) -> Plan:
    """Check that ``manager`` can run ``project`` and say how, before anything runs."""
    if manager in _REFUSED:
        raise InvalidValueError(
            f"env manager {manager!r} is not supported: nbtrack runs projects with "
            f"{', '.join(MANAGERS)} (local: this Python, as --no-conda does in MLflow)"
        )
    if manager not in MANAGERS:
        raise InvalidValueError(f"env manager {manager!r} is none of {', '.join(MANAGERS)}")
    declared = project.environment
    if manager == "local":
        what = None if declared is None else declared.file.name if declared.file else declared.kind
        note = "" if what is None else f"; the project's {what} is not used"
        return Plan("local", None, None, None, [], note)
    if declared is not None and declared.kind != "python_env":
        what = "a Docker image" if declared.kind == "docker_env" else "a conda environment"
        raise InvalidValueError(
            f"the project runs in {what} ({declared.kind}), which {manager} cannot build; "
            "give it a python_env.yaml, or run it with --env-manager local"
        )
    spec_file = declared.file if declared is not None else None
    spec = read_python_env(spec_file) if spec_file is not None else PythonEnv(None, (), ())
    _check_python(spec, spec_file)
    tool = _tool(manager)
    key = _key(manager, spec, spec_file)
    folder = config.cache_folder() / "envs" / f"{manager}-{key}"
    where = f" from {spec_file.name}" if spec_file is not None else " (no python_env.yaml)"
    return Plan(manager, spec, spec_file, folder, tool, where)


def read_python_env(path: Path) -> PythonEnv:
    spec = read_yaml(path)
    python = spec.get("python")
    if python is not None and not isinstance(python, str | int | float):
        raise InvalidValueError(f'{path}: python is {shown(python)}; give a version, "3.11"')
    return PythonEnv(
        None if python is None else str(python),
        _list(spec, "build_dependencies", path),
        _list(spec, "dependencies", path),
    )


def _list(spec: dict[str, Any], key: str, path: Path) -> tuple[str, ...]:
    items = spec.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InvalidValueError(f"{path}: {key} must be a list of requirements (text)")
    for item in items:
        if item.startswith("-") and not item.startswith(("-r ", "--requirement ")):
            raise InvalidValueError(
                f"{path}: {key} holds {item!r}; a requirement is a package specifier "
                "(scikit-learn==1.5.2) or -r FILE"
            )
    return tuple(items)


def _requirements(items: tuple[str, ...], folder: Path) -> list[str]:
    # `-r FILE` is two arguments, the file in the project; anything else one requirement.
    argv: list[str] = []
    for item in items:
        if item.startswith("-"):
            file = item.split(None, 1)[1].strip()
            argv += ["-r", str(inside(folder, file, "a requirements file"))]
        else:
            argv.append(item)
    return argv


def _check_python(spec: PythonEnv, spec_file: Path | None) -> None:
    if spec.python is None:
        return
    running = sys.version.split()[0]
    wanted = spec.python.split(".")
    if running.split(".")[: len(wanted)] != wanted:
        raise InvalidValueError(
            f"{spec_file} asks for Python {spec.python}, and nbtrack builds environments on "
            f"the Python that runs it ({running}), whose nbtrack and DuckDB the entry point "
            f'logs through: set `python: "{".".join(running.split(".")[:2])}"`, or run '
            "with --env-manager local"
        )


def _tool(manager: str) -> list[str]:
    if manager == "uv":
        found = shutil.which("uv")
        if found is None and importlib.util.find_spec("uv") is not None:
            from uv import find_uv_bin

            found = find_uv_bin()
        if found is None:
            raise InvalidValueError("--env-manager uv needs uv: pip install uv")
        return [found]
    if importlib.util.find_spec("virtualenv") is not None:
        return [sys.executable, "-m", "virtualenv"]
    found = shutil.which("virtualenv")
    if found is None:
        raise InvalidValueError("--env-manager virtualenv needs virtualenv: pip install virtualenv")
    return [found]


def _key(manager: str, spec: PythonEnv, spec_file: Path | None) -> str:
    digest = hashlib.sha256()
    parts = [manager, sys.executable, sys.version, str(host_packages.nbtrack_folder()), _FORMAT]
    parts += [__version__, *host_packages.fingerprint()]
    parts += [spec.python, *spec.build_dependencies, "|", *spec.dependencies]
    digest.update(json.dumps(parts).encode())
    # A requirements file named with -r is part of what the environment is.
    folder = spec_file.parent if spec_file is not None else Path.cwd()
    for item in (*spec.build_dependencies, *spec.dependencies):
        if item.startswith("-"):
            file = inside(folder, item.split(None, 1)[1].strip(), "a requirements file")
            if not file.is_file():
                raise InvalidValueError(f"{spec_file} names {file}, which does not exist")
            digest.update(file.read_bytes())
    return digest.hexdigest()[:20]


def _site_packages(python: Path) -> Path:
    done = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip())
