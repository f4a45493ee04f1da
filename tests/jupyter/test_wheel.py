"""What ``pip install nbtrack`` gets: the lab extension prebuilt in the wheel, enabled.

The wheel is built from the committed tree (``git archive HEAD``: no node_modules, no earlier
build) on a PATH with no Node.js on it, as on a fresh machine: the build brings its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = "nbtrack-{version}.data/data/"

pytestmark = pytest.mark.slow


def _committed_tree(target: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", "HEAD"],
        capture_output=True,
        check=True,
    ).stdout
    target.mkdir()
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)


def test_a_wheel_built_from_a_fresh_tree_without_node_carries_the_extension(
    tmp_path: Path,
) -> None:
    source = tmp_path / "nbtrack"
    _committed_tree(source)
    bare_path = str(Path(sys.executable).parent)  # this venv's scripts: pip, no node
    assert shutil.which("node", path=bare_path) is None
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path / "dist"), "."],
        cwd=source,
        env={**os.environ, "PATH": bare_path, "CI": "true"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("nbtrack-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    version = wheel.name.split("-")[1]
    share = DATA.format(version=version) + "share/jupyter/labextensions/nbtrack/"
    assert share + "package.json" in names
    assert share + "install.json" in names
    assert share + "static/style.js" in names
    assert any(n.startswith(share + "static/remoteEntry.") for n in names)
    assert share + "schemas/nbtrack/plugin.json" in names
    config = DATA.format(version=version) + "etc/jupyter/jupyter_server_config.d/nbtrack.json"
    enabled = json.loads(zipfile.ZipFile(wheel).read(config))
    assert enabled == {"ServerApp": {"jpserver_extensions": {"nbtrack.jupyter": True}}}
    # the built bundle is not shipped twice, inside the package as well
    assert not any(n.startswith("nbtrack/labextension/") for n in names)
    assert "nbtrack/jupyter/handlers.py" in names


def test_jupyter_lists_the_extension_enabled_where_it_is_installed() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(
        (line for line in (listed.stdout + listed.stderr).splitlines() if "nbtrack v" in line), ""
    )
    assert "enabled" in line and "OK" in line, listed.stdout + listed.stderr
