"""A real server on a loopback port against clients that break the rules: duplicated Host
headers, malformed requests, clients that stall or vanish, more connections than it keeps."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

import nbtrack
from nbtrack.serving.background import Server
from tests.serving.conftest import Churn

SECRET = "SECRET-7f3a"


@pytest.fixture
def server(churn: Churn) -> Iterator[Server]:
    with nbtrack.serve("churn") as server:
        yield server


def exchange(port: int, request: bytes, timeout_s: float = 10.0) -> bytes:
    """Send ``request`` as it is and read until the server closes or a response is complete."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as connection:
        connection.sendall(request)
        received = b""
        while not _complete(received):
            data = connection.recv(65536)
            if not data:
                break
            received += data
        return received


def _complete(received: bytes) -> bool:
    head, found, body = received.partition(b"\r\n\r\n")
    for line in head.lower().split(b"\r\n"):
        if found and line.startswith(b"content-length:"):
            return len(body) >= int(line.partition(b":")[2])
    return False


def status_and_error(response: bytes) -> tuple[int, dict[str, str]]:
    """The status and the JSON error body of a raw response, checked for MLflow's shape."""
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), response
    assert SECRET.encode() not in response
    error = json.loads(body)
    assert set(error) == {"error_code", "message"}
    return int(head.split(b" ")[1]), error


def test_two_host_headers_are_refused_whichever_comes_first(server: Server) -> None:
    for hosts in (("evil.example", "127.0.0.1"), ("127.0.0.1", "evil.example")):
        request = f"GET /metadata HTTP/1.1\r\nHost: {hosts[0]}\r\nHost: {hosts[1]}\r\n\r\n".encode()
        status, error = status_and_error(exchange(server.port, request))
        assert status == 400
        assert error == {
            "error_code": "BAD_REQUEST",
            "message": "the request has more than one Host header",
        }


def test_a_request_without_a_host_header_is_refused(server: Server) -> None:
    status, error = status_and_error(exchange(server.port, b"GET /metadata HTTP/1.1\r\n\r\n"))
    assert (status, error["error_code"]) == (400, "BAD_REQUEST")
    assert error["message"] == "the request has no Host header"
    # HTTP/1.0 has no Host header: the loopback names are not there to check against either.
    status, _ = status_and_error(exchange(server.port, b"GET /metadata HTTP/1.0\r\n\r\n"))
    assert status == 403
