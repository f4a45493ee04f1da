"""Wiring the handlers into a running ``ServerApp``, and choosing the store they read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nbtrack.config import URI_VARIABLE, discover_store, set_tracking_uri
from nbtrack.jupyter.handlers import handlers


def load(server_app: Any) -> None:
    """Add nbtrack's handlers below the server's base URL.

    Without ``NBTRACK_URI`` the store is the one a notebook at the server's root would find
    (walking up to its git repository), not the one of the folder the server was started in.
    """
    if not os.environ.get(URI_VARIABLE):
        set_tracking_uri(discover_store(Path(server_app.root_dir)))
    web_app = server_app.web_app
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", handlers(base_url))
    server_app.log.info("nbtrack: the runs API and pages are at %snbtrack/ui/", base_url)
