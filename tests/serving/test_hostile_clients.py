"""A real server on a loopback port against clients that break the rules: duplicated Host
headers, malformed requests, clients that stall or vanish, more connections than it keeps."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import nbtrack
from nbtrack.serving.background import Server, serve
from tests.serving.conftest import Churn, free_port, is_mlflow_error, wait_ready

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
    assert is_mlflow_error(error), error
    return int(head.split(b" ")[1]), error


def test_two_host_headers_are_refused_whichever_comes_first(server: Server) -> None:
    evil = f"{SECRET}.example"
    for hosts in ((evil, "127.0.0.1"), ("127.0.0.1", evil)):
        request = f"GET /metadata HTTP/1.1\r\nHost: {hosts[0]}\r\nHost: {hosts[1]}\r\n\r\n".encode()
        status, error = status_and_error(exchange(server.port, request))
        assert status == 400
        assert (error["error_code"], error["message"]) == (
            "BAD_REQUEST",
            "the request has more than one Host header",
        )


def test_a_request_without_a_host_header_is_refused(server: Server) -> None:
    status, error = status_and_error(exchange(server.port, b"GET /metadata HTTP/1.1\r\n\r\n"))
    assert (status, error["error_code"]) == (400, "BAD_REQUEST")
    assert error["message"] == "the request has no Host header"
    # HTTP/1.0 has no Host header: the loopback names are not there to check against either.
    status, _ = status_and_error(exchange(server.port, b"GET /metadata HTTP/1.0\r\n\r\n"))
    assert status == 403


# -- malformed requests -------------------------------------------------------------------------

MALFORMED = {
    "not HTTP": f"{SECRET} {SECRET}\r\n\r\n".encode(),
    "a space in a header name": f"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX {SECRET}: 1\r\n\r\n",
    "a length that is no number": "POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    f"Content-Length: {SECRET}\r\n\r\n",
    "a length and chunks": "POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n"
    f"Transfer-Encoding: chunked\r\n\r\n3\r\n{SECRET}\r\n0\r\n\r\n",
    "a bad chunk size": "POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    f"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n{SECRET}\r\n",
    "HTTP/2 without asking": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "a control character in the path": f"GET /\x01{SECRET} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_requests_get_mlflows_json_400_and_a_closed_connection(
    server: Server, case: str
) -> None:
    request = MALFORMED[case]
    response = exchange(server.port, request if isinstance(request, bytes) else request.encode())
    status, error = status_and_error(response)
    assert (status, error["error_code"]) == (400, "BAD_REQUEST")
    assert error["message"] == "the request is not valid HTTP/1.1"
    assert b"connection: close" in response.lower()


def test_endless_headers_are_refused_with_431(server: Server) -> None:
    padding = "".join(f"X-Pad-{n}: {SECRET * 100}\r\n" for n in range(100))
    request = f"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n{padding}\r\n".encode()
    status, error = status_and_error(exchange(server.port, request))
    assert (status, error["error_code"]) == (431, "BAD_REQUEST")
    assert "32768 bytes" in error["message"]
    # One header that never ends, sent a piece at a time: refused once it passes the limit,
    # rather than kept whole in memory.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: ")
        for _ in range(100):
            if select.select([connection], [], [], 0.01)[0]:
                break
            connection.sendall(b"a" * 4096)
        status, error = status_and_error(read_until_closed(connection))
    assert status == 431


# -- slow clients -------------------------------------------------------------------------------

POST_HEAD = (
    b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n\r\n"
)


@pytest.fixture
def quick(churn: Churn) -> Iterator[Server]:
    """A server whose header and body timeouts are short enough to wait for in a test."""
    with serve("churn", header_timeout=0.5, body_timeout=0.5) as server:
        yield server


def test_a_body_that_does_not_arrive_in_time_is_408_and_the_connection_closes(
    quick: Server,
) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as connection:
        connection.sendall(POST_HEAD + b'{"inputs": ')
        response = read_until_closed(connection)
    status, error = status_and_error(response)
    assert (status, error["error_code"]) == (408, "BAD_REQUEST")
    assert error["message"] == "the request body did not arrive within 0.5 s (--body-timeout)"
    assert b"connection: close" in response.lower()
    assert time.monotonic() - started < 5


def test_headers_that_do_not_arrive_in_time_are_408_and_a_silent_client_is_closed(
    quick: Server,
) -> None:
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as connection:
        connection.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        status, error = status_and_error(read_until_closed(connection))
    assert (status, error["error_code"]) == (408, "BAD_REQUEST")
    assert "the request headers did not arrive within 0.5 s" in error["message"]
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as connection:
        # Nothing sent, nothing begun: closed without an answer.
        assert read_until_closed(connection) == b""
    # A kept-alive connection drip-feeding its next request is held to the same time.
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as connection:
        connection.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /ping HTTP/1.1\r\n")
        answers = read_until_closed(connection)
    assert answers.startswith(b"HTTP/1.1 200 ") and b"HTTP/1.1 408 " in answers


def test_a_client_gone_mid_body_is_one_log_line_not_a_model_failure(
    quick: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as connection:
            connection.sendall(POST_HEAD + b'{"inputs": ')
        deadline = time.monotonic() + 10
        while not [r for r in caplog.records if "POST /invocations" in r.getMessage()]:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.02)
        time.sleep(0.3)  # anything logged after it would show here
    lines = [r for r in caplog.records if r.name.startswith(("nbtrack", "uvicorn"))]
    assert len(lines) == 1, caplog.text
    assert lines[0].exc_info is None and lines[0].levelno == logging.INFO
    assert re.fullmatch(
        r"127\.0\.0\.1:\d+ POST /invocations 499 [\d.]+ms: the client closed the connection "
        r"before sending its whole body",
        lines[0].getMessage(),
    )


def test_a_body_nobody_reads_closes_the_connection_after_the_answer(quick: Server) -> None:
    # Otherwise the rest of the body, trickling in, would hold the connection with no deadline.
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as connection:
        connection.sendall(
            b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nab"
        )
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 200 ") and b"connection: close" in answer.lower()


def read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    while data := connection.recv(65536):
        received += data
    return received


# -- more connections than the server keeps -----------------------------------------------------


def test_beyond_max_connections_requests_get_503_and_ping_still_answers(churn: Churn) -> None:
    with serve("churn", max_connections=4) as server, contextlib.ExitStack() as stack:
        for _ in range(4):
            loris = stack.enter_context(socket.create_connection(("127.0.0.1", server.port)))
            loris.sendall(POST_HEAD)
        time.sleep(0.3)
        busy = exchange(server.port, POST_HEAD + b" " * 100)
        status, error = status_and_error(busy)
        assert (status, error["error_code"]) == (503, "TEMPORARILY_UNAVAILABLE")
        assert "4 requests are in progress (--max-connections)" in error["message"]
        assert b"connection: close" in busy.lower()
        for path in ("/ping", "/health"):
            answer = exchange(
                server.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            )
            assert answer.startswith(b"HTTP/1.1 200 "), answer
        # Past the few kept for probes, a connection is refused before it is read.
        for _ in range(8):
            stack.enter_context(socket.create_connection(("127.0.0.1", server.port)))
        time.sleep(0.3)
        status, _ = status_and_error(exchange(server.port, b""))
        assert status == 503


# Runs the command line with a soft limit of 64 open files, as a small container might have.
LOW_FILE_LIMIT = """
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
sys.argv = ["nbtrack", *sys.argv[1:]]
runpy.run_module("nbtrack.cli", run_name="__main__")
"""


@pytest.mark.slow
def test_slow_clients_under_a_low_file_limit_leave_ping_answering_and_the_log_quiet(
    churn: Churn, child_env: dict[str, str], store_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-c", LOW_FILE_LIMIT, "serve", "churn", "--port", str(port)],
        env=child_env, cwd=store_path.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_ready(url, process)
        with contextlib.ExitStack() as stack:
            # 57 clients send their headers and then nothing: more than the 64 files allow.
            for _ in range(57):
                loris = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
                loris.sendall(POST_HEAD)
            time.sleep(1.0)
            for _ in range(5):
                assert requests.get(f"{url}/ping", timeout=2).status_code == 200
            time.sleep(1.0)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    # The clients arrive faster than they can be refused: descriptors may run out for a
    # moment, which is said once rather than with a traceback per connection.
    assert "Traceback" not in err and err.count("Too many open files") <= 1, err[-3000:]
    assert len(err.splitlines()) < 150, err[-3000:]
