"""MLflow's own client logging into nbtrack, against MLflow's own backends, in one run.

Usage::

    python bench/bench_mlflow_client.py [--quick] [--metrics N] [--runs N] [--json PATH]

One script of MLflow client calls (``MlflowClient``: one run x N ``log_metric``, then M runs x
(``create_run`` + 10 ``log_param`` + ``set_terminated``), then K ``log_artifact`` of a 10 KB
file into one run, read back by ``list_artifacts``) runs in a fresh child process
against these tracking URIs, one at a time, each on its own temporary store:

- over HTTP: ``mlflow server`` with its SQLite backend, and ``nbtrack server``; and a null
  server (``null_mlflow_server.py``) answering every route from canned bytes: MLflow's client's
  own cost per call, which bounds any server's ratio (the "ceiling" column);
- in process: MLflow's ``sqlite:`` store, and the ``nbtrack:`` plugin;
- over HTTP via nbtrack's journal: ``nbtrack+http://`` against a fresh ``nbtrack server``
  (each call appends to the client's journal; the sender delivers), against ``mlflow server``.

Each figure is the mean time per call of a phase (wall clock of the phase / calls); the ratio
is MLflow's time over nbtrack's (goal: ≥ 10x over HTTP, ≥ 100x in process). nbtrack's calls
end in its journal; the script then reads every run back (``search_runs``) so that what was
logged is in the store before the phase counts as done for both. Over HTTP it also times the
servers alone: the same ``log-metric`` request sent N times over one keep-alive connection
with ``http.client`` (``raw_http_log_metric``), since MLflow's client spends milliseconds of
its own on every call.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import side_by_side  # bench/side_by_side.py: the script's own folder is on sys.path

FULL = {"metrics": 10_000, "runs": 1_000, "artifacts": 200}
QUICK = {"metrics": 1_000, "runs": 100, "artifacts": 50}
READY_TIMEOUT_S = 120.0
KINDS = (
    "nbtrack-server", "nbtrack-remote", "mlflow-server", "null-server", "nbtrack-plugin",
    "mlflow-sqlite",
)  # fmt: skip

CLIENT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
from mlflow import MlflowClient

uri = sys.argv[1]
n_metrics, n_runs, n_artifacts = (int(value) for value in sys.argv[2:5])
null_server = sys.argv[5] == "null"
client = MlflowClient(uri)
experiment = client.create_experiment("bench")
figures = {}

run_id = client.create_run(experiment).info.run_id
client.log_metric(run_id, "warmup", 0.0)
started = time.perf_counter()
for step in range(n_metrics):
    client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
figures["log_metric"] = (time.perf_counter() - started) / n_metrics
client.set_terminated(run_id)

started = time.perf_counter()
for i in range(n_runs):
    rid = client.create_run(experiment).info.run_id
    for p in range(10):
        client.log_param(rid, f"p{p}", str(i * p))
    client.set_terminated(rid)
figures["run_with_10_params"] = (time.perf_counter() - started) / n_runs
figures["call_in_runs_phase"] = figures["run_with_10_params"] / 12

if not null_server:  # the null server keeps nothing to read back
    started = time.perf_counter()
    found = client.search_runs([experiment], max_results=n_runs + 1)
    figures["search_runs_read_back"] = time.perf_counter() - started
    assert len(found) == n_runs + 1, len(found)
    assert len(client.get_metric_history(run_id, "loss")) == n_metrics

if not null_server:  # the null server takes no files
    # Files: over nbtrack+http:// each call copies the file into the spool and returns; the
    # listing sends what is spooled first, so the read back counts their delivery.
    import os
    os.makedirs("files", exist_ok=True)
    paths = []
    for i in range(n_artifacts):
        paths.append(f"files/f{i:04d}.bin")
        with open(paths[-1], "wb") as f:
            f.write(os.urandom(10_000))
    rid = client.create_run(experiment).info.run_id
    client.log_artifact(rid, paths[0], "warmup")
    started = time.perf_counter()
    for path in paths:
        client.log_artifact(rid, path, "files")
    figures["log_artifact"] = (time.perf_counter() - started) / n_artifacts
    started = time.perf_counter()
    listed = client.list_artifacts(rid, "files")
    figures["artifacts_read_back"] = time.perf_counter() - started
    assert len(listed) == n_artifacts, len(listed)

if uri.startswith("http"):
    # The server alone: the same log-metric request over one keep-alive connection, without
    # MLflow's client (which spends about 2-3 ms of its own on each call).
    import http.client
    host, port = uri.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    headers = {"Content-Type": "application/json"}
    started = time.perf_counter()
    for step in range(n_metrics):
        body = json.dumps({"run_id": run_id, "key": "raw", "value": 0.5, "timestamp": 1,
                           "step": step})
        conn.request("POST", "/api/2.0/mlflow/runs/log-metric", body, headers)
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 200, answer.status
    figures["raw_http_log_metric"] = (time.perf_counter() - started) / n_metrics
print(json.dumps(figures))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} never answered /health")


def start_server(kind: str, folder: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    if kind == "null":
        null = Path(__file__).with_name("null_mlflow_server.py")
        command = [sys.executable, str(null), str(port)]
    elif kind == "mlflow":
        command = [
            sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
            "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination", str(folder / "mlartifacts"), "--workers", "1",
        ]  # fmt: skip
    else:
        command = [
            sys.executable, "-m", "nbtrack.cli", "server", "--store",
            str(folder / "nbtrack.duckdb"), "--port", str(port),
        ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process)
    return url, process


def run_client(uri: str, folder: Path, sizes: dict[str, int], kind: str = "") -> dict[str, float]:
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}
    env.pop("NBTRACK_URI", None)
    done = subprocess.run(
        [
            sys.executable, "-c", CLIENT, uri, str(sizes["metrics"]), str(sizes["runs"]),
            str(sizes["artifacts"]), kind,
        ],
        cwd=folder, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the client against {uri} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def measure(kind: str, sizes: dict[str, int]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as name:
        folder = Path(name)
        if kind == "mlflow-sqlite":
            return run_client(f"sqlite:///{folder / 'mlflow.db'}", folder, sizes)
        if kind == "nbtrack-plugin":
            return run_client(f"nbtrack:{folder / 'nbtrack.duckdb'}", folder, sizes)
        server_kind = {"mlflow-server": "mlflow", "null-server": "null"}.get(kind, "nbtrack")
        url, process = start_server(server_kind, folder)
        uri = "nbtrack+" + url if kind == "nbtrack-remote" else url
        try:
            return run_client(uri, folder, sizes, server_kind)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


def ceiling_text(results: dict[str, dict[str, float]], figure: str) -> str:
    """The best ratio any server could reach for ``figure`` (MLflow's client against the null
    server, which answers from canned bytes), and the null server's time per call."""
    null_s, ml_s = results["null-server"][figure], results["mlflow-server"][figure]
    return f"{null_s * 1e3:.3f} ms: {ml_s / null_s:.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 metrics and 100 runs")
    parser.add_argument("--metrics", type=int, help="log_metric calls in one run")
    parser.add_argument("--runs", type=int, help="runs of 10 params each")
    parser.add_argument("--artifacts", type=int, help="log_artifact calls of a 10 KB file")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    if args.metrics:
        sizes["metrics"] = args.metrics
    if args.runs:
        sizes["runs"] = args.runs
    if args.artifacts:
        sizes["artifacts"] = args.artifacts
    print(f"sizes: {sizes}; load average {os.getloadavg()[0]:.2f}", flush=True)

    results = {}
    for kind in KINDS:
        print(f"measuring {kind} ...", flush=True)
        results[kind] = measure(kind, sizes)

    lines = []
    for label, nb, ml in (
        ("over HTTP", "nbtrack-server", "mlflow-server"),
        ("in process", "nbtrack-plugin", "mlflow-sqlite"),
        ("over HTTP via nbtrack's journal", "nbtrack-remote", "mlflow-server"),
    ):
        for figure in (
            "log_metric",
            "call_in_runs_phase",
            "run_with_10_params",
            "raw_http_log_metric",
            "log_artifact",
        ):
            if figure not in results[nb] or figure not in results[ml]:
                continue
            nb_s, ml_s = results[nb][figure], results[ml][figure]
            over_http = nb in ("nbtrack-server", "nbtrack-remote")
            has_ceiling = over_http and figure in results["null-server"]
            ceiling = ceiling_text(results, figure) if has_ceiling else ""
            lines.append([
                f"{label}: {figure}", f"{nb_s * 1e3:.3f} ms", f"{ml_s * 1e3:.3f} ms",
                side_by_side.ratio_text(nb_s, ml_s, higher_is_better=False), ceiling,
            ])  # fmt: skip
        for figure in ("search_runs_read_back", "artifacts_read_back"):
            nb_s, ml_s = results[nb][figure], results[ml][figure]
            lines.append([
                f"{label}: {figure.replace('_', ' ')}", f"{nb_s * 1e3:.0f} ms",
                f"{ml_s * 1e3:.0f} ms", side_by_side.ratio_text(nb_s, ml_s, False), "",
            ])  # fmt: skip
    side_by_side.print_table(
        ["figure", "nbtrack", "MLflow", "nbtrack vs MLflow", "ceiling (null server)"], lines
    )
    print("\ngoals: >= 10x over HTTP, >= 100x in process (per call)")
    # The machine is shared: the load at both ends says how far to trust one run's ratios.
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"sizes": sizes, "results": results}, indent=2))


if __name__ == "__main__":
    main()
