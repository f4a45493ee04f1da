"""Tracking benchmark: nbtrack against MLflow 3 (SQLite backend), in one run on this machine.

Usage::

    python bench/bench_tracking.py [--quick] [--json PATH]

Every measurement runs in a fresh child process (this same script with ``--worker``), so one
library's imports, threads and caches never weigh on the other's figures. The parent only
orchestrates, prints and, for the multi-writer phase, reads the points back.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import side_by_side  # bench/side_by_side.py: the script's own folder is on sys.path

NBTRACK = "nbtrack"
MLFLOW = "mlflow"
METRIC_KEY = "loss"
RESULT_PREFIX = "BENCH-RESULT "
WORKER_TIMEOUT_S = 600.0
MLFLOW_MISSING = "mlflow not installed: pip install -e '.[bench]'"

GOAL_LOG_METRIC = 100_000.0
GOAL_IMPORT_S = 0.2
GOAL_SEARCH_S = 0.050

SEARCH_EXPERIMENT = "bench"
SEARCH_FILTER = "metrics.m0 > 0.5 and params.p0 = 'x'"
SEARCH_ORDER = "metrics.m1 DESC"
EXPORT_METRICS_FILE = "metrics.parquet"

# MLflow's SQLite store commits each point (~250-400 points/s here), so its sizes are smaller;
# every figure is a rate or a per-call time, so the sizes need not match to compare.
FULL_SIZES: dict[str, int] = {
    "nb_points": 200_000,
    "ml_points": 2_000,
    "empty_runs": 20,
    "import_reps": 5,
    "nb_mem_points": 20_000,
    # 20,000 synchronous MLflow points take ~80 s; its RSS is flat in N (each point is one
    # committed INSERT), so 2,000 give the same peak.
    "ml_mem_points": 2_000,
    "writers": 4,
    "nb_writer_points": 5_000,
    # SQLite's one write lock serialises the MLflow writers to ~250 points/s: ~80 s for these.
    "ml_writer_points": 5_000,
    # search_runs: one store per library holding the same runs, each with these many params and
    # metrics (one point each, step 0); both are built untimed, then searched in fresh processes.
    "search_runs": 1_000,
    "search_params": 10,
    "search_metrics": 10,
    "search_reps": 5,
    # export: nbtrack only, one run holding this many points, exported by the CLI.
    "export_points": 1_000_000,
    "export_reps": 3,
}
QUICK_SIZES: dict[str, int] = {
    "nb_points": 20_000,
    "ml_points": 200,
    "empty_runs": 5,
    "import_reps": 3,
    "nb_mem_points": 5_000,
    "ml_mem_points": 200,
    "writers": 4,
    "nb_writer_points": 1_000,
    "ml_writer_points": 100,
    "search_runs": 200,
    "search_params": 10,
    "search_metrics": 10,
    "search_reps": 5,
    "export_points": 200_000,
    "export_reps": 3,
}

_T0 = time.perf_counter()


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f}s] {message}", flush=True)


# -- child processes ---------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "PYTHONWARNINGS": "ignore",
        }
    )
    env.pop("NBTRACK_URI", None)
    return env


def run_worker(task: str, lib: str, cwd: Path, **params: Any) -> dict[str, Any]:
    """Run ``task`` in a fresh interpreter and return the JSON it reports."""
    spec = json.dumps({"task": task, "lib": lib, **params})
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", spec],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT_S,
        check=False,
    )
    return parse_result(proc.stdout, proc.stderr, proc.returncode, f"{lib} {task}")


def run_workers_parallel(jobs: list[tuple[str, str, Path, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run several ``(task, lib, cwd, params)`` workers at once; untimed set-up work only."""
    procs = []
    try:
        for task, lib, cwd, params in jobs:
            spec = json.dumps({"task": task, "lib": lib, **params})
            procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--worker", spec],
                    cwd=cwd,
                    env=child_env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        results = []
        for proc, (task, lib, _, _) in zip(procs, jobs, strict=True):
            out, err = proc.communicate(timeout=WORKER_TIMEOUT_S)
            results.append(parse_result(out, err, proc.returncode, f"{lib} {task}"))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def parse_result(stdout: str, stderr: str, returncode: int, what: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    tail = "\n".join(stderr.strip().splitlines()[-15:])
    raise RuntimeError(f"{what}: worker exited {returncode} without a result\n{tail}")


def report(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def max_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    unit = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 2**20


# -- the libraries, behind one small interface (imported only inside workers) ----------------


class Tracker:
    """One library's start / log / end / read-back, as a user would call them."""

    def start(self, name: str) -> str:
        raise NotImplementedError

    def log_loop(self, n: int, *, catch: bool = False) -> tuple[int, list[str]]:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError

    def count(self, run_id: str) -> int:
        raise NotImplementedError


class NbtrackTracker(Tracker):
    def __init__(self, store: str) -> None:
        import nbtrack

        self.nb = nbtrack
        nbtrack.set_tracking_uri(store)

    def start(self, name: str) -> str:
        return self.nb.start_run(name=name).id

    def log_loop(self, n: int, *, catch: bool = False) -> tuple[int, list[str]]:
        return _loop(self.nb.log_metric, n, catch)

    def end(self) -> None:
        self.nb.end_run()

    def count(self, run_id: str) -> int:
        return len(self.nb.get_metric_history(run_id, METRIC_KEY))


class MlflowTracker(Tracker):
    def __init__(self, store: str) -> None:
        import logging

        import mlflow

        for name in ("mlflow", "alembic", "sqlalchemy"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self.mlflow = mlflow
        mlflow.set_tracking_uri(f"sqlite:///{store}")

    def start(self, name: str) -> str:
        return str(self.mlflow.start_run(run_name=name).info.run_id)

    def log_loop(self, n: int, *, catch: bool = False) -> tuple[int, list[str]]:
        return _loop(self.mlflow.log_metric, n, catch)

    def end(self) -> None:
        self.mlflow.end_run()

    def count(self, run_id: str) -> int:
        return len(self.mlflow.MlflowClient().get_metric_history(run_id, METRIC_KEY))


def _loop(log: Callable[..., object], n: int, catch: bool) -> tuple[int, list[str]]:
    if not catch:
        for i in range(n):
            log(METRIC_KEY, i * 0.5, step=i)
        return 0, []
    errors = 0
    messages: list[str] = []
    for i in range(n):
        try:
            log(METRIC_KEY, i * 0.5, step=i)
        except Exception as exc:
            errors += 1
            text = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
            if len(messages) < 3 and text not in messages:
                messages.append(text)
    return errors, messages


def make_tracker(lib: str, store: str) -> Tracker:
    return NbtrackTracker(store) if lib == NBTRACK else MlflowTracker(store)


# -- worker tasks (each runs in its own process) -----------------------------------------------


def task_throughput(lib: str, store: str, n: int) -> dict[str, Any]:
    tracker = make_tracker(lib, store)
    # This is the first run of the store: it creates the file, the schema and its tables.
    t0 = time.perf_counter()
    tracker.start("first")
    tracker.end()
    first_s = time.perf_counter() - t0
    run_id = tracker.start("throughput")
    t0 = time.perf_counter()
    tracker.log_loop(n)
    t1 = time.perf_counter()
    # For nbtrack the loop only journals the points; ending the run ingests them into DuckDB.
    tracker.end()
    t2 = time.perf_counter()
    return {
        "first_run_s": first_s,
        "points": n,
        "loop_s": t1 - t0,
        "end_s": t2 - t1,
        "calls_per_s": n / (t1 - t0),
        "store_per_s": n / (t2 - t0),
        "readable": tracker.count(run_id),
    }


def task_empty_runs(lib: str, store: str, n: int) -> dict[str, Any]:
    tracker = make_tracker(lib, store)
    # Untimed: the first run of a process pays one-off costs (nbtrack's first parameterised
    # DuckDB query imports pandas and numpy; MLflow builds its SQLAlchemy engine).
    tracker.start("empty-warm-up")
    tracker.end()
    samples = []
    for k in range(n):
        t0 = time.perf_counter()
        tracker.start(f"empty-{k}")
        tracker.end()
        samples.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(samples), "samples_s": samples}


def task_memory(lib: str, store: str, n: int) -> dict[str, Any]:
    tracker = make_tracker(lib, store)
    after_import = max_rss_mib()
    run_id = tracker.start("memory")
    tracker.log_loop(n)
    tracker.end()
    peak = max_rss_mib()
    return {
        "points": n,
        "rss_after_import_mib": after_import,
        "peak_rss_mib": peak,
        "readable": tracker.count(run_id),
    }


def task_writer(lib: str, store: str, n: int, index: int) -> dict[str, Any]:
    tracker = make_tracker(lib, store)
    run_id = tracker.start(f"writer-{index}")
    print("READY", flush=True)
    sys.stdin.readline()
    t0 = time.perf_counter()
    errors, messages = tracker.log_loop(n, catch=True)
    end_error = None
    try:
        tracker.end()
    except Exception as exc:
        end_error = f"{type(exc).__name__}: {exc}"
    return {
        "run_id": run_id,
        "points": n,
        "errors": errors,
        "messages": messages,
        "end_error": end_error,
        "elapsed_s": time.perf_counter() - t0,
    }


def search_data(i: int, n_params: int, n_metrics: int) -> tuple[dict[str, str], dict[str, float]]:
    """Run ``i``'s params and metrics, the same for both libraries: p0 is 'x' on every other
    run, so the filter ``metrics.m0 > 0.5 and params.p0 = 'x'`` keeps about a quarter."""
    rng = random.Random(i)
    params = {"p0": "x" if i % 2 == 0 else "y"}
    params.update({f"p{k}": f"v{(i * k) % 7}" for k in range(1, n_params)})
    metrics = {f"m{k}": rng.random() for k in range(n_metrics)}
    return params, metrics


def task_search_build(
    lib: str, store: str, n: int, n_params: int, n_metrics: int
) -> dict[str, Any]:
    t0 = time.perf_counter()
    if lib == NBTRACK:
        import nbtrack

        nbtrack.set_tracking_uri(store)
        experiment_id = nbtrack.set_experiment(SEARCH_EXPERIMENT).id
        for i in range(n):
            params, metrics = search_data(i, n_params, n_metrics)
            with nbtrack.start_run(name=f"run-{i}"):
                nbtrack.log_params(params)
                nbtrack.log_metrics(metrics, step=0)
    else:
        tracker = MlflowTracker(store)
        from mlflow.entities import Metric, Param

        client = tracker.mlflow.MlflowClient()
        experiment_id = client.create_experiment(SEARCH_EXPERIMENT)
        for i in range(n):
            params, metrics = search_data(i, n_params, n_metrics)
            run_id = client.create_run(experiment_id, run_name=f"run-{i}").info.run_id
            now_ms = int(time.time() * 1000)
            client.log_batch(
                run_id,
                metrics=[Metric(k, v, now_ms, 0) for k, v in metrics.items()],
                params=[Param(k, v) for k, v in params.items()],
            )
            client.set_terminated(run_id)
    return {"runs": n, "build_s": time.perf_counter() - t0, "experiment_id": str(experiment_id)}


def task_search_time(lib: str, store: str, experiment_id: str, reps: int) -> dict[str, Any]:
    # Imported before the clock: the library and the modules its first search would load lazily
    # (pandas and its Arrow bridge; DuckDB, or SQLAlchemy's SQLite dialect, Alembic and MLflow's
    # SQL store), so the first call times opening the store, not Python imports. Whatever the
    # first call still imports is reported.
    for module in ("pandas", "pyarrow.pandas_compat"):
        if importlib.util.find_spec(module.split(".")[0]) is not None:
            importlib.import_module(module)

    search: Callable[..., Any]
    if lib == NBTRACK:
        import duckdb  # noqa: F401

        import nbtrack

        nbtrack.set_tracking_uri(store)

        def search(filtered: bool = False) -> Any:
            if filtered:
                return nbtrack.search_runs(
                    experiment=SEARCH_EXPERIMENT, filter=SEARCH_FILTER, order_by=SEARCH_ORDER
                )
            return nbtrack.search_runs(experiment=SEARCH_EXPERIMENT)

        name_column = "run_name"
    else:
        import alembic.command
        import alembic.config  # noqa: F401
        import mlflow.store.tracking.sqlalchemy_store
        import sqlalchemy.dialects.sqlite  # noqa: F401

        mlflow = MlflowTracker(store).mlflow

        def search(filtered: bool = False) -> Any:
            if filtered:
                return mlflow.search_runs(
                    experiment_ids=[experiment_id],
                    filter_string=SEARCH_FILTER,
                    order_by=[SEARCH_ORDER],
                )
            return mlflow.search_runs(experiment_ids=[experiment_id])

        name_column = "tags.mlflow.runName"

    def timed(filtered: bool = False) -> tuple[float, Any]:
        t0 = time.perf_counter()
        frame = search(filtered)
        return time.perf_counter() - t0, frame

    modules_before = set(sys.modules)
    cold_s, frame = timed()
    imported = sorted(set(sys.modules) - modules_before)
    warm = [timed()[0] for _ in range(reps)]
    filter_first_s, filtered = timed(filtered=True)
    filter_warm = [timed(filtered=True)[0] for _ in range(reps)]
    names = [str(v) for v in filtered[name_column]]
    columns = [str(c) for c in frame.columns]
    return {
        "cold_s": cold_s,
        "warm_median_s": statistics.median(warm),
        "warm_samples_s": warm,
        "filter_first_s": filter_first_s,
        "filter_median_s": statistics.median(filter_warm),
        "filter_samples_s": filter_warm,
        "shape": list(frame.shape),
        "filtered_shape": list(filtered.shape),
        "columns": columns,
        "filtered_order_sha1": hashlib.sha1("\n".join(names).encode()).hexdigest(),
        "modules_imported_by_cold_call": imported,
    }


def task_export_build(store: str, n: int) -> dict[str, Any]:
    import nbtrack

    nbtrack.set_tracking_uri(store)
    nbtrack.set_experiment("export")
    t0 = time.perf_counter()
    nbtrack.start_run(name="export")
    _loop(nbtrack.log_metric, n, False)
    t1 = time.perf_counter()
    nbtrack.flush()
    t2 = time.perf_counter()
    nbtrack.end_run()
    rows = nbtrack.sql("SELECT count(*) AS n FROM metrics")
    return {
        "points": n,
        "loop_s": t1 - t0,
        "flush_s": t2 - t1,
        "readable": int(rows["n"].iloc[0]),
        "store_mb": Path(store).stat().st_size / 1e6,
    }


def worker_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    task, lib, store = spec["task"], spec["lib"], spec["store"]
    if task == "throughput":
        result = task_throughput(lib, store, spec["n"])
    elif task == "empty_runs":
        result = task_empty_runs(lib, store, spec["n"])
    elif task == "memory":
        result = task_memory(lib, store, spec["n"])
    elif task == "writer":
        result = task_writer(lib, store, spec["n"], spec["index"])
    elif task == "search_build":
        result = task_search_build(lib, store, spec["n"], spec["n_params"], spec["n_metrics"])
    elif task == "search_time":
        result = task_search_time(lib, store, spec["experiment_id"], spec["reps"])
    elif task == "export_build":
        result = task_export_build(store, spec["n"])
    else:
        raise SystemExit(f"unknown worker task {task!r}")
    report(result)


# -- phases (in the parent) --------------------------------------------------------------------


def store_path(root: Path, lib: str, purpose: str = "") -> str:
    folder = root / (f"{purpose}-{lib}" if purpose else lib)
    folder.mkdir()
    return str(folder / ("nbtrack.duckdb" if lib == NBTRACK else "mlflow.db"))


def phase_import(lib: str, reps: int, cwd: Path) -> dict[str, Any]:
    code = f"import time;t=time.perf_counter();import {lib};print(time.perf_counter()-t)"
    samples = []
    # One discarded run first: the first import after install compiles .pyc files and reads a
    # cold disk cache, which says nothing about the import a user sees every day.
    for attempt in range(reps + 1):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=cwd,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
            check=True,
        )
        if attempt:
            samples.append(float(proc.stdout.strip().splitlines()[-1]))
    return {"median_s": statistics.median(samples), "samples_s": samples}


def phase_writers(lib: str, store: str, writers: int, n: int) -> dict[str, Any]:
    cwd = Path(store).parent
    reader = _nbtrack_reader(store) if lib == NBTRACK else _mlflow_reader(store)
    procs: list[subprocess.Popen[str]] = []
    stderr_files = []
    try:
        for index in range(writers):
            err = (cwd / f"writer-{index}.stderr").open("w+")
            stderr_files.append(err)
            spec = json.dumps(
                {"task": "writer", "lib": lib, "store": store, "n": n, "index": index}
            )
            procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--worker", spec],
                    cwd=cwd,
                    env=child_env(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                )
            )
        for proc in procs:
            assert proc.stdout is not None
            while (line := proc.stdout.readline()) and not line.startswith("READY"):
                pass
            if not line:
                proc.wait(timeout=WORKER_TIMEOUT_S)
                raise RuntimeError(f"{lib} writer exited {proc.returncode} before it was ready")
        # Every writer has imported its library and opened its run: only logging is timed.
        t0 = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("GO\n")
            proc.stdin.close()
        results = []
        for proc, err in zip(procs, stderr_files, strict=True):
            assert proc.stdout is not None
            out = proc.stdout.read()
            proc.wait(timeout=WORKER_TIMEOUT_S)
            err.seek(0)
            results.append(parse_result(out, err.read(), proc.returncode, f"{lib} writer"))
        readable = reader([r["run_id"] for r in results])
        elapsed = time.perf_counter() - t0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for err in stderr_files:
            err.close()
    total = writers * n
    messages = sorted({m for r in results for m in r["messages"]})
    end_errors = [r["end_error"] for r in results if r["end_error"]]
    return {
        "writers": writers,
        "points_per_writer": n,
        "elapsed_s": elapsed,
        "points_per_s": readable / elapsed,
        "readable": readable,
        "lost": total - readable,
        "errors": sum(r["errors"] for r in results) + len(end_errors),
        "error_messages": messages + end_errors,
        "writer_elapsed_s": [r["elapsed_s"] for r in results],
    }


