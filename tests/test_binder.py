"""binder/ gives a working Binder: what can be checked without Docker.

A real Binder build needs a Docker daemon (mybinder.org has one, this machine and CI do not).
What is checked here instead:

- binder/runtime.txt names a Python that pyproject's ``requires-python`` accepts;
- binder/requirements.txt resolves against the package index for that Python on Binder's
  platform (needs the index, as ``pip install`` does), and what it resolves to provides every
  module the demo notebooks import;
- repo2docker, asked for the Dockerfile only (``--no-build``: no daemon needed), installs
  binder/requirements.txt with the Python of runtime.txt into the kernel's environment;
- opt-in (``NBTRACK_BINDER_FULL=1``, several minutes): a fresh virtual environment with only
  binder/requirements.txt installed runs every notebook in notebooks/ without an error.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
REQUIREMENTS = BINDER / "requirements.txt"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

# mybinder.org builds on repo2docker's Ubuntu 24.04 image: x86_64, glibc 2.39. pip matches a
# --platform exactly, so every manylinux tag that image accepts is listed.
BINDER_PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(39, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]

# Modules the notebooks import whose distribution has another name.
DISTRIBUTION_OF_MODULE = {"sklearn": "scikit-learn", "yaml": "pyyaml", "IPython": "ipython"}


def _binder_python_version() -> str:
    text = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(3\.\d+)", text)
    assert match, f"binder/runtime.txt should read like 'python-3.12', not {text!r}"
    return match.group(1)


def _notebook_imports() -> set[str]:
    """Top-level modules imported by the notebooks' code cells (magics' lines left out)."""
    modules: set[str] = set()
    for notebook in NOTEBOOKS:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            lines = [
                line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
            ]
            for node in ast.walk(ast.parse("\n".join(lines), filename=str(notebook))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules


def test_runtime_txt_names_a_python_the_package_supports() -> None:
    version = _binder_python_version()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    requires_python = SpecifierSet(pyproject["project"]["requires-python"])
    assert requires_python.contains(f"{version}.0"), (version, str(requires_python))


@pytest.fixture(scope="module")
def binder_resolution(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """pip's report of what binder/requirements.txt installs on Binder (resolved, not installed).

    --ignore-installed makes pip resolve every requirement from the index instead of accepting
    this environment's packages; --python-version/--platform (which pip accepts only with
    --target and wheels only) resolve for runtime.txt's Python on Binder's platform rather than
    for the interpreter running the tests. "." is built from the working tree for its metadata.
    """
    out = tmp_path_factory.mktemp("binder-resolution")
    report = out / "report.json"
    platforms = [arg for platform in BINDER_PLATFORMS for arg in ("--platform", platform)]
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--quiet",
        "--ignore-installed",
        "--disable-pip-version-check",
        "--target",
        str(out / "target"),
        "--python-version",
        _binder_python_version(),
        "--only-binary=:all:",
        *platforms,
        "--report",
        str(report),
        "-r",
        str(REQUIREMENTS.relative_to(REPO)),
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert not (out / "target").exists(), "a dry run installed something"
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return data


def _resolved(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {canonicalize_name(item["metadata"]["name"]): item for item in report["install"]}


def test_binder_requirements_resolve_for_binders_python(
    binder_resolution: dict[str, Any],
) -> None:
    resolved = _resolved(binder_resolution)
    # the repository itself, from the working tree (repo2docker runs pip at the repository root)
    nbtrack = resolved["nbtrack"]
    assert nbtrack["download_info"]["url"] == REPO.as_uri(), nbtrack["download_info"]
    assert "scikit-learn" in resolved
    assert "requests" in resolved
    # nbtrack's own dependencies come along with "."
    for name in ["duckdb", "pandas", "ipywidgets", "anywidget", "altair", "starlette"]:
        assert name in resolved, f"{name} missing from {sorted(resolved)}"


def test_binder_requirements_provide_every_module_the_notebooks_import(
    binder_resolution: dict[str, Any],
) -> None:
    imports = _notebook_imports()
    assert {"nbtrack", "sklearn"} <= imports, imports  # the parser sees the notebooks' imports
    resolved = set(_resolved(binder_resolution))
    missing = {
        module
        for module in imports - set(sys.stdlib_module_names)
        if canonicalize_name(DISTRIBUTION_OF_MODULE.get(module, module)) not in resolved
    }
    assert not missing, f"notebooks import {sorted(missing)}: add them to binder/requirements.txt"


def test_repo2docker_dockerfile_installs_binder_requirements_with_runtime_python() -> None:
    """repo2docker's own reading of the repository, without Docker.

    ``repo2docker --no-build`` (with ``--debug`` to print the Dockerfile) picks the buildpack
    and renders the Dockerfile without contacting a Docker daemon; the CLI in a subprocess is
    what a user would run, and keeps repo2docker's import-time warnings out of this process.
    """
    command = [sys.executable, "-m", "repo2docker", "--no-build", "--debug", "--no-run", "."]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-4000:]
    dockerfile, log = result.stdout, result.stderr
    assert "FROM " in dockerfile, (dockerfile, log)

    # The requirements are installed by the kernel's pip, from the repository root...
    assert re.search(
        r'^RUN \$\{KERNEL_PYTHON_PREFIX\}/bin/pip install .*-r "?binder/requirements\.txt"?$',
        dockerfile,
        flags=re.M,
    ), dockerfile
    assert "ENV KERNEL_PYTHON_PREFIX=${NB_PYTHON_PREFIX}" in dockerfile  # one env: the server's
    # ...and only them: with binder/ present, root-level configuration is ignored.
    assert "binder/postBuild" not in dockerfile

    # runtime.txt's Python: said in the log, and its conda lock file is what the image copies.
    version = _binder_python_version()
    assert f"Building conda environment for python={version}" in log, log
    # build_script_files names are escaped paths ("-2e" is ".", "-2d" is "-"): decode them.
    decoded = re.sub(r"-([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), dockerfile)
    assert f"environment.py-{version}-linux-64.lock" in decoded, dockerfile


def _python_for(version: str) -> str:
    """runtime.txt's Python if it can be found (NBTRACK_BINDER_PYTHON, pythonX.Y), else ours."""
    for candidate in [os.environ.get("NBTRACK_BINDER_PYTHON"), shutil.which(f"python{version}")]:
        if not candidate:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return sys.executable


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("NBTRACK_BINDER_FULL") != "1",
    reason="installs binder/requirements.txt into a new venv (minutes): NBTRACK_BINDER_FULL=1",
)
def test_notebooks_run_from_binder_requirements_alone(tmp_path: Path) -> None:
    """Every notebook runs in a fresh venv holding binder/requirements.txt and a test runner.

    The venv uses runtime.txt's Python when it is found (set NBTRACK_BINDER_PYTHON to point at
    one), otherwise the interpreter running this test. Binder's base environment brings the
    kernel (ipykernel) and JupyterLab; here pytest + nbval (which brings ipykernel) stand in.
    """
    python = _python_for(_binder_python_version())
    venv = tmp_path / "binder-venv"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])

    def run(*args: str | Path, cwd: Path = tmp_path) -> str:
        result = subprocess.run(
            [str(arg) for arg in args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert result.returncode == 0, (args, result.stdout[-6000:], result.stderr[-4000:])
        return result.stdout

    run(python, "-m", "venv", venv)
    venv_python = venv / "bin" / "python"
    pip = [venv_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run(*pip, "-r", REQUIREMENTS.relative_to(REPO), cwd=REPO)
    run(*pip, "pytest", "nbval")

    # nbtrack is the installed copy, not the working tree
    where = run(venv_python, "-c", "import nbtrack; print(nbtrack.__file__)").strip()
    assert Path(where).is_relative_to(venv), where

    # the repository's pytest configuration: --nbval-lax --nbval-current-env, warnings as errors;
    # its sanitizer file is named relative to the working folder, which must not be the
    # repository (python -m pytest would import the working tree's nbtrack)
    (tmp_path / "notebooks").mkdir()
    shutil.copy(REPO / "notebooks" / "nbval-sanitize.cfg", tmp_path / "notebooks")
    output = run(
        venv_python,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        REPO,
        "-c",
        REPO / "pyproject.toml",
        *NOTEBOOKS,
    )
    cells = sum(
        cell["cell_type"] == "code"
        for notebook in NOTEBOOKS
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    )
    assert re.search(rf"\b{cells} passed\b", output), output  # every code cell ran
