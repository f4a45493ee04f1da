"""Requests from this process to the `nbtrack server` of NBTRACK_URI, over kept-alive connections.

One ``http.client`` connection per thread (it is not thread-safe), made again after a fork or
once the server closed it. Every failure comes back as one of nbtrack's errors: the server not
answering is ``ServerUnreachableError`` (the caller decides whether to queue and retry), and an
error the server answered in MLflow's JSON shape (``{"error_code", "message"}``) becomes the
error of the same meaning here (``NotFoundError`` for ``RESOURCE_DOES_NOT_EXIST``, ...), with the
server's message.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from nbtrack import errors
from nbtrack.config import ServerAddress
from nbtrack.errors import (
    AlreadyExistsError,
    InvalidValueError,
    NbtrackError,
    NotFoundError,
    RunGoneError,
    ServerError,
    ServerUnreachableError,
)

Body = bytes | BinaryIO | Iterable[bytes] | None

# MLflow's error codes whose meaning nbtrack has an error for; any other is a ServerError.
_ERRORS_BY_CODE: dict[str, type[NbtrackError]] = {
    "RESOURCE_DOES_NOT_EXIST": NotFoundError,
    "ENDPOINT_NOT_FOUND": NotFoundError,
    "RESOURCE_ALREADY_EXISTS": AlreadyExistsError,
    "INVALID_PARAMETER_VALUE": InvalidValueError,
    "BAD_REQUEST": InvalidValueError,
    "RESOURCE_LIMIT_EXCEEDED": InvalidValueError,
}


@dataclass(frozen=True)
class ServerResponse:
    """A whole answer: its status, headers (names in lower case) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


class ServerConnection:
    """Requests to one server, with its token; usable from any thread."""

    def __init__(self, address: ServerAddress, timeout_s: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(address.url)
        self.address = address
        self.timeout_s = timeout_s
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._prefix = parts.path
        self._local = threading.local()
        # Every thread's connection, so that ``close`` closes those of threads that are gone.
        self._opened: list[http.client.HTTPConnection] = []
        self._opened_lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.address.url

    def request(
        self,
        method: str,
        path: str,
        body: Body = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> ServerResponse:
        """Send one request to ``path`` (below the server's URL) and read the whole answer.

        Raises ``ServerUnreachableError`` when the server does not answer, and the matching
        nbtrack error when it answers 4xx/5xx. A body that is a file or an iterable is streamed
        (chunked unless ``Content-Length`` is given), never read into memory here.
        """
        response = self._send(method, path, body, headers, timeout_s)
        try:
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise self._unreachable(exc) from exc
        finally:
            response.close()
        answer = ServerResponse(response.status, _lower(response.getheaders()), data)
        if answer.status >= 400:
            raise self.error_for(answer, f"{method} {path}")
        return answer

    def open(
        self,
        method: str,
        path: str,
        body: Body = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> http.client.HTTPResponse:
        """Send one request and hand back the open answer, to be read in pieces (a large
        download) and closed by the caller. Errors are raised as by ``request``."""
        response = self._send(method, path, body, headers, timeout_s)
        if response.status >= 400:
            try:
                data = response.read()
            finally:
                response.close()
            raise self.error_for(
                ServerResponse(response.status, _lower(response.getheaders()), data),
                f"{method} {path}",
            )
        return response

    def error_for(self, answer: ServerResponse, what: str) -> NbtrackError:
        """The nbtrack error for an error answer, with the server's own message."""
        code, message = "", answer.body.decode("utf-8", "replace")[:2000]
        try:
            decoded = json.loads(answer.body)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            code = str(decoded.get("error_code", ""))
            message = str(decoded.get("message", message))
        if answer.status in (401, 403):
            return ServerError(
                f"the server {self.url} refused {what} ({answer.status}): {message}; "
                "set NBTRACK_TOKEN to the token the server was started with"
            )
        if answer.status == 410:
            return RunGoneError(message)
        named = _named_error(decoded)
        if named is not None:
            return named(message)
        error = _ERRORS_BY_CODE.get(code)
        if error is None or answer.status >= 500:
            return ServerError(f"the server {self.url} failed {what} ({answer.status}): {message}")
        return error(message)

    def _send(
        self,
        method: str,
        path: str,
        body: Body,
        headers: Mapping[str, str] | None,
        timeout_s: float | None,
    ) -> http.client.HTTPResponse:
        sent = {"Accept": "application/json", **(headers or {})}
        if self.address.token:
            sent["Authorization"] = f"Bearer {self.address.token}"
        replayable = body is None or isinstance(body, bytes)
        # A kept-alive connection the server has since closed fails on first use; a request
        # whose body can be sent again is retried once on a fresh connection.
        for attempt in (1, 2):
            connection = self._connection(timeout_s)
            try:
                connection.request(
                    method,
                    self._prefix + path,
                    body=body,
                    headers=sent,
                    encode_chunked=not replayable and "Content-Length" not in sent,
                )
                return connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                stale = isinstance(
                    exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
                )
                if attempt == 2 or not (stale and replayable):
                    raise self._unreachable(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, timeout_s: float | None) -> http.client.HTTPConnection:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        held = getattr(self._local, "connection", None)
        if held is None or getattr(self._local, "pid", None) != os.getpid():
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            held = kind(self._host, self._port, timeout=timeout)
            self._local.connection, self._local.pid = held, os.getpid()
            with self._opened_lock:
                self._opened.append(held)
        held.timeout = timeout
        if held.sock is not None:
            held.sock.settimeout(timeout)
        return held

    def _drop(self) -> None:
        held = getattr(self._local, "connection", None)
        self._local.connection = None
        if held is not None:
            held.close()
            with self._opened_lock:
                self._opened = [other for other in self._opened if other is not held]

    def close(self) -> None:
        """Close the connections of every thread; a later request opens a new one."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for held in opened:
            held.close()
        self._local = threading.local()

    def _unreachable(self, exc: BaseException) -> ServerUnreachableError:
        return ServerUnreachableError(
            f"the server {self.url} does not answer ({type(exc).__name__}: {exc}); "
            "logging goes on into the local journal and is sent once it answers"
        )


def _named_error(decoded: object) -> type[NbtrackError] | None:
    """The class an nbtrack server names in ``nbtrack_error`` (its store calls do), if it is
    one of ``nbtrack.errors``: the client raises what the operation raised on the server."""
    name = decoded.get("nbtrack_error") if isinstance(decoded, dict) else None
    found = getattr(errors, name, None) if isinstance(name, str) else None
    if isinstance(found, type) and issubclass(found, NbtrackError):
        return found
    return None


def _lower(headers: list[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}
