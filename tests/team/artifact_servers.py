"""What the artifact tests of team mode start and measure: a run on the server, an S3-protocol
server (moto's) on loopback in a process of its own, and a process's peak memory."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from nbtrack.store.remote.connection import ServerConnection
from tests.serving.conftest import free_port

MIB = 1024 * 1024
# The bucket the s3 fixtures make, and the prefix the server's destination names in it.
BUCKET = "team-artifacts"
S3_DESTINATION = f"s3://{BUCKET}/artifacts"


def bucket_object(key: str) -> bytes | None:
    """The object's bytes under the destination as the bucket holds them (read with s3fs,
    signed, with the ``AWS_*`` settings of the environment), or None."""
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    try:
        data: bytes = fs.cat_file(f"{BUCKET}/artifacts/{key}")
    except FileNotFoundError:
        return None
    return data


def server_run(connection: ServerConnection) -> str:
    """A new run on the server: its place in the artifact tree, ``<exp>/<run>/artifacts``."""
    body = json.dumps({"experiment_id": "0"}).encode()
    answer = connection.request(
        "POST", "/api/2.0/mlflow/runs/create", body, {"Content-Type": "application/json"}
    ).json()
    assert isinstance(answer, dict)
    uri = str(answer["run"]["info"]["artifact_uri"])
    assert uri.startswith("mlflow-artifacts:/"), uri
    return uri.removeprefix("mlflow-artifacts:/")


@dataclass
class S3Server:
    """moto's S3 server on a loopback port, with the environment a client needs for it."""

    url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def start_s3(bucket: str) -> S3Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    moto = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(url, process)
        requests.put(f"{url}/{bucket}", timeout=30).raise_for_status()
    except BaseException:
        process.kill()
        process.wait(timeout=30)
        raise
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,
    }
    return S3Server(url, process, env)


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "moto_server exited"
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            assert time.monotonic() < deadline, f"moto_server never answered at {url}"
            time.sleep(0.1)


def write_random_file(path: Path, size: int) -> None:
    """``size`` bytes that do not compress, written a megabyte at a time."""
    with path.open("wb") as out:
        left = size
        while left:
            piece = min(left, MIB)
            out.write(secrets.token_bytes(piece))
            left -= piece


def peak_rss(pid: int) -> int:
    """The most resident memory process ``pid`` has had (VmHWM), in bytes."""
    return _status_kib(pid, "VmHWM") * 1024


def rss(pid: int) -> int:
    return _status_kib(pid, "VmRSS") * 1024


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM again from the current RSS (Linux: write 5 to clear_refs)."""
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")


def child_env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}
