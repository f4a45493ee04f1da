"""The web UI's API against ``mlflow server``'s, on the same 10,000 runs, in one run.

Usage::

    python bench/bench_ui.py [--runs 10000] [--repeat 20] [--json PATH]

Both stores get the same runs (20 params, 20 metrics each; built once and kept under
``bench/results/``: MLflow's SQLite store takes minutes to fill through ``log_batch``). Then
``nbtrack ui`` and ``mlflow server`` run as child processes, one at a time, and one client asks
each, over a kept-alive HTTP connection, for what a runs page needs:

- the first page (50 runs) of the experiment, newest first;
- the first page sorted by ``metrics.m0`` descending;
- the first page of ``metrics.m1 > 0.5 and params.p0 = 'x'``;
- one run (its params, metrics and tags).

MLflow: ``POST /ajax-api/2.0/mlflow/runs/search`` (what its UI calls) and
``GET /ajax-api/2.0/mlflow/runs/get``. nbtrack: ``GET /nbtrack/api/runs`` and
``/nbtrack/api/runs/ID``. Each figure is the median of ``--repeat`` requests after one
untimed first request (shown apart). nbtrack answers an unchanged store from its cache, so its
figures come twice: "cached" (the store did not change between requests) and "after a change"
(the store's marker file is replaced before each request, so every answer is computed again
from DuckDB, as while kernels log).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import side_by_side  # bench/side_by_side.py: the script's own folder is on sys.path

RESULTS = Path(__file__).resolve().parent / "results"
EXPERIMENT = "bench"
PAGE = 50
PARAMS = 20
METRICS = 20
FILTER = "metrics.m1 > 0.5 and params.p0 = 'x'"
SORT = "metrics.m0"
GOAL_PAGE_MS = 50.0
GOAL_RUN_MS = 100.0
READY_TIMEOUT_S = 120.0


def progress(message: str) -> None:
    print(f"[bench_ui] {message}", file=sys.stderr, flush=True)


def values(i: int) -> tuple[dict[str, str | float], dict[str, float]]:
    rng = random.Random(i)
    params: dict[str, str | float] = {f"p{j}": round(rng.random(), 4) for j in range(1, PARAMS)}
    params["p0"] = "x" if i % 2 else "y"
    return params, {f"m{j}": rng.random() for j in range(METRICS)}


def build_nbtrack(path: Path, runs: int) -> None:
    code = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import nbtrack
from bench_ui import values
nbtrack.set_tracking_uri({str(path)!r})
nbtrack.set_experiment({EXPERIMENT!r})
for i in range({runs}):
    params, metrics = values(i)
    with nbtrack.start_run(name=f"run-{{i}}"):
        nbtrack.log_params(params)
        nbtrack.log_metrics(metrics)
nbtrack.search_runs()
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def build_mlflow(path: Path, runs: int) -> None:
    code = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from mlflow.tracking import MlflowClient
from mlflow.entities import Metric, Param
from bench_ui import values
client = MlflowClient(tracking_uri="sqlite:///{path}")
experiment = client.create_experiment({EXPERIMENT!r})
for i in range({runs}):
    params, metrics = values(i)
    run = client.create_run(experiment, run_name=f"run-{{i}}")
    client.log_batch(run.info.run_id,
        metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()],
        params=[Param(k, str(v)) for k, v in params.items()])
    client.set_terminated(run.info.run_id)
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def stores(runs: int) -> tuple[Path, Path]:
    """The two stores of ``runs`` runs, built unless already under ``bench/results/``."""
    folder = RESULTS / f"ui-{runs}"
    nb, ml = folder / "nbtrack" / "nbtrack.duckdb", folder / "mlflow.db"
    if not nb.exists():
        shutil.rmtree(nb.parent, ignore_errors=True)
        nb.parent.mkdir(parents=True)
        started = time.perf_counter()
        build_nbtrack(nb, runs)
        progress(f"nbtrack store built in {time.perf_counter() - started:.0f} s")
    if not ml.exists():
        staging = ml.with_suffix(".building")
        staging.unlink(missing_ok=True)
        started = time.perf_counter()
        build_mlflow(staging, runs)
        staging.rename(ml)
        progress(f"MLflow store built in {time.perf_counter() - started:.0f} s")
    return nb, ml


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server on port {port} exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            if connection.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server on port {port} did not answer within {READY_TIMEOUT_S} s")


def timed(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[float, object]:
    headers = {"Content-Type": "application/json"} if body else {}
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = json.loads(response.read())
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise SystemExit(f"{method} {path}: {response.status} {data}")
    return elapsed, data


def measure(
    ask: Callable[[], tuple[float, object]], repeat: int, before: Callable[[], None] | None = None
) -> tuple[float, float, object]:
    """(first request ms, median ms of ``repeat`` more, the last answer)."""
    if before:
        before()
    first, data = ask()
    times = []
    for _ in range(repeat):
        if before:
            before()
        elapsed, data = ask()
        times.append(elapsed)
    return first, statistics.median(times), data


def nbtrack_figures(store: Path, repeat: int) -> dict[str, dict[str, float]]:
    port = free_port()
    env = dict(os.environ, NBTRACK_URI=str(store))
    with subprocess.Popen(
        [sys.executable, "-m", "nbtrack.cli", "ui", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ) as process:  # fmt: skip
        try:
            wait_ready(port, "/nbtrack/api/experiments", process)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            marker = store.parent / f".{store.name}.changed"

            def changed() -> None:
                marker.write_text(str(time.time_ns()))

            def page(**query: str) -> Callable[[], tuple[float, object]]:
                wanted = {"experiment": EXPERIMENT, "page_size": str(PAGE), **query}
                return lambda: timed(connection, "GET", f"/nbtrack/api/runs?{urlencode(wanted)}")

            asks = {
                "first page": page(),
                "sorted by a metric": page(sort=f"-{SORT}"),
                "filtered": page(filter=FILTER),
            }
            _, _, first_page = measure(asks["first page"], 1)
            run_id = first_page["rows"][0]["run_id"]  # type: ignore[index]
            asks["a run"] = lambda: timed(connection, "GET", f"/nbtrack/api/runs/{run_id}")
            figures: dict[str, dict[str, float]] = {}
            for name, ask in asks.items():
                first, cached, data = measure(ask, repeat)
                _, fresh, _ = measure(ask, repeat, before=changed)
                figures[name] = {"first": first, "cached": cached, "after a change": fresh}
                if name == "filtered":
                    figures[name]["runs"] = data["total"]  # type: ignore[index]
            return figures
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def mlflow_figures(store: Path, repeat: int) -> dict[str, dict[str, float]] | None:
    mlflow = shutil.which("mlflow") or str(Path(sys.executable).parent / "mlflow")
    if not Path(mlflow).exists():
        return None
    port = free_port()
    command = [
        mlflow, "server", "--backend-store-uri", f"sqlite:///{store}", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    ) as process:
        try:
            wait_ready(port, "/health", process)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            _, found = timed(
                connection,
                "GET",
                f"/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name={EXPERIMENT}",
            )
            experiment = found["experiment"]["experiment_id"]  # type: ignore[index]

            def search(**extra: object) -> Callable[[], tuple[float, object]]:
                body = {"experiment_ids": [experiment], "max_results": PAGE, **extra}
                return lambda: timed(
                    connection,
                    "POST",
                    "/ajax-api/2.0/mlflow/runs/search",
                    json.dumps(body).encode(),
                )

            asks = {
                "first page": search(order_by=["attributes.start_time DESC"]),
                "sorted by a metric": search(order_by=[f"{SORT} DESC"]),
                "filtered": search(filter=FILTER),
            }
            _, _, page = measure(asks["first page"], 1)
            run_id = page["runs"][0]["info"]["run_id"]  # type: ignore[index]
            asks["a run"] = lambda: timed(
                connection, "GET", f"/ajax-api/2.0/mlflow/runs/get?run_id={run_id}"
            )
            figures = {}
            for name, ask in asks.items():
                first, median, _ = measure(ask, repeat)
                figures[name] = {"first": first, "median": median}
            return figures
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def report(
    nb: dict[str, dict[str, float]], ml: dict[str, dict[str, float]] | None, runs: int
) -> None:
    header = ["API call", "goal", "nbtrack cached", "nbtrack after a change", "MLflow", "ratio"]
    lines = []
    for name, figures in nb.items():
        goal = GOAL_RUN_MS if name == "a run" else GOAL_PAGE_MS
        theirs = ml[name]["median"] if ml else None
        lines.append([
            name, f"<= {goal:g} ms", f"{figures['cached']:.1f} ms",
            f"{figures['after a change']:.1f} ms", f"{theirs:.1f} ms" if theirs else "-",
            side_by_side.ratio_text(figures["after a change"], theirs, higher_is_better=False),
        ])  # fmt: skip
    print(f"\n{runs:,} runs x {PARAMS} params x {METRICS} metrics: median of requests to a server")
    side_by_side.print_table(header, lines, right=(2, 3, 4))
    print("\nfirst request (ms):")
    for name in nb:
        theirs = f"{ml[name]['first']:.0f}" if ml else "-"
        print(f"  {name}: nbtrack {nb[name]['first']:.0f}, MLflow {theirs}")
    print(f"  filtered page: {nb['filtered'].get('runs', 0):,.0f} runs match")
    print(f"load average: {os.getloadavg()[0]:.2f} (compare figures from one run only)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    nb_store, ml_store = stores(args.runs)
    progress("measuring nbtrack ui")
    nb = nbtrack_figures(nb_store, args.repeat)
    progress("measuring mlflow server")
    ml = mlflow_figures(ml_store, args.repeat)
    report(nb, ml, args.runs)
    if args.json:
        args.json.write_text(json.dumps({"nbtrack": nb, "mlflow": ml}, indent=2))


if __name__ == "__main__":
    main()
