"""Artifacts through a real ``nbtrack server``: spooled on the client, sent in order with their
sha256, refused when tampered with, too large or outside the run, and downloads hash-checked."""

from __future__ import annotations

import hashlib
import http.client
import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from nbtrack.config import ServerAddress
from nbtrack.errors import InvalidValueError, ServerError
from nbtrack.store.remote import artifacts
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.web.destinations import open_destination
from tests.mlflow_compat.conftest import RunningServer, start_server, stop_server
from tests.team.artifact_servers import server_run
from tests.team.conftest import restart_on_the_same_port


def _server_file(server: RunningServer, path: str) -> Path:
    store = Path(server.process.args[server.process.args.index("--store") + 1])
    return store.parent / "nbtrack-artifacts" / path


def test_a_spooled_file_reaches_the_server_and_comes_back_with_its_hash(
    connection: ServerConnection, team_server: RunningServer, tmp_path: Path
) -> None:
    folder = server_run(connection)
    spool = tmp_path / "spool"
    source = tmp_path / "weights.bin"
    source.write_bytes(b"\x00\x01weights" * 1000)
    artifacts.spool_copy(spool, source, f"{folder}/model/weights.bin")
    assert len(artifacts.pending(spool)) == 1

    assert artifacts.send_pending(connection, spool) is True

    assert artifacts.pending(spool) == []
    assert _server_file(team_server, f"{folder}/model/weights.bin").read_bytes() == (
        source.read_bytes()
    )
    back = tmp_path / "back.bin"
    sha = artifacts.download_file(connection, f"{folder}/model/weights.bin", back)
    assert sha == hashlib.sha256(source.read_bytes()).hexdigest()
    assert back.read_bytes() == source.read_bytes()
    assert artifacts.list_files(connection, f"{folder}/model") == [
        {"path": "weights.bin", "is_dir": False, "file_size": 9000}
    ]


def test_files_are_sent_in_the_order_they_were_logged(
    connection: ServerConnection, team_server: RunningServer, tmp_path: Path
) -> None:
    folder = server_run(connection)
    spool = tmp_path / "spool"
    for version in range(5):
        artifacts.spool_file(
            spool, f"{folder}/notes.txt", lambda p, v=version: p.write_text(f"v{v}")
        )
    assert artifacts.send_pending(connection, spool) is True
    assert _server_file(team_server, f"{folder}/notes.txt").read_text() == "v4"


def test_a_server_that_is_down_leaves_the_spool_for_later(tmp_path: Path) -> None:
    server = start_server(tmp_path / "server.duckdb")
    connection = ServerConnection(ServerAddress(server.url), timeout_s=5)
    try:
        folder = server_run(connection)
        spool = tmp_path / "spool"
        artifacts.spool_file(spool, f"{folder}/a.txt", lambda p: p.write_text("a"))
        server.process.kill()
        stop_server(server.process)  # reaped, its pipes closed
        artifacts.spool_file(spool, f"{folder}/b.txt", lambda p: p.write_text("b"))

        assert artifacts.send_pending(connection, spool) is False
        assert len(artifacts.pending(spool)) == 2

        server = restart_on_the_same_port(server)
        assert artifacts.send_pending(connection, spool) is True
        assert artifacts.pending(spool) == []
        assert _server_file(server, f"{folder}/a.txt").read_text() == "a"
        assert _server_file(server, f"{folder}/b.txt").read_text() == "b"
    finally:
        connection.close()
        stop_server(server.process)


def test_a_file_of_a_deleted_run_is_set_aside_with_the_reason(
    connection: ServerConnection, tmp_path: Path
) -> None:
    folder = server_run(connection)
    run_id = folder.split("/")[1]
    connection.request(
        "POST",
        "/api/2.0/mlflow/runs/delete",
        json.dumps({"run_id": run_id}).encode(),
        {"Content-Type": "application/json"},
    )
    spool = tmp_path / "spool"
    artifacts.spool_file(spool, f"{folder}/late.txt", lambda p: p.write_text("late"))

    with pytest.warns(UserWarning, match=f"run {run_id} is no longer on the server"):
        assert artifacts.send_pending(connection, spool) is True

    (kept,) = (spool / artifacts.GONE).iterdir()
    assert (kept / "data").read_text() == "late"
    assert "deleted" in (kept / "reason.txt").read_text()


