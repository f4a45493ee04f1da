"""Bringing an MLflow history in: ``nbtrack mlflow import`` from an ``mlflow.db`` against MLflow
copying the same history into a fresh SQLite store through its own client, in one run.

The source is 1,000 runs x 10 params x 10 metrics x 100 steps (1,000,000 points; ``--runs``
makes it smaller), logged once with ``MlflowClient.log_batch`` and kept under
``bench/results/`` (gitignored) for later runs. Each figure is measured in a fresh process:

- nbtrack: ``import_mlflow("sqlite:///.../mlflow.db")`` into a new store, then ``flush()`` so
  every point is in DuckDB (``import mlflow`` done before the clock, as on the MLflow side:
  about 3 s here, once per command);
- MLflow: the same runs read through ``MlflowClient`` and written with ``create_run`` /
  ``log_batch`` / ``set_terminated`` into a new ``sqlite:`` store (what an MLflow-to-MLflow
  migration does; nbtrack's ``export`` does exactly this, so it is the code that runs);
- reading alone: the same reads, nothing written (both sides pay it).

    python bench/bench_mlflow_import.py            # 1,000 runs
    python bench/bench_mlflow_import.py --runs 100 # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from side_by_side import print_table, ratio_text

RESULTS = Path(__file__).parent / "results"
PARAMS, METRICS, STEPS = 10, 10, 100


def build_source(path: Path, runs: int) -> None:
    """The source store, logged with MLflow's client as a team's history would be."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    uri = f"sqlite:///{path}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("bench")
    start = 1_700_000_000_000
    for number in range(runs):
        run = client.create_run(experiment, start_time=start + number, run_name=f"run-{number}")
        run_id = run.info.run_id
        params = [Param(f"p{i}", str(number * i)) for i in range(PARAMS)]
        metrics = [
            Metric(f"m{i}", (number + i) / (step + 1), start + step, step)
            for i in range(METRICS)
            for step in range(STEPS)
        ]
        client.log_batch(run_id, params=params)
        for at in range(0, len(metrics), 1000):
            client.log_batch(run_id, metrics=metrics[at : at + 1000])
        client.set_terminated(run_id, "FINISHED", start + number + 1000)


def measure(side: str, source: Path, folder: Path) -> float:
    """Seconds one side takes, in a fresh interpreter."""
    source_uri, copy_uri = f"sqlite:///{source}", f"sqlite:///{folder / 'copy.db'}"
    code = {
        "nbtrack": (
            "import mlflow, nbtrack, time; t = time.perf_counter(); "
            f"nbtrack.import_mlflow({source_uri!r}); nbtrack.flush(); "
            "print(time.perf_counter() - t)"
        ),
        "mlflow": (
            "import time; from mlflow import MlflowClient; "
            "from nbtrack.mlflow_compat.client_source import ClientSource; "
            "from nbtrack.mlflow_compat.exporting import Exporter; "
            f"reader = ClientSource({source_uri!r}); "
            f"client = MlflowClient({copy_uri!r}); "
            "client.search_experiments(); t = time.perf_counter(); "
            "Exporter(reader, client, lambda *a: None).export(None); "
            "print(time.perf_counter() - t)"
        ),
        "reading": (
            "import time; from nbtrack.mlflow_compat.client_source import ClientSource; "
            f"reader = ClientSource({source_uri!r}); t = time.perf_counter(); "
            "[reader.metric_history(run, key) for e in reader.experiments() "
            "for run in reader.runs(e.id) for key in run.metric_keys]; "
            "print(time.perf_counter() - t)"
        ),
    }[side]
    env = {**os.environ, "NBTRACK_URI": str(folder / "nbtrack.duckdb")}
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        cwd=folder, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{side} failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    source = RESULTS / f"mlflow-{args.runs}-runs.db"
    if not source.exists():
        print(f"building {source.name} (once; kept for later runs) ...", file=sys.stderr)
        building = source.with_suffix(".building")
        building.unlink(missing_ok=True)
        build_source(building, args.runs)
        building.rename(source)
    points = args.runs * METRICS * STEPS
    print(f"load average {os.getloadavg()[0]:.2f} (1 min)", file=sys.stderr)
    seconds = {}
    for side in ("reading", "nbtrack", "mlflow"):
        with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
            seconds[side] = measure(side, source, Path(folder))
        print(f"{side}: {seconds[side]:.1f} s", file=sys.stderr)
    lines = [
        ["import / copy", "seconds", f"{seconds['nbtrack']:.1f}", f"{seconds['mlflow']:.1f}",
         ratio_text(seconds["nbtrack"], seconds["mlflow"], higher_is_better=False)],
        ["import / copy", "points/s", f"{points / seconds['nbtrack']:,.0f}",
         f"{points / seconds['mlflow']:,.0f}",
         ratio_text(points / seconds["nbtrack"], points / seconds["mlflow"], True)],
        ["reading the source alone", "seconds", f"{seconds['reading']:.1f}",
         f"{seconds['reading']:.1f}", "-"],
    ]  # fmt: skip
    print(f"\n{args.runs:,} runs x {PARAMS} params x {METRICS} metrics x {STEPS} steps "
          f"= {points:,} points, from mlflow.db (SQLite)")  # fmt: skip
    print_table(["figure", "unit", "nbtrack", "MLflow", "nbtrack vs MLflow"], lines)
    if args.json:
        args.json.write_text(json.dumps({"runs": args.runs, "seconds": seconds}, indent=2))
    print(f"\nload average {os.getloadavg()[0]:.2f} (1 min)", file=sys.stderr)


if __name__ == "__main__":
    main()
