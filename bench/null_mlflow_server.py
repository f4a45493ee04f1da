"""A null MLflow tracking server: each route answered from a canned byte string.

Usage::

    python bench/null_mlflow_server.py PORT

It stores nothing and checks nothing; it answers ``experiments/create``, ``runs/create``,
``runs/get``, ``runs/update`` and the logging routes with fixed, valid JSON, over HTTP/1.1
keep-alive on 127.0.0.1, from a bare asyncio protocol (no framework). What MLflow's client
spends per call against it is the client's own cost plus the least a server can add: the
ceiling for any server's ratio against ``mlflow server``. ``bench_mlflow_client.py`` runs the
same client script against it and prints that ceiling beside nbtrack's measured ratio.
"""

from __future__ import annotations

import asyncio
import json
import sys

_RUN_ID = "0" * 32
_RUN = {
    "info": {
        "run_id": _RUN_ID, "run_uuid": _RUN_ID, "run_name": "null", "experiment_id": "1",
        "user_id": "bench", "status": "RUNNING", "start_time": 1, "lifecycle_stage": "active",
        "artifact_uri": f"mlflow-artifacts:/1/{_RUN_ID}/artifacts",
    },
    "data": {"tags": [{"key": "mlflow.runName", "value": "null"}]},
}  # fmt: skip
_ANSWERS = {
    "experiments/create": {"experiment_id": "1"},
    "runs/create": {"run": _RUN},
    "runs/get": {"run": _RUN},
    "runs/update": {"run_info": _RUN["info"]},
    "runs/log-metric": {},
    "runs/log-parameter": {},
    "runs/set-tag": {},
    "runs/log-batch": {},
}


def _response(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


CANNED = {
    f"/api/2.0/mlflow/{path}".encode(): _response("200 OK", json.dumps(body).encode())
    for path, body in _ANSWERS.items()
}
CANNED[b"/health"] = _response("200 OK", b"{}")
NOT_FOUND = _response("404 Not Found", b'{"error_code": "ENDPOINT_NOT_FOUND", "message": "null"}')


class NullProtocol(asyncio.Protocol):
    """Requests in, canned answers out, in order, on one connection."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].split(b"\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            path = head[0].split(b" ")[1].split(b"?")[0]
            assert self.transport is not None
            self.transport.write(CANNED.get(path, NOT_FOUND))


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(NullProtocol, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
