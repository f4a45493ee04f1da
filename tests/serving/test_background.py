"""``nbtrack.serve``: a real server on a loopback port, in a thread of this process."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests

import nbtrack
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.http.settings import parse_hosts, parse_size
from tests.serving.conftest import Churn, free_port

JSON_HEADERS = {"content-type": "application/json"}


def _records(features: pd.DataFrame) -> list[dict[str, float]]:
    return features.to_dict(orient="records")  # type: ignore[return-value]


def test_serve_starts_in_the_background_answers_and_stops(churn: Churn) -> None:
    rows = _records(churn.features.head(4))
    with nbtrack.serve("churn") as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.running and "churn version 1" in repr(server)
        assert requests.get(f"{server.url}/ping", timeout=5).status_code == 200
        for payload in (
            {"inputs": rows},
            {"instances": rows},
            {"dataframe_records": rows},
            {"dataframe_split": churn.features.head(4).to_dict(orient="split")},
        ):
            answer = requests.post(f"{server.url}/invocations", json=payload, timeout=5)
            assert answer.json() == {"predictions": churn.v1[:4].tolist()}
        csv = requests.post(
            f"{server.url}/invocations",
            data=churn.features.head(4).to_csv(index=False),
            headers={"content-type": "text/csv"},
            timeout=5,
        )
        assert csv.json() == {"predictions": churn.v1[:4].tolist()}
    assert not server.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/ping", timeout=5)
    server.stop()  # a second stop is harmless


def test_eight_clients_at_once(churn: Churn) -> None:
    body = json.dumps({"inputs": _records(churn.features.head(1))})
    failures: list[object] = []
    with nbtrack.serve("churn") as server:

        def client() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            for _ in range(25):
                connection.request("POST", "/invocations", body, JSON_HEADERS)
                response = connection.getresponse()
                if json.loads(response.read()) != {"predictions": churn.v1[:1].tolist()}:
                    failures.append(response.status)
            connection.close()

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []


def test_a_port_in_use_and_an_unknown_model_are_errors_at_the_call(churn: Churn) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InvalidValueError, match=f"cannot listen on 127.0.0.1 port {port}"):
            nbtrack.serve("churn", port=port)
    port = free_port()
    with pytest.raises(NotFoundError):
        nbtrack.serve("no-such-model", port=port)
    # Nothing was left listening.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


@pytest.mark.parametrize("port", [-1, 65536, "5001", 1.5, True])
def test_bad_ports_are_refused(churn: Churn, port: object) -> None:
    with pytest.raises(InvalidValueError, match="port"):
        nbtrack.serve("churn", port=port)  # type: ignore[arg-type]


def test_off_loopback_a_token_is_required_unless_insecure(churn: Churn) -> None:
    with pytest.raises(InvalidValueError, match=r"needs a token.*--insecure"):
        nbtrack.serve("churn", host="0.0.0.0")
    with nbtrack.serve("churn", host="0.0.0.0", insecure=True) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{server.url}/metadata", timeout=5).status_code == 200
    with nbtrack.serve("churn", host="0.0.0.0", token="t0k3n") as server:
        assert requests.get(f"{server.url}/metadata", timeout=5).status_code == 401
        headers = {"authorization": "Bearer t0k3n"}
        assert requests.get(f"{server.url}/metadata", headers=headers, timeout=5).ok


def test_the_token_comes_from_the_environment_too(
    churn: Churn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTRACK_SERVE_TOKEN", "from-env")
    with nbtrack.serve("churn") as server:
        assert requests.get(f"{server.url}/ping", timeout=5).status_code == 200
        assert requests.get(f"{server.url}/version", timeout=5).status_code == 401
        headers = {"authorization": "Bearer from-env"}
        assert requests.get(f"{server.url}/version", headers=headers, timeout=5).ok


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_body": 0}, "max_body"),
        ({"max_body": "10MB"}, "max_body"),
        ({"host": "not a host"}, "host"),
        ({"token": "has space"}, "printable ASCII"),
        ({"token": ""}, "printable ASCII"),
    ],
)
def test_bad_options_are_refused(churn: Churn, options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        nbtrack.serve("churn", **options)  # type: ignore[arg-type]


def test_sizes_and_host_lists_parse() -> None:
    assert parse_size("10MB") == 10 * 1024 * 1024
    assert parse_size("512kb") == 512 * 1024
    assert parse_size("1048576") == 1048576
    assert parse_size("1.5G") == 3 * 1024**3 // 2
    assert parse_size("64 KiB") == 65536
    for bad in ("10XB", "", "MB", "-1", "0", "1e3"):
        with pytest.raises(InvalidValueError, match="10MB, 512KB"):
            parse_size(bad)
    assert parse_hosts("a.example, B.example.,[::1] ,10.0.0.5") == (
        "a.example", "b.example", "::1", "10.0.0.5"
    )  # fmt: skip
    assert parse_hosts(None) == ()
    for bad in ("a.example:443", "a b", "*", "0.0.0.0", "a/b"):
        with pytest.raises(InvalidValueError, match="without ports"):
            parse_hosts(bad)


def _raw_request(port: int, head: bytes, body: Iterator[bytes] | None = None) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head)
        try:
            for chunk in body or ():
                connection.sendall(chunk)
        except OSError:
            pass  # the server answered and closed before the whole body was sent
        received = b""
        while b"\r\n\r\n" not in received:
            data = connection.recv(65536)
            if not data:
                break
            received += data
        return received


def test_a_declared_length_over_the_limit_is_refused_without_reading_it(churn: Churn) -> None:
    with nbtrack.serve("churn", max_body=1000) as server:
        head = (
            f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
        ).encode()
        # Not one byte of the body is sent: the answer comes from the header alone.
        answer = _raw_request(server.port, head)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in answer.lower()


def test_a_chunked_body_over_the_limit_is_refused_as_it_streams(churn: Churn) -> None:
    with nbtrack.serve("churn", max_body=1000) as server:
        head = (
            f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()

        def chunks(total: int) -> Iterator[bytes]:
            for _ in range(total // 100):
                yield b"64\r\n" + b" " * 100 + b"\r\n"

        over = _raw_request(server.port, head, chunks(100_000))
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        body = json.dumps({"inputs": _records(churn.features.head(1))}).encode()
        connection.request(
            "POST", "/invocations", iter([body[:10], body[10:]]), JSON_HEADERS, encode_chunked=True
        )
        under = connection.getresponse()
        assert under.status == 200, under.read()
        connection.close()
    assert over.startswith(b"HTTP/1.1 413 ")


def test_a_model_folder_and_a_runs_uri_are_served_unfollowed(
    store_path: Path, classification_data: tuple[pd.DataFrame, object]
) -> None:
    from sklearn.linear_model import LogisticRegression

    features, labels = classification_data
    model = LogisticRegression().fit(features, labels)
    with nbtrack.start_run() as run:
        info = nbtrack.log_model(model, "model", input_example=features.head(2))
    folder = Path(nbtrack.get_run(run.id).artifact_uri) / "model"
    expected = model.predict(features.head(3)).tolist()
    for uri in (info.model_uri, str(folder)):
        with nbtrack.serve(uri) as server:
            assert server.served.name is None and server.served.version is None
            metadata = requests.get(f"{server.url}/metadata", timeout=5).json()
            assert metadata["follows"] is None and metadata["run_id"] == run.id
            answer = requests.post(
                f"{server.url}/invocations",
                json={"inputs": _records(features.head(3))},
                timeout=5,
            )
            assert answer.json() == {"predictions": expected}


@pytest.mark.parametrize("host", ["127.0.0.2", "127.1.2.3", "::ffff:127.0.0.1"])
def test_only_the_usual_loopback_names_go_without_a_token(churn: Churn, host: str) -> None:
    with pytest.raises(InvalidValueError, match="needs a token"):
        nbtrack.serve("churn", host=host)
    with nbtrack.serve("churn", host="127.0.0.2", token="t0k3n") as server:
        assert requests.get(f"{server.url}/version", timeout=5).status_code == 401
    for loopback in ("127.0.0.1", "localhost", "::1"):
        with nbtrack.serve("churn", host=loopback) as server:
            assert requests.get(f"{server.url}/version", timeout=5).ok
