"""A response's head and body leave the server in one write (``http/coalescing.py``), and a
large streamed body still arrives whole and in order. Against a real server on loopback."""

from __future__ import annotations

import hashlib
import select
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from nbtrack.http.connections import capacity_for
from nbtrack.http.threaded import ThreadedServer, bind

CHUNK = 50_000
CHUNKS = 200  # 10 MB, in writes below and above the size that is sent at once


def _chunk(i: int) -> bytes:
    return bytes([i % 251]) * CHUNK


async def small(request: Request) -> Response:
    return JSONResponse({"answer": "x" * 300})


async def large(request: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for i in range(CHUNKS):
            yield _chunk(i)
            if i % 3 == 0:
                yield b"tail"  # small writes between large ones keep their place

    return StreamingResponse(parts())


@pytest.fixture
def server() -> Iterator[ThreadedServer]:
    app = Starlette(routes=[Route("/small", small), Route("/large", large)])
    sock = bind("127.0.0.1", 0, "test")
    running = ThreadedServer(app, sock, capacity_for(8), 10.0, "127.0.0.1", name="test")
    yield running
    running.stop()


def _request(port: int, path: str) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return conn


def test_a_small_response_arrives_in_one_piece(server: ThreadedServer) -> None:
    for _ in range(20):
        with _request(server.port, "/small") as conn:
            select.select([conn], [], [], 10)
            first = conn.recv(1 << 16)
            head, _, body = first.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            # Written apart, the body would come in a second segment, after the first recv.
            assert body == b'{"answer":"' + b"x" * 300 + b'"}'


def test_a_large_streamed_response_arrives_whole_and_in_order(server: ThreadedServer) -> None:
    expected = hashlib.sha256()
    for i in range(CHUNKS):
        expected.update(_chunk(i) + (b"tail" if i % 3 == 0 else b""))
    received = bytearray()
    done = threading.Event()
    with _request(server.port, "/large") as conn:
        while not done.is_set():
            data = conn.recv(1 << 20)
            if not data:
                break
            received += data
            head, _, body = bytes(received).partition(b"\r\n\r\n")
            if body.endswith(b"0\r\n\r\n"):
                done.set()
    head, _, chunked = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert hashlib.sha256(_dechunk(chunked)).hexdigest() == expected.hexdigest()


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return bytes(out)
        out += data[:size]
        data = data[size + 2 :]
