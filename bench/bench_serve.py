"""Serving benchmark: ``nbtrack serve`` against ``mlflow models serve``, one run, one machine.

Usage::

    python bench/bench_serve.py [--quick] [--mlflow PATH] [--json PATH]

One scikit-learn model is registered in a temporary store (by a child process, so this one
never holds the store); nbtrack serves it by name, MLflow serves the registry's copy of the
folder (nbtrack models are MLflow-format folders) with ``--env-manager local``. Each server
runs alone while it is measured: the time from launch to the first ``/ping`` 200, then 1-row
``dataframe_split`` requests over keep-alive ``http.client`` connections, from one client
(latency median / p95 and requests/s) and from eight client threads (requests/s).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import side_by_side  # bench/side_by_side.py: the script's own folder is on sys.path

NBTRACK = "nbtrack"
MLFLOW = "MLflow"
MODEL_NAME = "bench-model"
FEATURES = ["x0", "x1", "x2", "x3"]
ROW = [0.3, -1.2, 0.8, 0.05]
BODY = json.dumps({"dataframe_split": {"columns": FEATURES, "data": [ROW]}}).encode()
HEADERS = {"Content-Type": "application/json"}
NB_SERVE = [sys.executable, "-m", "nbtrack.cli", "serve"]

GOAL_MEDIAN_MS = 2.0
GOAL_READY_S = 2.0
GOAL_THROUGHPUT_RATIO = 2.0
READY_TIMEOUT_S = 120.0

FULL = {"starts": 3, "warmup": 300, "sequential": 3000, "clients": 8, "per_client": 500}
QUICK = {"starts": 1, "warmup": 100, "sequential": 500, "clients": 8, "per_client": 100}

SETUP = """
import sys
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
import nbtrack
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(500, 4)), columns=sys.argv[2].split(","))
y = (X.sum(axis=1) > 0).astype(int).to_numpy()
with nbtrack.start_run():
    info = nbtrack.log_model(LogisticRegression().fit(X, y), "model", input_example=X.head(3))
