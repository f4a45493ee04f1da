"""The jupyter_server extension behind the JupyterLab extension (``labextension/``).

It serves what ``nbtrack ui`` serves, below the server's base URL: the read API at
``{base_url}nbtrack/api/`` and the page files at ``{base_url}nbtrack/ui/``, so the lab shows
the same run, compare and registry pages, in the same origin, behind Jupyter's own login.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbtrack.jupyter"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from nbtrack.jupyter.extension import load

    load(server_app)
