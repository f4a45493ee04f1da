"""Artifact throughput in team mode, in one run: nbtrack's client and ``nbtrack server`` beside
MLflow's client and ``mlflow server``, into a folder and into S3 (moto's server on loopback).

Usage::

    python bench/bench_team_artifacts.py [--quick] [--mb N] [--json PATH]

Each figure is one file of N MB (random bytes) sent by a fresh client process to a fresh
server and downloaded back, in MB/s (best of ``--repeat``):

- nbtrack, folder: the file is spooled (a local copy, timed apart), then ``send_pending``
  streams it through the server's ``mlflow-artifacts`` proxy with its sha256, and
  ``download_file`` streams it back, checking the hash.
- nbtrack, s3: the server names the bucket; the client writes there itself (fsspec, 8 MiB
  parts) and the server reads it back to check the hash; the download goes through the server.
- MLflow: ``mlflow.log_artifact`` and ``MlflowClient.download_artifacts`` against
  ``mlflow server --artifacts-destination`` (a folder, then ``s3://`` through its proxy).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import side_by_side  # bench/side_by_side.py: the script's own folder is on sys.path
from bench_mlflow_client import free_port, wait_ready

BUCKET = "bench-artifacts"

NBTRACK_CLIENT = r"""
import json, sys, time
from pathlib import Path
from nbtrack.config import ServerAddress
from nbtrack.store.remote import artifacts
from nbtrack.store.remote.connection import ServerConnection
url, source = sys.argv[1], Path(sys.argv[2])
connection = ServerConnection(ServerAddress(url))
body = json.dumps({"experiment_id": "0"}).encode()
run = connection.request("POST", "/api/2.0/mlflow/runs/create", body,
                         {"Content-Type": "application/json"}).json()
tree = run["run"]["info"]["artifact_uri"].removeprefix("mlflow-artifacts:/")
spool = source.with_name("spool")
started = time.perf_counter()
artifacts.spool_copy(spool, source, f"{tree}/{source.name}")
spooled = time.perf_counter()
assert artifacts.send_pending(connection, spool)
sent = time.perf_counter()
artifacts.download_file(connection, f"{tree}/{source.name}", source.with_name("back.bin"))
done = time.perf_counter()
print(json.dumps({"spool_s": spooled - started, "upload_s": sent - spooled,
                  "download_s": done - sent}))
"""

MLFLOW_CLIENT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
from pathlib import Path
import mlflow
url, source = sys.argv[1], Path(sys.argv[2])
mlflow.set_tracking_uri(url)
with mlflow.start_run() as run:
    started = time.perf_counter()
    mlflow.log_artifact(str(source))
    sent = time.perf_counter()
back = source.with_name("back")
back.mkdir()
mlflow.MlflowClient(url).download_artifacts(run.info.run_id, source.name, str(back))
done = time.perf_counter()
print(json.dumps({"upload_s": sent - started, "download_s": done - sent}))
"""


def start(
    command: list[str], folder: Path, env: dict[str, str], url: str
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    wait_ready(url, process)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)


def start_s3(folder: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    moto = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], cwd=folder,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(url, timeout=1)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    requests.put(f"{url}/{BUCKET}", timeout=30).raise_for_status()
    env = {
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": url,
        "MLFLOW_S3_ENDPOINT_URL": url,
    }  # fmt: skip
    return process, env


def server_command(kind: str, folder: Path, port: int, destination: str) -> list[str]:
    if kind == "mlflow":
        return [
            sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
            "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination", destination, "--workers", "1",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "nbtrack.cli", "server", "--store", str(folder / "nbtrack.duckdb"),
        "--port", str(port), "--artifacts-destination", destination,
    ]  # fmt: skip


def measure(kind: str, where: str, megabytes: int, s3_env: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as name:
        folder = Path(name)
        source = folder / "data.bin"
        with source.open("wb") as out:
            for _ in range(megabytes):
                out.write(os.urandom(1024 * 1024))
        env = {**os.environ, **s3_env}
        env.pop("NBTRACK_URI", None)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        destination = f"s3://{BUCKET}/{kind}" if where == "s3" else str(folder / "artifacts")
        server = start(server_command(kind, folder, port, destination), folder, env, url)
        try:
            script = NBTRACK_CLIENT if kind == "nbtrack" else MLFLOW_CLIENT
            done = subprocess.run(
                [sys.executable, "-c", script, url, str(source)], cwd=folder, env=env,
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(f"{kind} client ({where}) failed:\n{done.stderr[-3000:]}")
            figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
            return figures
        finally:
            stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 MB instead of 100")
    parser.add_argument("--mb", type=int, help="the file's size in MB")
    parser.add_argument("--repeat", type=int, default=2, help="runs per figure (best kept)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    megabytes = args.mb or (20 if args.quick else 100)
    print(f"one file of {megabytes} MB; load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as s3_folder:
        moto, s3_env = start_s3(Path(s3_folder))
        try:
            found = {
                (kind, where): [measure(kind, where, megabytes, s3_env) for _ in range(args.repeat)]
                for where in ("folder", "s3")
                for kind in ("nbtrack", "mlflow")
            }
        finally:
            stop(moto)
    rates = {
        key: {
            step: megabytes / min(run[f"{step}_s"] for run in runs)
            for step in ("upload", "download")
        }
        for key, runs in found.items()
    }
    lines = []
    for where in ("folder", "s3"):
        for step in ("upload", "download"):
            nb, ml = rates[("nbtrack", where)][step], rates[("mlflow", where)][step]
            how = "through the server" if where == "folder" or step == "download" else "direct"
            lines.append([f"{step} MB/s ({where})", how, f"{nb:.0f}", f"{ml:.0f}",
                          side_by_side.ratio_text(nb, ml, higher_is_better=True)])  # fmt: skip
    spool = megabytes / min(run["spool_s"] for run in found[("nbtrack", "folder")])
    side_by_side.print_table(["figure", "nbtrack's way", "nbtrack", "MLflow", "ratio"], lines)
    print(f"nbtrack's spool (the local copy log_artifact makes): {spool:.0f} MB/s")
    if args.json:
        args.json.write_text(json.dumps({f"{k[0]}-{k[1]}": v for k, v in rates.items()}, indent=2))


if __name__ == "__main__":
    main()