def test_an_upload_whose_bytes_do_not_match_its_sha256_is_not_kept(
    connection: ServerConnection, team_server: RunningServer
) -> None:
    folder = server_run(connection)
    with pytest.raises(InvalidValueError, match="nothing was kept"):
        connection.request(
            "PUT",
            f"{artifacts.PROXY}/{folder}/tampered.bin",
            b"what arrived",
            {artifacts.SHA256_HEADER: hashlib.sha256(b"what was sent").hexdigest()},
        )
    run_folder = _server_file(team_server, folder)
    assert not run_folder.exists() or list(run_folder.iterdir()) == []


def test_a_sha256_header_that_is_not_one_is_refused(connection: ServerConnection) -> None:
    folder = server_run(connection)
    with pytest.raises(InvalidValueError, match="not a sha256"):
        connection.request(
            "PUT", f"{artifacts.PROXY}/{folder}/x.bin", b"x", {artifacts.SHA256_HEADER: "abc"}
        )


@pytest.mark.parametrize("escape", ["../../../outside.txt", "..%2F..%2F..%2Foutside.txt"])
def test_a_path_that_leaves_the_run_is_refused(
    connection: ServerConnection, team_server: RunningServer, escape: str
) -> None:
    folder = server_run(connection)
    with pytest.raises(InvalidValueError, match=r"\.\."):
        connection.request("PUT", f"{artifacts.PROXY}/{folder}/{escape}", b"escaped")
    assert not list(_server_file(team_server, "").parent.rglob("outside.txt"))


def _raw_put(url: str, path: str, body: bytes, chunked: bool) -> tuple[int, dict[str, str]]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        pieces = (body[i : i + 512] for i in range(0, len(body), 512))
        connection.request("PUT", path, body=pieces if chunked else body, encode_chunked=chunked)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_artifact_over_the_size_limit_is_413_and_leaves_nothing(
    tmp_path: Path, chunked: bool
) -> None:
    server = start_server(tmp_path / "server.duckdb", "--max-artifact-size", "4KB")
    connection = ServerConnection(ServerAddress(server.url))
    try:
        folder = server_run(connection)
        status, answer = _raw_put(
            server.url, f"{artifacts.PROXY}/{folder}/big.bin", b"x" * 5000, chunked
        )
        assert status == 413
        assert answer["error_code"] == "RESOURCE_LIMIT_EXCEEDED"
        assert "4096" in answer["message"]
        run_folder = tmp_path / "nbtrack-artifacts" / folder
        assert not run_folder.exists() or list(run_folder.iterdir()) == []
        status, _ = _raw_put(server.url, f"{artifacts.PROXY}/{folder}/ok.bin", b"x" * 4096, chunked)
        assert status == 200
    finally:
        connection.close()
        stop_server(server.process)


def test_a_download_changed_on_the_server_since_its_hash_was_recorded_is_not_kept(
    connection: ServerConnection, team_server: RunningServer, tmp_path: Path
) -> None:
    folder = server_run(connection)
    spool = tmp_path / "spool"
    artifacts.spool_file(spool, f"{folder}/model.pkl", lambda p: p.write_bytes(b"honest"))
    assert artifacts.send_pending(connection, spool)
    _server_file(team_server, f"{folder}/model.pkl").write_bytes(b"evil!!")  # same size

    target = tmp_path / "model.pkl"
    with pytest.raises(ServerError, match="not kept"):
        artifacts.download_file(connection, f"{folder}/model.pkl", target)
    assert not target.exists()
    assert list(tmp_path.glob(".model.pkl*")) == []


def test_a_folder_downloads_whole_each_file_checked(
    connection: ServerConnection, tmp_path: Path
) -> None:
    folder = server_run(connection)
    spool = tmp_path / "spool"
    for name in ("model/MLmodel", "model/data/weights.bin", "model/data/more/x.txt"):
        artifacts.spool_file(spool, f"{folder}/{name}", lambda p, n=name: p.write_text(n))
    assert artifacts.send_pending(connection, spool)

    artifacts.download_tree(connection, f"{folder}/model", tmp_path / "got")

    found = sorted(str(p.relative_to(tmp_path / "got")) for p in (tmp_path / "got").rglob("*"))
    assert found == ["MLmodel", "data", "data/more", "data/more/x.txt", "data/weights.bin"]
    assert (tmp_path / "got" / "data" / "more" / "x.txt").read_text() == "model/data/more/x.txt"


