"""The ``MLproject`` file, read as MLflow reads it.

``name``, ``entry_points`` (each a ``command`` with typed ``parameters``) and at most one of
``python_env``, ``conda_env`` and ``docker_env``; without any, a ``python_env.yaml`` (else a
``conda.yaml``) beside it is the environment. The file is found whatever its case, and a folder
without one is a project whose entry points are its files. An entry point that is not declared
but named like a file of the project runs that file: ``train.py`` with Python, ``prepare.sh``
with bash, ``explore.ipynb`` as a notebook.
"""

from __future__ import annotations

import importlib
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidValueError
from nbtrack.projects.parameters import Parameter, declared
from nbtrack.tracking.validation import check_name, shown

MLPROJECT = "mlproject"
ENVIRONMENT_FIELDS = ("python_env", "conda_env", "docker_env")
DEFAULT_ENVIRONMENTS = (("python_env", "python_env.yaml"), ("conda_env", "conda.yaml"))
# How a file named as an entry point is run.
RUNNERS = {".py": "python", ".sh": "bash", ".ipynb": None}


@dataclass(frozen=True)
class EntryPoint:
    """A command with its parameters, or a notebook (``notebook`` is then its path)."""

    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    notebook: Path | None = None


@dataclass(frozen=True)
class Environment:
    """What the project says it runs in: a kind (``python_env``, ``conda_env``, ``docker_env``)
    and its file (None for ``docker_env``, which names an image)."""

    kind: str
    file: Path | None


@dataclass(frozen=True)
class Project:
    folder: Path
    name: str | None
    entry_points: dict[str, EntryPoint]
    environment: Environment | None
    mlproject: Path | None

    def entry_point(self, name: str) -> EntryPoint:
        """The declared entry point ``name``, or the project's file of that name."""
        if name in self.entry_points:
            return self.entry_points[name]
        suffix = Path(name).suffix
        if suffix in RUNNERS:
            path = inside(self.folder, name, f"entry point {name!r}")
            if not path.is_file():
                raise InvalidValueError(f"entry point {name!r}: there is no file {path}")
            runner = RUNNERS[suffix]
            if runner is None:
                return EntryPoint(name, name, notebook=path)
            return EntryPoint(name, f"{runner} {shlex.quote(name)}")
        declared_names = ", ".join(self.entry_points) or "none"
        where = (
            f"the MLproject file declares: {declared_names}"
            if self.mlproject
            else (f"{self.folder} has no MLproject file")
        )
        raise InvalidValueError(
            f"no entry point {name!r} ({where}); an entry point may also be a file of the "
            "project: a .py, .sh or .ipynb file"
        )


def load_project(folder: Path) -> Project:
    """The project in ``folder``; everything wrong with its MLproject file is refused here."""
    mlproject = find_mlproject(folder)
    spec = read_yaml(mlproject) if mlproject is not None else {}
    name = spec.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidValueError(f"{mlproject}: name is {shown(name)}; it must be text")
    points = spec.get("entry_points") or {}
    if not isinstance(points, Mapping):
        raise InvalidValueError(f"{mlproject}: entry_points must map names to entry points")
    entry_points = {
        check_name(key, "an entry point name"): _entry_point(folder, key, value)
        for key, value in points.items()
    }
    return Project(folder, name, entry_points, _environment(folder, mlproject, spec), mlproject)


def find_mlproject(folder: Path) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.name.lower() == MLPROJECT and p.is_file())
    if len(found) > 1:
        raise InvalidValueError(
            f"{folder} holds {len(found)} MLproject files ({', '.join(p.name for p in found)}); "
            "keep one"
        )
    return found[0] if found else None


def inside(folder: Path, name: str, what: str) -> Path:
    """``folder / name``, which must stay in the project folder."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise InvalidValueError(f"{what}: {name!r} is outside the project folder {folder}")
    return path


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML file that holds a mapping (empty: an empty one)."""
    # import_module, not import: PyYAML's type stubs are an optional install.
    yaml = importlib.import_module("yaml")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidValueError(f"{path} is not valid YAML: {exc}") from None
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise InvalidValueError(f"{path} must hold a YAML mapping, got {shown(spec)}")
    return spec


def _entry_point(folder: Path, name: str, spec: object) -> EntryPoint:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("command"), str):
        raise InvalidValueError(
            f"entry point {name!r} must have a command (text), got {shown(spec)}"
        )
    command: str = spec["command"].strip()
    parameters = spec.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise InvalidValueError(f"the parameters of entry point {name!r} must be a mapping")
    checked = [declared(name, key, value) for key, value in parameters.items()]
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise InvalidValueError(
            f"the command of entry point {name!r} ({exc}): {command!r}"
        ) from None
    notebook = None
    if len(words) == 1 and words[0].endswith(".ipynb"):
        notebook = inside(folder, words[0], f"entry point {name!r}")
        if not notebook.is_file():
            raise InvalidValueError(f"entry point {name!r} runs {notebook}, which does not exist")
    return EntryPoint(name, command, {p.name: p for p in checked}, notebook)


def _environment(
    folder: Path, mlproject: Path | None, spec: Mapping[str, Any]
) -> Environment | None:
    given = [kind for kind in ENVIRONMENT_FIELDS if kind in spec]
    if len(given) > 1:
        raise InvalidValueError(
            f"{mlproject} declares {' and '.join(given)}; a project has one environment"
        )
    if given == ["docker_env"]:
        return Environment("docker_env", None)
    if given:
        kind, value = given[0], spec[given[0]]
        if not isinstance(value, str):
            raise InvalidValueError(f"{mlproject}: {kind} must name a file, got {shown(value)}")
        path = inside(folder, value, kind)
        if not path.is_file():
            raise InvalidValueError(f"{mlproject}: {kind} names {path}, which does not exist")
        return Environment(kind, path)
    for kind, default in DEFAULT_ENVIRONMENTS:
        if (folder / default).is_file():
            return Environment(kind, folder / default)
    return None
