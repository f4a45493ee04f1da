"""What a browser adds to the ``http`` guard: the token kept in a cookie, and CSRF.

A browser cannot send ``Authorization: Bearer`` on a link it follows, so off loopback the UI
is opened once as ``/?token=T``: the token is checked, kept in an HttpOnly, SameSite=Strict
cookie and taken out of the address bar; from then on the cookie becomes the header the guard
checks. A request that changes something (POST, PUT, PATCH, DELETE) must also come from the
UI's own pages: its ``Sec-Fetch-Site`` says ``same-origin`` or its ``Origin`` is this server,
unless it carries the token in its own Authorization header (which no other site's page can
send without a CORS preflight, which this server never allows).
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.responses import RedirectResponse, Response

from nbtrack.http.errors import JSON, error_body
from nbtrack.http.guard import ASGIApp, Receive, Scope, Send

COOKIE = "nbtrack_ui_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UiAccess:
    """ASGI middleware in front of the guard: token cookie in, CSRF out (see the docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        token: str | None,
        checked_prefixes: tuple[str, ...] = ("/",),
        exempt_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.token = token
        # Beside MLflow's REST API (``nbtrack server``) only the UI's own paths are checked:
        # MLflow's clients send neither Origin nor Sec-Fetch-Site, and a browser cannot post
        # that API's JSON from another site without a CORS preflight, which is never allowed.
        self.checked_prefixes = checked_prefixes
        # Routes for machines below a checked prefix (nbtrack's own clients, which send no
        # Origin): they refuse browsers' requests themselves (``web/store_api/machine.py``).
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        explicit = b"authorization" in headers
        redirect = self._token_in_address(scope)
        if redirect is not None:
            await redirect(scope, receive, send)
            return
        if self.token is not None and not explicit:
            cookie = _cookie(headers.get(b"cookie", b""))
            if cookie is not None:
                auth = (b"authorization", b"Bearer " + cookie.encode("latin-1"))
                scope = {**scope, "headers": [*scope["headers"], auth]}
        if (
            scope["method"] in UNSAFE_METHODS
            and scope["path"].startswith(self.checked_prefixes)
            and not (self.exempt_prefixes and scope["path"].startswith(self.exempt_prefixes))
            and not explicit
            and not _same_origin(headers)
        ):
            refusal = Response(
                error_body(403, "a change must come from the UI's own pages (CSRF check)"),
                403,
                media_type=JSON,
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _token_in_address(self, scope: Scope) -> Response | None:
        """``?token=T`` on a page: keep T in the cookie and send the browser on without it."""
        if self.token is None or scope["method"] != "GET":
            return None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [v for k, v in query if k == "token"]
        if not given or not hmac.compare_digest(given[0].encode(), self.token.encode()):
            return None
        rest = urlencode([(k, v) for k, v in query if k != "token"])
        response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), 303)
        response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
        return response


def _cookie(header: bytes) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header.decode("latin-1"))
    except Exception:  # a malformed Cookie header is no token
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def _same_origin(headers: dict[bytes, bytes]) -> bool:
    site = headers.get(b"sec-fetch-site")
    if site is not None:
        return site == b"same-origin"
    origin, host = headers.get(b"origin"), headers.get(b"host")
    if origin is None or host is None:
        return False
    return origin in (b"http://" + host, b"https://" + host)