def phase_export(store: str, reps: int) -> dict[str, Any]:
    """``nbtrack export DIR`` as a user runs it: a whole command, interpreter start included."""
    root = Path(store).parent
    samples = []
    for rep in range(reps):
        folder = root / f"export-{rep}"
        command = [sys.executable, "-m", "nbtrack.cli", "--store", store, "export", str(folder)]
        t0 = time.perf_counter()
        proc = subprocess.run(
            command,
            cwd=root,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
            check=False,
        )
        samples.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"nbtrack export exited {proc.returncode}\n{tail}")
    parquet = root / "export-0" / EXPORT_METRICS_FILE
    median = statistics.median(samples)
    return {
        "median_s": median,
        "samples_s": samples,
        "metrics_parquet_mb": parquet.stat().st_size / 1e6,
        "files": sorted(p.name for p in parquet.parent.iterdir()),
        "exported_points": _parquet_rows(parquet),
    }


def _parquet_rows(path: Path) -> int:
    import duckdb  # nbtrack's own dependency; the parent reads the file once, untimed

    row = duckdb.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()
    return int(row[0]) if row else 0


def _nbtrack_reader(store: str) -> Callable[[list[str]], int]:
    # Imported before the clock starts; reading back through nbtrack's own API also ingests
    # any journal a writer may have left behind.
    import duckdb  # noqa: F401
    import pandas  # noqa: F401

    import nbtrack

    def read(run_ids: list[str]) -> int:
        nbtrack.set_tracking_uri(store)
        try:
            return sum(len(nbtrack.get_metric_history(rid, METRIC_KEY)) for rid in run_ids)
        finally:
            nbtrack.set_tracking_uri(None)

    return read


