"""Points per second from a client process to a tracking server on this machine, in one run:
nbtrack's client to ``nbtrack server`` beside MLflow's client to ``mlflow server`` (SQLite).

Usage::

    python bench/bench_team.py [--quick] [--points N] [--mlflow-points N] [--json PATH]

Each client is a fresh process on its own temporary server. The clock runs from the first
``log_metric`` until the server's store holds every point:

- nbtrack: ``nbtrack.log_metric`` N times in one run (each call ends in the local journal; the
  sender ships it in the background), then ``nbtrack.get_run`` — which first sends what is
  left and is answered by the server after its store has ingested everything. The points in
  the server's store are counted afterwards, with the server stopped.
- MLflow: ``mlflow.log_metric`` per point (what a training loop calls), and ``log_batch`` of
  1,000 points per request (MLflow's fastest path, which training code rarely takes).

The ratio is nbtrack's points per second over MLflow's. The figures also show the slowest
single ``log_metric`` call of each client.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import side_by_side  # bench/side_by_side.py: the script's own folder is on sys.path
from bench_mlflow_client import start_server

FULL = {"points": 200_000, "mlflow_points": 1_000}
QUICK = {"points": 20_000, "mlflow_points": 500}

NBTRACK_CLIENT = r"""
import json, sys, time
import nbtrack
points = int(sys.argv[1])
slowest = 0.0
started = time.perf_counter()
with nbtrack.start_run(name="bench") as run:
    for step in range(points):
        began = time.perf_counter()
        nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        slowest = max(slowest, time.perf_counter() - began)
logged = time.perf_counter() - started
held = nbtrack.get_run(run.id)
stored = time.perf_counter() - started
assert held.metrics["loss"] == 1.0 / points, held.metrics
print(json.dumps({"logged_s": logged, "stored_s": stored, "slowest_s": slowest}))
"""

MLFLOW_CLIENT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric
uri, points = sys.argv[1], int(sys.argv[2])
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)
figures = {}
slowest = 0.0
with mlflow.start_run() as run:
    mlflow.log_metric("warmup", 0.0)
    started = time.perf_counter()
    for step in range(points):
        began = time.perf_counter()
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        slowest = max(slowest, time.perf_counter() - began)
    figures["per_call_s"] = time.perf_counter() - started
    figures["slowest_s"] = slowest
    started = time.perf_counter()
    batch_points = points * 10
    for first in range(0, batch_points, 1000):
        metrics = [Metric("batched", 0.5, 1, step) for step in range(first, first + 1000)]
        client.log_batch(run.info.run_id, metrics=metrics)
    figures["batch_s"] = time.perf_counter() - started
    figures["batch_points"] = batch_points
assert len(client.get_metric_history(run.info.run_id, "loss")) == points
print(json.dumps(figures))
"""


def run(script: str, folder: Path, env: dict[str, str], *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=folder, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the client failed:\n{done.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)


def measure_nbtrack(points: int) -> dict[str, float]:
    import duckdb

    with tempfile.TemporaryDirectory(prefix="bench-team-nbtrack-") as name:
        folder = Path(name)
        url, process = start_server("nbtrack", folder)
        try:
            env = {**os.environ, "NBTRACK_URI": url}
            client = folder / "client"
            client.mkdir()
            figures = run(NBTRACK_CLIENT, client, env, str(points))
        finally:
            stop(process)
        with duckdb.connect(str(folder / "nbtrack.duckdb"), read_only=True) as con:
            (count,) = con.execute("SELECT count(*) FROM metrics").fetchone() or (0,)
        if count != points:
            raise RuntimeError(f"the server's store holds {count} points, not {points}")
        return figures


def measure_mlflow(points: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-team-mlflow-") as name:
        folder = Path(name)
        url, process = start_server("mlflow", folder)
        try:
            env = dict(os.environ)
            env.pop("NBTRACK_URI", None)
            return run(MLFLOW_CLIENT, folder, env, url, str(points))
        finally:
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 and 500 points")
    parser.add_argument("--points", type=int, help="points nbtrack's client logs")
    parser.add_argument("--mlflow-points", type=int, help="points MLflow's client logs per call")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    sizes["points"] = args.points or sizes["points"]
    sizes["mlflow_points"] = args.mlflow_points or sizes["mlflow_points"]
    print(f"sizes: {sizes}; load average {os.getloadavg()[0]:.2f}", flush=True)

    print("measuring nbtrack server ...", flush=True)
    nb = measure_nbtrack(sizes["points"])
    print("measuring mlflow server ...", flush=True)
    ml = measure_mlflow(sizes["mlflow_points"])

    nb_rate = sizes["points"] / nb["stored_s"]
    per_call_rate = sizes["mlflow_points"] / ml["per_call_s"]
    batch_rate = ml["batch_points"] / ml["batch_s"]
    lines = [
        ["points/s until the server holds them", "log_metric per point", f"{nb_rate:,.0f}",
         f"{per_call_rate:,.0f}", side_by_side.ratio_text(nb_rate, per_call_rate, True)],
        ["", "MLflow: log_batch of 1,000", "", f"{batch_rate:,.0f}",
         side_by_side.ratio_text(nb_rate, batch_rate, True)],
        ["slowest log_metric call (ms)", "", f"{nb['slowest_s'] * 1000:,.2f}",
         f"{ml['slowest_s'] * 1000:,.2f}",
         side_by_side.ratio_text(nb["slowest_s"], ml["slowest_s"], False)],
    ]  # fmt: skip
    side_by_side.print_table(["figure", "how", "nbtrack", "MLflow", "ratio"], lines)
    print(
        f"\nnbtrack: {sizes['points']:,} points logged in {nb['logged_s']:.2f} s, all in the "
        f"server's store {nb['stored_s']:.2f} s after the first; load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps({"sizes": sizes, "nbtrack": nb, "mlflow": ml}, indent=2))


if __name__ == "__main__":
    main()