def test_the_server_says_clients_upload_through_it_by_default(
    connection: ServerConnection,
) -> None:
    assert artifacts.destination_of(connection) is None


def test_the_verify_route_is_exempt_from_csrf_but_refuses_what_a_page_could_send(
    connection: ServerConnection, team_server: RunningServer
) -> None:
    folder = server_run(connection)
    body = json.dumps({"path": f"{folder}/none.bin", "sha256": "0" * 64, "size": 1}).encode()
    parts = urllib.parse.urlsplit(team_server.url)

    def post(path: str, content_type: str, origin: str | None) -> int:
        raw = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        headers = {"Content-Type": content_type}
        if origin is not None:
            headers["Origin"] = origin
        try:
            raw.request("POST", path, body=body, headers=headers)
            return raw.getresponse().status
        finally:
            raw.close()

    # No Origin, no Sec-Fetch-Site, no token on loopback: a machine, not refused as CSRF
    # (the file is not there: 404).
    assert post(artifacts.VERIFY, "application/json", None) == 404
    # What a page of another site can send without a preflight is refused.
    assert post(artifacts.VERIFY, "text/plain", None) == 403
    assert post(artifacts.VERIFY, "application/json", "http://evil.example") == 403
    # The UI's own paths keep their CSRF check.
    assert post("/nbtrack/api/runs", "application/json", None) == 403


def test_a_folder_destination_takes_the_files_instead_of_the_stores_folder(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "shared" / "artifacts"
    server = start_server(tmp_path / "server.duckdb", "--artifacts-destination", str(elsewhere))
    connection = ServerConnection(ServerAddress(server.url))
    try:
        folder = server_run(connection)
        spool = tmp_path / "spool"
        artifacts.spool_file(spool, f"{folder}/a.txt", lambda p: p.write_text("a"))
        assert artifacts.send_pending(connection, spool)
        assert (elsewhere / folder / "a.txt").read_text() == "a"
        assert not (tmp_path / "nbtrack-artifacts" / folder / "a.txt").exists()
        # Through the server: clients are not told to write there themselves.
        assert artifacts.destination_of(connection) is None
    finally:
        connection.close()
        stop_server(server.process)


def test_a_destination_nbtrack_cannot_open_is_named_with_what_is_accepted(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match=r"'nosuch://bucket'.*s3://bucket/prefix"):
        open_destination("nosuch://bucket", tmp_path)


def test_the_spool_loads_no_object_storage_client_until_a_server_names_a_bucket() -> None:
    code = (
        "import sys, nbtrack, nbtrack.store.remote.artifacts, nbtrack.tracking.remote_artifacts\n"
        "print(sorted(m for m in ('fsspec', 's3fs', 'botocore') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_verify_request_over_64_kib_is_refused_unread(connection: ServerConnection) -> None:
    padded = json.dumps({"path": "x" * 70_000, "sha256": "0" * 64, "size": 1}).encode()
    with pytest.raises(InvalidValueError, match="over 65536 bytes"):
        connection.request("POST", artifacts.VERIFY, padded, {"Content-Type": "application/json"})


def test_a_registered_copy_is_written_once_and_only_where_copies_go(
    connection: ServerConnection, team_server: RunningServer
) -> None:
    copy = f"registry/{'a1' * 16}/MLmodel"
    connection.request("PUT", f"{artifacts.PROXY}/{copy}", b"flavors: {}")
    with pytest.raises(InvalidValueError, match="written once"):
        connection.request("PUT", f"{artifacts.PROXY}/{copy}", b"flavors: {python: evil}")
    assert _server_file(team_server, copy).read_bytes() == b"flavors: {}"
    with pytest.raises(InvalidValueError, match="not in a registered copy"):
        connection.request("PUT", f"{artifacts.PROXY}/registry/not-a-copy/MLmodel", b"x")