def _mlflow_reader(store: str) -> Callable[[list[str]], int]:
    # MLflow commits each point before log_metric returns, so the committed rows in the SQLite
    # file are what any reader sees; reading them directly keeps mlflow out of this process.
    def read(run_ids: list[str]) -> int:
        con = sqlite3.connect(store, timeout=60)
        try:
            total = 0
            for rid in run_ids:
                row = con.execute(
                    "SELECT count(*) FROM metrics WHERE run_uuid = ? AND key = ?",
                    (rid, METRIC_KEY),
                ).fetchone()
                total += int(row[0])
            return total
        finally:
            con.close()

    return read


# -- the table ---------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    unit: str
    nb: float | None
    ml: float | None
    higher_is_better: bool
    fmt: str = "{:,.0f}"
    goal: tuple[str, float] | None = None
    compare: bool = True
    notes: list[str] = field(default_factory=list)

    def ratio(self) -> float | None:
        if not self.compare or self.nb is None or self.ml is None or 0 in (self.nb, self.ml):
            return None
        return self.nb / self.ml

    def ratio_text(self) -> str:
        return (
            side_by_side.ratio_text(self.nb, self.ml, self.higher_is_better)
            if self.compare
            else "-"
        )

    def goal_text(self) -> str:
        if self.goal is None or self.nb is None:
            return ""
        op, target = self.goal
        met = self.nb >= target if op == ">=" else self.nb <= target
        shown = self.fmt.format(target)
        return f"{op} {shown}: {'MET' if met else 'MISSED'}"


