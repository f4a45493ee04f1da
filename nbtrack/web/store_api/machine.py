"""Who may call the store routes: nbtrack's clients, never a web page.

These routes change the store, and on loopback they need no token, so the UI's CSRF rule
(``web/access.py``: a change must come from the UI's own pages) cannot apply — nbtrack's
client is no page and sends no ``Origin``. They are exempt from it, and refuse instead what
a page could make a browser send: anything with the headers browsers add (``Origin``,
``Sec-Fetch-Site``), and bodies of the types a form may post without a CORS preflight
(``text/plain``, form encodings), which a JSON API never takes.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request

# Every path below this is a machine-to-machine route (UiAccess exempts it from CSRF).
MACHINE_PATHS: Final = "/nbtrack/store/"
# The content types a cross-site form or fetch may send without a preflight.
_SIMPLE_TYPES: Final = frozenset(
    {"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)


def browser_refusal(request: Request) -> str | None:
    """Why ``request`` looks like a browser's (and is refused), or None."""
    headers = request.headers
    if "origin" in headers or "sec-fetch-site" in headers:
        return "the store routes are for nbtrack's clients, not for web pages"
    if request.method == "GET":
        return None  # no body, and nothing changes: the type of a body does not apply
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type in _SIMPLE_TYPES:
        return (
            f"the store routes take a body of type application/json or an Arrow or journal "
            f"type, not {media_type or 'none'!r}"
        )
    return None
