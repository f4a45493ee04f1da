"""Reads from a tracking server on this machine, in one run: nbtrack's client against ``nbtrack
server`` beside MLflow's client against ``mlflow server`` (SQLite), on the same runs.

Usage::

    python bench/bench_team_reads.py [--quick] [--runs N] [--json PATH]

Both servers get the same runs (N x 10 params x 10 metrics, one point each; ``p0`` is ``'x'``
on every other run), written by MLflow's client through each server's REST API before anything
is timed. Then, in a fresh client process per library, with the library and pandas already
imported: the first ``search_runs`` of the experiment, the median of 5 more, the filtered and
ordered search (``metrics.m0 > 0.5 and params.p0 = 'x'``, ``metrics.m1 DESC``, median of 5),
the median ``get_run`` of 20 runs, and the median of ``get_run`` of one run asked 20 times
again while nothing changes (nbtrack's server answers it without opening its store). nbtrack
also times ``sql()`` of a count over every metric (MLflow has none: ``-``). The ratio is
MLflow's time over nbtrack's.
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

FULL = {"runs": 1_000}
QUICK = {"runs": 200}

POPULATE = r"""
import sys, time, warnings
warnings.simplefilter("ignore")
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
uri, runs = sys.argv[1], int(sys.argv[2])
client = MlflowClient(uri)
experiment = client.create_experiment("bench")
now = int(time.time() * 1000)
for n in range(runs):
    run = client.create_run(experiment, run_name=f"run-{n}")
    params = [Param(f"p{k}", "x" if k == 0 and n % 2 == 0 else str(n * k)) for k in range(10)]
    metrics = [Metric(f"m{k}", ((n * 7919 + k * 104729) % 1000) / 1000, now, 0) for k in range(10)]
    client.log_batch(run.info.run_id, metrics=metrics, params=params)
    client.set_terminated(run.info.run_id)
print(experiment)
"""

TIMING = r"""
import json, statistics, sys, time
def timed(call, times):
    spent = []
    for _ in range(times):
        began = time.perf_counter()
        result = call()
        spent.append(time.perf_counter() - began)
    return statistics.median(spent), result
FILTER = "metrics.m0 > 0.5 and params.p0 = 'x'"
"""

NBTRACK_CLIENT = (
    TIMING
    + r"""
import nbtrack, pandas
uri = sys.argv[1]
nbtrack.set_tracking_uri(uri)
first, frame = timed(lambda: nbtrack.search_runs(experiment="bench"), 1)
again, _ = timed(lambda: nbtrack.search_runs(experiment="bench"), 5)
filtered, chosen = timed(
    lambda: nbtrack.search_runs(experiment="bench", filter=FILTER, order_by="metrics.m1 DESC"), 5
)
ids = frame["run_id"].tolist()[:20]
spent = [timed(lambda: nbtrack.get_run(run_id), 1)[0] for run_id in ids]
same, _ = timed(lambda: nbtrack.get_run(ids[0]), 20)
sql, counted = timed(lambda: nbtrack.sql("SELECT count(*) AS n FROM metrics"), 5)
print(json.dumps({
    "first_search_s": first, "search_s": again, "filtered_s": filtered,
    "get_run_s": statistics.median(spent), "same_run_s": same, "sql_s": sql, "rows": len(frame),
    "filtered_rows": len(chosen), "points": int(counted["n"][0]),
    "chosen": sorted(chosen["run_name"]), "m1": chosen["metrics.m1"].tolist(),
}))
"""
)

MLFLOW_CLIENT = (
    TIMING
    + r"""
import warnings
warnings.simplefilter("ignore")
import mlflow, pandas
from mlflow import MlflowClient
uri, experiment = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)
search = lambda **k: mlflow.search_runs(experiment_ids=[experiment], max_results=100_000, **k)
first, frame = timed(search, 1)
again, _ = timed(search, 5)
filtered, chosen = timed(lambda: search(filter_string=FILTER, order_by=["metrics.m1 DESC"]), 5)
ids = frame["run_id"].tolist()[:20]
spent = [timed(lambda: client.get_run(run_id), 1)[0] for run_id in ids]
same, _ = timed(lambda: client.get_run(ids[0]), 20)
print(json.dumps({
    "first_search_s": first, "search_s": again, "filtered_s": filtered,
    "get_run_s": statistics.median(spent), "same_run_s": same, "sql_s": None,
    "rows": len(frame),
    "filtered_rows": len(chosen), "chosen": sorted(chosen["tags.mlflow.runName"]),
    "m1": chosen["metrics.m1"].tolist(),
}))
"""
)


def _run(code: str, *args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBTRACK_", "MLFLOW_"))}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"a bench process failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)


def measure(runs: int) -> dict[str, dict[str, object]]:
    figures: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="nbtrack-bench-reads-") as temp:
        for kind, client in (("nbtrack", NBTRACK_CLIENT), ("mlflow", MLFLOW_CLIENT)):
            folder = Path(temp) / kind
            folder.mkdir()
            url, process = start_server(kind, folder)
            try:
                experiment = _run(POPULATE, url, str(runs), cwd=folder)
                args = (url,) if kind == "nbtrack" else (url, experiment)
                figures[kind] = json.loads(_run(client, *args, cwd=folder))
            finally:
                _stop(process)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK['runs']} runs")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    runs = args.runs or (QUICK if args.quick else FULL)["runs"]
    print(f"load average before: {os.getloadavg()[0]:.2f}; {runs} runs x 10 params x 10 metrics")
    figures = measure(runs)
    nb, ml = figures["nbtrack"], figures["mlflow"]
    lines = []
    for key, label in (
        ("first_search_s", "search_runs, first call (ms)"),
        ("search_s", "search_runs, median of 5 (ms)"),
        ("filtered_s", "filtered + ordered search (ms)"),
        ("get_run_s", "get_run, median of 20 (ms)"),
        ("same_run_s", "get_run, one run again x20 (ms)"),
        ("sql_s", "sql() count over metrics (ms)"),
    ):
        a, b = nb.get(key), ml.get(key)
        lines.append([
            label,
            "" ,
            "-" if a is None else f"{float(a) * 1000:,.1f}",  # type: ignore[arg-type]
            "-" if b is None else f"{float(b) * 1000:,.1f}",  # type: ignore[arg-type]
            side_by_side.ratio_text(a, b, higher_is_better=False),  # type: ignore[arg-type]
        ])  # fmt: skip
    side_by_side.print_table(["figure", "", "nbtrack", "mlflow", "ratio"], lines)
    print(
        f"\nrows: nbtrack {nb['rows']}, mlflow {ml['rows']}; filtered: {nb['filtered_rows']} / "
        f"{ml['filtered_rows']}; the same runs: {nb['chosen'] == ml['chosen']}, in the same "
        f"order of metrics.m1 (ties aside): {nb['m1'] == ml['m1']}"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