def build_rows(fig: dict[str, dict[str, Any]]) -> list[Row]:
    nb, ml = fig[NBTRACK], fig.get(MLFLOW, {})

    def get(d: dict[str, Any], phase: str, key: str) -> float | None:
        value = d.get(phase, {}).get(key)
        return None if value is None else float(value)

    return [
        Row(
            "log_metric, logging calls",
            "points/s",
            get(nb, "throughput", "calls_per_s"),
            get(ml, "throughput", "calls_per_s"),
            True,
            goal=(">=", GOAL_LOG_METRIC),
        ),
        Row(
            "log_metric, through to the store",
            "points/s",
            get(nb, "throughput", "store_per_s"),
            get(ml, "throughput", "store_per_s"),
            True,
            goal=(">=", GOAL_LOG_METRIC),
        ),
        Row(
            "end_run after the loop (flush)",
            "s",
            get(nb, "throughput", "end_s"),
            get(ml, "throughput", "end_s"),
            False,
            fmt="{:,.3f}",
            compare=False,
        ),
        Row(
            "empty run start+end, median",
            "ms",
            _ms(get(nb, "empty_runs", "median_s")),
            _ms(get(ml, "empty_runs", "median_s")),
            False,
            fmt="{:,.1f}",
        ),
        Row(
            "first run in a new store",
            "ms",
            _ms(get(nb, "throughput", "first_run_s")),
            _ms(get(ml, "throughput", "first_run_s")),
            False,
            fmt="{:,.1f}",
        ),
        Row(
            "import, median",
            "s",
            get(nb, "import", "median_s"),
            get(ml, "import", "median_s"),
            False,
            fmt="{:,.3f}",
            goal=("<=", GOAL_IMPORT_S),
        ),
        Row(
            "RSS after import",
            "MiB",
            get(nb, "memory", "rss_after_import_mib"),
            get(ml, "memory", "rss_after_import_mib"),
            False,
            fmt="{:,.1f}",
        ),
        Row(
            "peak RSS, logging N points",
            "MiB",
            get(nb, "memory", "peak_rss_mib"),
            get(ml, "memory", "peak_rss_mib"),
            False,
            fmt="{:,.1f}",
        ),
        Row(
            "concurrent writers, total",
            "points/s",
            get(nb, "writers", "points_per_s"),
            get(ml, "writers", "points_per_s"),
            True,
        ),
        Row(
            "concurrent writers, errors raised",
            "count",
            get(nb, "writers", "errors"),
            get(ml, "writers", "errors"),
            False,
            compare=False,
        ),
        Row(
            "concurrent writers, points lost",
            "count",
            get(nb, "writers", "lost"),
            get(ml, "writers", "lost"),
            False,
            compare=False,
        ),
        Row(
            "search_runs, 1st call incl. opening the store",
            "ms",
            _ms(get(nb, "search", "cold_s")),
            _ms(get(ml, "search", "cold_s")),
            False,
            fmt="{:,.1f}",
            goal=("<=", GOAL_SEARCH_S * 1000),
        ),
        Row(
            "search_runs, warm median",
            "ms",
            _ms(get(nb, "search", "warm_median_s")),
            _ms(get(ml, "search", "warm_median_s")),
            False,
            fmt="{:,.1f}",
        ),
        Row(
            "search_runs, filter + order_by, warm median",
            "ms",
            _ms(get(nb, "search", "filter_median_s")),
            _ms(get(ml, "search", "filter_median_s")),
            False,
            fmt="{:,.1f}",
        ),
        Row(
            "export, CLI command, median",
            "s",
            get(nb, "export", "median_s"),
            None,
            False,
            fmt="{:,.2f}",
            compare=False,
        ),
        Row(
            "export rate",
            "points/s",
            _rate(get(nb, "export_build", "points"), get(nb, "export", "median_s")),
            None,
            True,
            compare=False,
        ),
        Row(
            "export, metrics.parquet size",
            "MB",
            get(nb, "export", "metrics_parquet_mb"),
            None,
            False,
            fmt="{:,.1f}",
            compare=False,
        ),
    ]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _rate(count: float | None, seconds: float | None) -> float | None:
    return None if count is None or not seconds else count / seconds


