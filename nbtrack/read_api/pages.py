"""The UI's page files, served the same by every host below ``/nbtrack/ui/``.

``pages/`` holds plain HTML, CSS and ES modules (no build step). Two files are made here:
``vega.js``, the Vega, Vega-Lite and vega-embed libraries bundled by vl-convert (so nothing
comes from a CDN; made once per vl-convert version and kept in the user's cache folder), and
``code.css``, pygments' styles for the highlighted code.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from nbtrack.config import cache_folder
from nbtrack.read_api.code import style_sheet

PAGES = Path(__file__).with_name("pages")
UI_PREFIX = "/nbtrack/ui/"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# The pages' own policy: their scripts and styles only from this origin; Vega compiles its
# expressions with Function(), hence 'unsafe-eval'; artifacts only in frames.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; frame-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_bundle_lock = threading.Lock()
# What the bundle leaves on ``window`` for the pages' modules (a classic script has no exports).
_GLOBALS = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"


def page_file(name: str) -> tuple[bytes, str] | None:
    """The bytes and media type of page file ``name`` (``index.html``, ``app.js``, ...), or
    None when there is no such file. Only files directly in ``pages/`` are served."""
    if name in ("", "index.html"):
        name = "index.html"
    if name == "vega.js":
        return vega_bundle().read_bytes(), _TYPES[".js"]
    if name == "code.css":
        return style_sheet().encode(), _TYPES[".css"]
    media_type = _TYPES.get(Path(name).suffix)
    if media_type is None or "/" in name or name.startswith("."):
        return None
    path = PAGES / name
    return (path.read_bytes(), media_type) if path.is_file() else None


def vega_bundle() -> Path:
    """The Vega + Vega-Lite + vega-embed bundle, made by vl-convert the first time."""
    from importlib.metadata import version

    import vl_convert

    folder = cache_folder()
    path = folder / f"vega-bundle-{version('vl-convert-python')}-1.js"
    with _bundle_lock:
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            staging = path.with_suffix(f".{os.getpid()}.tmp")
            staging.write_text(vl_convert.javascript_bundle(_GLOBALS), encoding="utf-8")
            os.replace(staging, path)
    return path
