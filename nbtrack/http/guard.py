"""What every request passes before an endpoint sees it, and its line in the access log.

In order: one Host header, naming a host this server answers for; the token; fewer than
``capacity.limit`` requests in progress, or 503 (``/ping`` and ``/health`` pass the last two
regardless: a load balancer should see a busy server as up, not as dead and to be restarted).
Pure ASGI rather than Starlette's BaseHTTPMiddleware, which costs a task per request.
"""

from __future__ import annotations

import base64
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from starlette.responses import Response

from nbtrack.http.connections import Capacity
from nbtrack.http.errors import JSON, error_body
from nbtrack.http.settings import Settings, host_header_name

log = logging.getLogger("nbtrack.serve")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Paths answered without a token and past the connection limit: load balancers probe them,
# and they reveal nothing.
OPEN_PATHS = frozenset({"/ping", "/health"})
# The status logged for a request whose client left before its body arrived (nginx's).
CLIENT_CLOSED = 499
_NOTES = {CLIENT_CLOSED: "the client closed the connection before sending its whole body"}
_CLOSE = (b"connection", b"close")


class Guard:
    """The Host, token and capacity checks of this module's docstring, and the access log.

    A response to a request whose body was not read to its end closes the connection: the
    rest of the body would otherwise hold it, with no deadline, as it trickles in.
    """

    def __init__(self, app: ASGIApp, settings: Settings, capacity: Capacity | None) -> None:
        self.app = app
        self.allowed_hosts = settings.allowed_hosts
        self.token = settings.token.encode() if settings.token is not None else None
        self.capacity = capacity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        exchange = _Exchange(receive, send, unread=_has_body(scope))
        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, exchange.send)
            elif self.capacity is None or scope["path"] in OPEN_PATHS:
                await self.app(scope, exchange.receive, exchange.send)
            else:
                self.capacity.busy += 1
                try:
                    await self.app(scope, exchange.receive, exchange.send)
                finally:
                    self.capacity.busy -= 1
        finally:
            if log.isEnabledFor(logging.INFO):
                _log_request(scope, exchange.status or 500, time.perf_counter() - started)

    def _refusal(self, scope: Scope) -> Response | None:
        hosts: list[bytes] = []
        authorization = None
        for name, value in scope["headers"]:
            if name == b"host":
                hosts.append(value)
            elif name == b"authorization":
                authorization = value
        # RFC 9112 3.2: 400 for two Host headers (a proxy may check one, this server the
        # other) and for none in HTTP/1.1.
        if len(hosts) > 1:
            return _error(400, "the request has more than one Host header")
        if not hosts and scope.get("http_version") == "1.1":
            return _error(400, "the request has no Host header")
        host = hosts[0] if hosts else None
        if self.allowed_hosts is not None and (
            host is None or host_header_name(host.decode("latin-1")) not in self.allowed_hosts
        ):
            return _error(
                403,
                "this server does not answer for the host named in the Host header; "
                "add the name with --allowed-hosts",
            )
        if scope["path"] in OPEN_PATHS:
            return None
        return self._token_refusal(authorization) or self._busy_refusal()

    def _token_refusal(self, authorization: bytes | None) -> Response | None:
        if self.token is None:
            return None
        given = _presented_token(authorization or b"")
        if given is None:
            return _error(
                401,
                "this server needs its token: send the header 'Authorization: Bearer TOKEN' "
                "(MLflow's client: MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_PASSWORD)",
                {"www-authenticate": "Bearer"},
            )
        if not hmac.compare_digest(given, self.token):
            return _error(401, "the token is not accepted", {"www-authenticate": "Bearer"})
        return None

    def _busy_refusal(self) -> Response | None:
        if self.capacity is None or self.capacity.busy < self.capacity.limit:
            return None
        return _error(
            503,
            f"the server is busy: {self.capacity.limit} requests are in progress "
            "(--max-connections); try again shortly",
            {"connection": "close", "retry-after": "1"},
        )


class _Exchange:
    """One request's receive and send, noting its status and whether its body was read."""

    def __init__(self, receive: Receive, send: Send, unread: bool) -> None:
        self._receive = receive
        self._send = send
        self.unread = unread
        self.status = 0

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.unread = False
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self.unread and _CLOSE not in message.get("headers", ()):
                message = {**message, "headers": [*message.get("headers", ()), _CLOSE]}
        await self._send(message)


def _presented_token(authorization: bytes) -> bytes | None:
    """The token of ``Bearer TOKEN``, or the password of HTTP Basic (MLflow's client sends
    MLFLOW_TRACKING_USERNAME/PASSWORD that way; the user name is not checked)."""
    scheme, _, value = authorization.partition(b" ")
    value = value.strip()
    if not value:
        return None
    if scheme.lower() == b"bearer":
        return value
    if scheme.lower() == b"basic":
        try:
            decoded = base64.b64decode(value, validate=True)
        except ValueError:
            return None
        _, colon, password = decoded.partition(b":")
        return password if colon and password else None
    return None


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


def _log_request(scope: Scope, status: int, seconds: float) -> None:
    client = scope.get("client")
    note = _NOTES.get(status)
    # The path as sent, still percent-encoded: a decoded %0A would start a forged log line.
    raw_path = scope.get("raw_path")
    path = raw_path.decode("ascii", "backslashreplace") if raw_path else scope["path"]
    log.info(
        "%s %s %s %d %.1fms%s",
        f"{client[0]}:{client[1]}" if client else "-",
        scope["method"],
        path,
        status,
        seconds * 1000,
        f": {note}" if note else "",
    )


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(error_body(status, message), status, headers=headers, media_type=JSON)