def print_table(rows: list[Row], have_mlflow: bool) -> None:
    header = ("figure", "unit", "nbtrack", "MLflow", "nbtrack vs MLflow", "goal (nbtrack)")
    lines = []
    for row in rows:
        nb = "-" if row.nb is None else row.fmt.format(row.nb)
        ml = "-" if row.ml is None else row.fmt.format(row.ml)
        lines.append((row.label, row.unit, nb, ml, row.ratio_text(), row.goal_text()))
    side_by_side.print_table(header, lines)
    if not have_mlflow:
        print(f"\nNOTE: {MLFLOW_MISSING} (nbtrack figures only)")


def print_notes(fig: dict[str, dict[str, Any]], sizes: dict[str, int], have_mlflow: bool) -> None:
    nb, ml = fig[NBTRACK], fig.get(MLFLOW, {})
    print("\nSizes (nbtrack / MLflow):" if have_mlflow else "\nSizes:")
    pairs = [
        ("log_metric points in one run", "nb_points", "ml_points"),
        ("memory: points logged", "nb_mem_points", "ml_mem_points"),
        ("concurrent: points per writer", "nb_writer_points", "ml_writer_points"),
    ]
    for label, a, b in pairs:
        other = f" / {sizes[b]:,}" if have_mlflow else ""
        print(f"  {label}: {sizes[a]:,}{other}")
    print(f"  empty runs timed: {sizes['empty_runs']} each (after one untimed warm-up run)")
    print(f"  import samples: {sizes['import_reps']} each (after one discarded warm-up)")
    print(f"  concurrent writers: {sizes['writers']} processes on one store each")
    print(
        f"  search_runs: {sizes['search_runs']:,} runs x {sizes['search_params']} params x "
        f"{sizes['search_metrics']} metrics (1 point each, step 0)"
        + (", the same values for both" if have_mlflow else "")
        + f"; 1 cold + {sizes['search_reps']} warm calls, then 1 + {sizes['search_reps']} "
        "filtered"
    )
    print(
        f"  export: {sizes['export_points']:,} points in one run (nbtrack only; MLflow has no "
        f"equivalent); {sizes['export_reps']} runs of the command"
    )
    for lib, d in ((NBTRACK, nb), (MLFLOW, ml)):
        if not d:
            continue
        for phase in ("throughput", "memory"):
            got, want = d[phase]["readable"], d[phase]["points"]
            if got != want:
                print(f"  WARNING: {lib} {phase}: {got:,} of {want:,} points readable")
        w = d["writers"]
        if w["error_messages"]:
            print(f"  {lib} writer errors: {'; '.join(w['error_messages'])}")
        print(
            f"  {lib} writers: each logged and ended in "
            + ", ".join(f"{s:.2f}" for s in w["writer_elapsed_s"])
            + f" s; all readable after {w['elapsed_s']:.2f} s"
        )
    print_search_notes(nb, ml)
    if "export" in nb:
        b, e = nb["export_build"], nb["export"]
        if b["readable"] != b["points"] or e["exported_points"] != b["points"]:
            print(
                f"  WARNING: export: {b['points']:,} points logged, {b['readable']:,} in the "
                f"store, {e['exported_points']:,} in {EXPORT_METRICS_FILE}"
            )
        print(
            f"  nbtrack export: store {b['store_mb']:.1f} MB (built in {b['loop_s']:.1f} s + "
            f"flush {b['flush_s']:.1f} s); command "
            + ", ".join(f"{s:.2f}" for s in e["samples_s"])
            + f" s, interpreter start and imports included; {EXPORT_METRICS_FILE} "
            f"{e['metrics_parquet_mb']:.1f} MB; files: {', '.join(e['files'])}"
        )


