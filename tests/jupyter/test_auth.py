"""Every endpoint of the server extension needs Jupyter's authentication.

jupyter_server warns (``JupyterServerAuthWarning``) about each handler method without an
authentication decorator when unauthenticated access is not allowed; the warning fails here.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from jupyter_server.serverapp import ServerApp
from jupyter_server.utils import JupyterServerAuthWarning

UNGUARDED_EXTENSION = """
from jupyter_server.base.handlers import APIHandler

class Open(APIHandler):
    def get(self):
        self.finish("{}")

def _jupyter_server_extension_points():
    return [{"module": "unguarded_extension"}]

def _load_jupyter_server_extension(app):
    app.web_app.add_handlers(".*$", [("/unguarded", Open)])
"""


def _auth_warnings(extension: str, root: Path) -> list[str]:
    app = ServerApp(
        allow_unauthenticated_access=False,
        jpserver_extensions={extension: True},
        reraise_server_extension_failures=True,
        root_dir=str(root),
    )
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        app.initialize(argv=[], find_extensions=False, new_httpserver=False)
    return [str(r.message) for r in records if issubclass(r.category, JupyterServerAuthWarning)]


def test_no_endpoint_of_the_extension_is_open_without_authentication(store_path: Path) -> None:
    problems = _auth_warnings("nbtrack.jupyter", store_path.parent)
    assert problems == []


def test_the_check_catches_a_handler_without_authenticated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "unguarded_extension.py").write_text(UNGUARDED_EXTENSION)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        problems = _auth_warnings("unguarded_extension", tmp_path)
    finally:
        sys.modules.pop("unguarded_extension", None)
    assert any("Open" in problem and "GET" in problem.upper() for problem in problems), problems