version = nbtrack.register_model(info.model_uri, sys.argv[1])
nbtrack.promote(sys.argv[1], version.version)
print(version.storage_path)
"""


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def find_mlflow(option: str | None) -> str | None:
    """The ``mlflow`` command: --mlflow, else beside this interpreter, else on PATH."""
    if option:
        return option
    beside = Path(sys.executable).parent / "mlflow"
    if beside.is_file():
        return str(beside)
    return shutil.which("mlflow")


# -- one server ----------------------------------------------------------------------------------


@contextlib.contextmanager
def launched(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process in its own session (MLflow's starts uvicorn as a child), stopped with
    its whole process group at the end."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        # Until the whole group is gone: MLflow's uvicorn child outlives its parent briefly.
        deadline = time.monotonic() + 20
        while _group_alive(process) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _group_alive(process: subprocess.Popen[bytes]) -> bool:
    process.poll()  # reaps the leader once it has exited
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_ping(port: int, process: subprocess.Popen[bytes], log: Path) -> float:
    """Seconds until ``/ping`` first answers 200, polled every 10 ms on fresh connections."""
    started = time.perf_counter()
    while time.perf_counter() - started < READY_TIMEOUT_S:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}); see {log}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.01)
    raise SystemExit(f"no /ping answer within {READY_TIMEOUT_S} s; see {log}")


def post(connection: http.client.HTTPConnection) -> bytes:
    connection.request("POST", "/invocations", BODY, HEADERS)
    response = connection.getresponse()
    content = response.read()
    if response.status != 200:
        raise SystemExit(f"/invocations answered {response.status}: {content[:300]!r}")
    return content


def sequential(port: int, warmup: int, count: int) -> tuple[list[float], float, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    answer = b""
    for _ in range(warmup):
        answer = post(connection)
    times = []
    began = time.perf_counter()
    for _ in range(count):
        started = time.perf_counter()
        post(connection)
        times.append(time.perf_counter() - started)
    elapsed = time.perf_counter() - began
    connection.close()
    return times, count / elapsed, answer


def concurrent(port: int, clients: int, per_client: int) -> float:
    """Requests per second with ``clients`` threads, each on its own keep-alive connection,
    all released at once."""
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        post(connection)  # connected before the clock starts
        barrier.wait()
        try:
            for _ in range(per_client):
                post(connection)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"a client failed: {errors[0]!r}")
    return clients * per_client / elapsed


@dataclass
class Figures:
    ready_s: float
    median_ms: float
    p95_ms: float
    rps_1: float
    rps_n: float
    answer: bytes


def measure(
    name: str,
    command: Callable[[int], list[str]],
    env: dict[str, str],
    log: Path,
    sizes: dict[str, int],
) -> Figures:
    readies = []
    # Every launch but the last only times the start; the last one is then loaded.
    for attempt in range(sizes["starts"]):
        port = free_port()
        with launched(command(port), env, log) as process:
            readies.append(wait_ping(port, process, log))
            progress(f"{name}: ready in {readies[-1]:.2f} s (launch {attempt + 1})")
            if attempt == sizes["starts"] - 1:
                times, rps_1, answer = sequential(port, sizes["warmup"], sizes["sequential"])
                progress(f"{name}: {sizes['sequential']} sequential requests done")
                rps_n = concurrent(port, sizes["clients"], sizes["per_client"])
                progress(f"{name}: {sizes['clients']} x {sizes['per_client']} concurrent done")
    times.sort()
    return Figures(
        ready_s=statistics.median(readies),
        median_ms=statistics.median(times) * 1000,
        p95_ms=times[int(len(times) * 0.95) - 1] * 1000,
        rps_1=rps_1,
        rps_n=rps_n,
        answer=answer,
    )


# -- the table -------------------------------------------------------------------------------


def print_table(nb: Figures, ml: Figures | None, clients: int) -> None:
    def goal(met: bool, text: str) -> str:
        return f"{text}: {'MET' if met else 'MISSED'}"

    rows = [
        ("1-row latency, median", "ms", nb.median_ms, ml and ml.median_ms, False, "{:.2f}",
         goal(nb.median_ms <= GOAL_MEDIAN_MS, f"<= {GOAL_MEDIAN_MS:g} ms")),
        ("1-row latency, p95", "ms", nb.p95_ms, ml and ml.p95_ms, False, "{:.2f}", ""),
        ("requests/s, 1 client", "req/s", nb.rps_1, ml and ml.rps_1, True, "{:,.0f}", ""),
        (f"requests/s, {clients} clients", "req/s", nb.rps_n, ml and ml.rps_n, True, "{:,.0f}",
         goal(ml is not None and nb.rps_n >= GOAL_THROUGHPUT_RATIO * ml.rps_n,
              f">= {GOAL_THROUGHPUT_RATIO:g}x MLflow") if ml else ""),
        ("launch to first /ping 200", "s", nb.ready_s, ml and ml.ready_s, False, "{:.2f}",
         goal(nb.ready_s <= GOAL_READY_S, f"<= {GOAL_READY_S:g} s")),
    ]  # fmt: skip
    header = ("figure", "unit", NBTRACK, MLFLOW, "nbtrack vs MLflow", "goal (nbtrack)")
    lines = [
        (label, unit, fmt.format(n), "-" if m is None else fmt.format(m),
         side_by_side.ratio_text(n, m, higher), target)
        for label, unit, n, m, higher, fmt, target in rows
    ]  # fmt: skip
    side_by_side.print_table(header, lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and one start each")
    parser.add_argument("--mlflow", metavar="PATH", help="the mlflow command (default: found)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    mlflow = find_mlflow(args.mlflow)
    progress(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; mlflow: {mlflow or 'absent'}"
    )

    with tempfile.TemporaryDirectory(prefix="nbtrack-bench-serve-") as tmp:
        folder = Path(tmp)
        store = folder / "nbtrack.duckdb"
        env = {**os.environ, "NBTRACK_URI": str(store)}
        env.pop("NBTRACK_SERVE_TOKEN", None)
        setup = subprocess.run(
            [sys.executable, "-c", SETUP, MODEL_NAME, ",".join(FEATURES)],
            env=env, cwd=folder, capture_output=True, text=True, check=True,
        )  # fmt: skip
        model_folder = setup.stdout.strip().splitlines()[-1]
        progress(f"registered {MODEL_NAME} version 1 at {model_folder}")

        nb = measure(
            NBTRACK,
            lambda port: [*NB_SERVE, MODEL_NAME, "--port", str(port)],
            env, folder / "nbtrack-serve.log", sizes,
        )  # fmt: skip
        ml = None
        if mlflow:
            # mlflow models serve execs `uvicorn` by name: its own environment's must come first.
            ml_env = {**env, "PATH": os.pathsep.join([str(Path(mlflow).parent), env["PATH"]])}
            ml = measure(
                MLFLOW,
                lambda port: [mlflow, "models", "serve", "-m", model_folder,
                              "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
                ml_env, folder / "mlflow-serve.log", sizes,
            )  # fmt: skip

    print_table(nb, ml, sizes["clients"])
    load = os.getloadavg()
    print(f"\nload average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print(
        f"requests: {sizes['warmup']} warm-up + {sizes['sequential']} sequential, then "
        f"{sizes['clients']} x {sizes['per_client']} concurrent; ready: median of "
        f"{sizes['starts']} launch(es); body {len(BODY)} bytes of dataframe_split"
    )
    if ml is not None:
        same = json.loads(nb.answer) == json.loads(ml.answer)
        print(f"same predictions from both servers: {'yes' if same else 'NO'}")
        print(f"mlflow: {mlflow} (1 uvicorn worker, its default)")
    else:
        print("\nNOTE: mlflow not found (give --mlflow PATH or pip install -e '.[bench]'); "
              "nbtrack figures only")  # fmt: skip
    if args.json:
        figures = {NBTRACK: nb, MLFLOW: ml}
        Path(args.json).write_text(
            json.dumps(
                {
                    name: None if f is None else {k: v for k, v in vars(f).items() if k != "answer"}
                    for name, f in figures.items()
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