def print_search_notes(nb: dict[str, Any], ml: dict[str, Any]) -> None:
    if "search" not in nb:
        return
    for lib, d in ((NBTRACK, nb), (MLFLOW, ml)):
        if "search" not in d:
            continue
        s, b = d["search"], d["search_build"]
        print(
            f"  {lib} search_runs: DataFrame {tuple(s['shape'])}, filtered "
            f"{tuple(s['filtered_shape'])}; first filtered call {s['filter_first_s'] * 1000:.1f} "
            f"ms; {len(s['modules_imported_by_cold_call'])} modules imported by the first call; "
            f"store built in {b['build_s']:.1f} s (untimed)"
        )
        if s["shape"][0] != b["runs"]:
            print(f"  WARNING: {lib} search_runs returned {s['shape'][0]} of {b['runs']} runs")
    if "search" not in ml:
        return
    a, b = set(nb["search"]["columns"]), set(ml["search"]["columns"])
    print(f"  columns only in nbtrack's DataFrame: {', '.join(sorted(a - b)) or '-'}")
    print(f"  columns only in MLflow's DataFrame: {', '.join(sorted(b - a)) or '-'}")
    same = nb["search"]["filtered_order_sha1"] == ml["search"]["filtered_order_sha1"]
    print(
        "  filtered, ordered runs: "
        + ("the same runs in the same order" if same else "WARNING: the two lists differ")
    )


