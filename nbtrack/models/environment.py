"""The environment files beside a model: what to install to load it elsewhere.

``requirements.txt``, ``python_env.yaml`` and ``conda.yaml`` in the shapes MLflow writes, so
``mlflow models serve`` can rebuild the environment. Versions are the installed ones, pinned.
"""

from __future__ import annotations

import functools
import platform
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from nbtrack.models.mlmodel import dump_yaml

REQUIREMENTS = "requirements.txt"
PYTHON_ENV = "python_env.yaml"
CONDA = "conda.yaml"
# Loaders feed pandas and numpy objects to every model, whatever its flavor.
_ALWAYS = ("numpy", "pandas")
_BUILD = ("pip", "setuptools", "wheel")


def pinned(distributions: Iterable[str]) -> list[str]:
    """``name==version`` for each installed distribution, in order, without repeats."""
    lines: list[str] = []
    for name in dict.fromkeys([*distributions, *_ALWAYS]):
        installed = _version(name)
        if installed is not None:
            lines.append(f"{name}=={installed}")
    return lines


def write_environment(folder: Path, requirements: list[str]) -> dict[str, str]:
    """Write the three files; return the ``env`` entry of ``python_function``."""
    for name, text in _environment_texts(tuple(requirements)).items():
        (folder / name).write_text(text, "utf-8")
    return {"conda": CONDA, "virtualenv": PYTHON_ENV}


# Once per process and list of requirements: the texts depend only on them and on this
# interpreter, and rendering the two YAML files was ~1 ms a model, every autologged fit.
@functools.cache
def _environment_texts(requirements: tuple[str, ...]) -> dict[str, str]:
    python = platform.python_version()
    build = [_pin_if_installed(name) for name in _BUILD]
    python_env = {
        "python": python,
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS}"],
    }
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={python}",
            build[0].replace("==", "<="),
            {"pip": list(requirements)},
        ],
        "name": "nbtrack-env",
    }
    return {
        REQUIREMENTS: "".join(f"{line}\n" for line in requirements),
        PYTHON_ENV: _ordered_yaml(python_env),
        CONDA: dump_yaml(conda),
    }


def _ordered_yaml(content: Mapping[str, object]) -> str:
    # MLflow keeps python_env.yaml in this order (python first); dump each key on its own.
    return "".join(dump_yaml({key: value}) for key, value in content.items())


def _pin_if_installed(name: str) -> str:
    installed = _version(name)
    return name if installed is None else f"{name}=={installed}"


# Once per process: a metadata lookup scans site-packages (about 2 ms a package, 9 packages a
# model), and the version that matters is that of the module this process imported, which an
# upgrade on disk later does not change.
@functools.cache
def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None