# -- main --------------------------------------------------------------------------------------


def run_all(sizes: dict[str, int], have_mlflow: bool, root: Path) -> dict[str, dict[str, Any]]:
    libs = [NBTRACK, MLFLOW] if have_mlflow else [NBTRACK]
    fig: dict[str, dict[str, Any]] = {lib: {} for lib in libs}
    # One store per library for every phase: the throughput phase creates it, and the later
    # phases log into an existing store, as a user does on any day but the first.
    stores = {lib: store_path(root, lib) for lib in libs}
    n_points = {NBTRACK: sizes["nb_points"], MLFLOW: sizes["ml_points"]}
    n_mem = {NBTRACK: sizes["nb_mem_points"], MLFLOW: sizes["ml_mem_points"]}
    n_writer = {NBTRACK: sizes["nb_writer_points"], MLFLOW: sizes["ml_writer_points"]}

    for lib in libs:
        progress(f"import {lib}: {sizes['import_reps']} fresh interpreters")
        fig[lib]["import"] = phase_import(lib, sizes["import_reps"], root)
        progress(f"  median {fig[lib]['import']['median_s']:.3f} s")
    for lib in libs:
        store = stores[lib]
        progress(f"log_metric {lib}: new store, then {n_points[lib]:,} points in one run")
        result = run_worker("throughput", lib, Path(store).parent, store=store, n=n_points[lib])
        fig[lib]["throughput"] = result
        progress(
            f"  {result['calls_per_s']:,.0f} calls/s; end_run {result['end_s']:.3f} s; "
            f"{result['store_per_s']:,.0f} points/s through to the store"
        )
    for lib in libs:
        store = stores[lib]
        progress(f"empty runs {lib}: 1 untimed + {sizes['empty_runs']} timed start+end")
        result = run_worker(
            "empty_runs", lib, Path(store).parent, store=store, n=sizes["empty_runs"]
        )
        fig[lib]["empty_runs"] = result
        progress(f"  median {result['median_s'] * 1000:.1f} ms")
    for lib in libs:
        store = stores[lib]
        progress(f"memory {lib}: {n_mem[lib]:,} points in a fresh process")
        result = run_worker("memory", lib, Path(store).parent, store=store, n=n_mem[lib])
        fig[lib]["memory"] = result
        progress(f"  peak RSS {result['peak_rss_mib']:.1f} MiB")
    for lib in libs:
        progress(f"concurrent {lib}: {sizes['writers']} writers x {n_writer[lib]:,} points")
        result = phase_writers(lib, stores[lib], sizes["writers"], n_writer[lib])
        fig[lib]["writers"] = result
        progress(
            f"  {result['points_per_s']:,.0f} points/s; {result['errors']} errors; "
            f"{result['lost']} lost"
        )
    run_search_and_export(sizes, libs, fig, root)
    return fig


def run_search_and_export(
    sizes: dict[str, int], libs: list[str], fig: dict[str, dict[str, Any]], root: Path
) -> None:
    search_stores = {lib: store_path(root, lib, "search") for lib in libs}
    export_store = store_path(root, NBTRACK, "export")
    # Building the stores is set-up, not a figure: the builders run side by side, and nothing
    # is timed until all of them have exited.
    progress(
        f"building stores (untimed, in parallel): search_runs {sizes['search_runs']:,} runs "
        f"in {' and '.join(libs)}; export {sizes['export_points']:,} points in nbtrack"
    )
    jobs: list[tuple[str, str, Path, dict[str, Any]]] = [
        (
            "search_build",
            lib,
            Path(search_stores[lib]).parent,
            {
                "store": search_stores[lib],
                "n": sizes["search_runs"],
                "n_params": sizes["search_params"],
                "n_metrics": sizes["search_metrics"],
            },
        )
        for lib in libs
    ]
    jobs.append(
        (
            "export_build",
            NBTRACK,
            Path(export_store).parent,
            {"store": export_store, "n": sizes["export_points"]},
        )
    )
    *built, export_built = run_workers_parallel(jobs)
    for lib, result in zip(libs, built, strict=True):
        fig[lib]["search_build"] = result
    fig[NBTRACK]["export_build"] = export_built
    progress(
        "  built: "
        + "; ".join(f"{lib} {r['build_s']:.1f} s" for lib, r in zip(libs, built, strict=True))
        + f"; export store {export_built['loop_s'] + export_built['flush_s']:.1f} s"
    )
    for lib in libs:
        progress(
            f"search_runs {lib}: fresh process, 1 cold + {sizes['search_reps']} warm calls, "
            f"then filter + order_by"
        )
        result = run_worker(
            "search_time",
            lib,
            Path(search_stores[lib]).parent,
            store=search_stores[lib],
            experiment_id=fig[lib]["search_build"]["experiment_id"],
            reps=sizes["search_reps"],
        )
        fig[lib]["search"] = result
        progress(
            f"  cold {result['cold_s'] * 1000:.1f} ms; warm "
            f"{result['warm_median_s'] * 1000:.1f} ms; filtered "
            f"{result['filter_median_s'] * 1000:.1f} ms; shape {tuple(result['shape'])}"
        )
    progress(
        f"export nbtrack: {sizes['export_points']:,} points, `nbtrack export DIR` "
        f"x {sizes['export_reps']}"
    )
    result = phase_export(export_store, sizes["export_reps"])
    fig[NBTRACK]["export"] = result
    progress(
        f"  median {result['median_s']:.2f} s; "
        f"{sizes['export_points'] / result['median_s']:,.0f} points/s; "
        f"{EXPORT_METRICS_FILE} {result['metrics_parquet_mb']:.1f} MB"
    )


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in (NBTRACK, MLFLOW, "duckdb"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="nbtrack vs MLflow 3 (SQLite) tracking benchmark")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the figures here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return 0

    if importlib.util.find_spec(NBTRACK) is None:
        parser.error("nbtrack is not importable: pip install -e .")
    have_mlflow = importlib.util.find_spec(MLFLOW) is not None
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    found = versions()
    progress(
        f"nbtrack {found[NBTRACK]}, mlflow {found[MLFLOW] or '-'}, duckdb {found['duckdb']}; "
        f"Python {platform.python_version()}; {os.cpu_count()} CPUs; "
        f"{'quick' if args.quick else 'full'} sizes"
    )
    if not have_mlflow:
        progress(f"NOTE: {MLFLOW_MISSING}; measuring nbtrack only")
    # The figures are only as steady as the machine: say how busy it was.
    load_before = os.getloadavg()
    progress(f"load average {load_before[0]:.2f} (1 min)")

    with tempfile.TemporaryDirectory(prefix="nbtrack-bench-", ignore_cleanup_errors=True) as tmp:
        fig = run_all(sizes, have_mlflow, Path(tmp))
    load_after = os.getloadavg()
    progress(f"done; load average {load_after[0]:.2f} (1 min)")

    rows = build_rows(fig)
    print_table(rows, have_mlflow)
    print_notes(fig, sizes, have_mlflow)

    if args.json:
        payload = {
            "quick": args.quick,
            "versions": found,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1min": {"before": load_before[0], "after": load_after[0]},
            "mlflow_available": have_mlflow,
            "sizes": sizes,
            "goals": {
                "log_metric_points_per_s": GOAL_LOG_METRIC,
                "import_s": GOAL_IMPORT_S,
                "search_runs_cold_s": GOAL_SEARCH_S,
            },
            "figures": fig,
            "table": [
                {
                    "figure": row.label,
                    "unit": row.unit,
                    "nbtrack": row.nb,
                    "mlflow": row.ml,
                    "ratio_nbtrack_over_mlflow": row.ratio(),
                    "goal": row.goal_text() or None,
                }
                for row in rows
            ],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
