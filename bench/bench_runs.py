"""Runs benchmark: starting, ending and finding runs, nbtrack against MLflow 3 (SQLite), in one run.

Usage::

    python bench/bench_runs.py [--quick] [--json PATH] [--stores DIR]

A run's start and end are one journal write in nbtrack, and every reader ingests all live
journals before it answers. This measures what that buys and what it costs, each figure in fresh
child processes (this script with ``--worker``) with nothing else timed meanwhile:

1. an empty run's ``start_run`` + ``end_run``;
2. 1,000 runs x 10 params x 10 metrics in a loop, and when another process can see them all;
3. the ``log_metric`` call rate;
4. four processes churning runs while a fifth searches: throughput, errors, and whether every
   search saw every run whose ``end_run`` had returned before the search began;
5. ``search_runs`` latency beside four writers logging in a tight loop, then at a training pace;
6. a scale table: stores of 1k to 100k runs (cached under ``--stores``), a 10M-point history,
   a run with 10,000 metric keys.

The helpers shared with ``bench_tracking.py`` (child environment, result lines, the table rows)
are imported from it rather than copied.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import math
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar

# bench/bench_tracking.py: the script's own folder is on sys.path, as for side_by_side there.
import bench_tracking
from bench_tracking import MLFLOW, NBTRACK, Row, progress, search_data

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

WORKER_TIMEOUT_S = 900.0
BUILD_TIMEOUT_S = 4 * 3600.0
# Bump when the builders change what they put in a store: cached stores are then rebuilt.
BUILD_FORMAT = 1
BUILT_MARKER = "built.json"

N_PARAMS = 10
N_METRICS = 10
FINISHED_FILTER = "attributes.status = 'FINISHED'"
SCALE_FILTER = "metrics.m0 > 0.5 and params.p0 = 'x'"
SCALE_ORDER = ["metrics.m1 DESC"]
SCALE_TOP = 100
HISTORY_KEY = "h"
MLFLOW_BATCH = 1_000  # MLflow's log_batch takes at most 1,000 metrics per call

GOAL_EMPTY_RUN_MS = 0.5
GOAL_BATCH_S_PER_1000 = 2.0
GOAL_LOG_METRIC = 200_000.0


@dataclass(frozen=True)
class PerLib(Generic[T]):
    """One size for each library (MLflow's are smaller where it is ~100x slower)."""

    nbtrack: T
    mlflow: T

    def of(self, lib: str) -> T:
        return self.nbtrack if lib == NBTRACK else self.mlflow


@dataclass(frozen=True)
class Sizes:
    empty_warmup: int
    empty_runs: PerLib[int]
    batch_runs: int
    log_metric_calls: PerLib[int]
    churn_writers: int
    churn_runs: PerLib[int]  # per writer
    load_writers: int
    load_seconds: float
    search_every_s: float
    paced_steps_per_s: float
    scale_runs: PerLib[tuple[int, ...]]
    extra_runs: int
    search_reps: int
    # The first size is measured for both (the ratio), the second for nbtrack alone: MLflow
    # logs ~9,000 points/s with log_batch, and its get_metric_history returns a Python object
    # per point (10M points: ~20 min to log, several GiB to read back).
    history_points: PerLib[tuple[int, ...]]
    wide_keys: int


FULL = Sizes(
    empty_warmup=20,
    empty_runs=PerLib(2_000, 300),
    batch_runs=1_000,
    log_metric_calls=PerLib(200_000, 1_000),
    churn_writers=4,
    churn_runs=PerLib(500, 500),
    load_writers=4,
    load_seconds=10.0,
    search_every_s=0.05,
    paced_steps_per_s=900.0,
    scale_runs=PerLib((1_000, 10_000, 100_000), (1_000, 10_000)),
    extra_runs=20,
    search_reps=3,
    history_points=PerLib((1_000_000, 10_000_000), (1_000_000,)),
    wide_keys=10_000,
)
QUICK = Sizes(
    empty_warmup=5,
    empty_runs=PerLib(300, 50),
    batch_runs=300,
    log_metric_calls=PerLib(50_000, 200),
    churn_writers=4,
    churn_runs=PerLib(200, 25),
    load_writers=4,
    load_seconds=4.0,
    search_every_s=0.05,
    paced_steps_per_s=900.0,
    scale_runs=PerLib((1_000, 5_000), (1_000,)),
    extra_runs=10,
    search_reps=2,
    history_points=PerLib((100_000, 1_000_000), (100_000,)),
    wide_keys=10_000,
)


# -- child processes (parent side) -------------------------------------------------------------


class Child:
    """A worker process driven line by line: it prints ``READY``, waits for ``GO`` on stdin,
    may print marks and ``PROGRESS`` lines, and ends with one result line."""

    def __init__(
        self, task: str, lib: str, cwd: Path, timeout_s: float = WORKER_TIMEOUT_S, **params: Any
    ) -> None:
        self.what = f"{lib} {task}"
        self._lines: list[str] = []
        # Closed by result() or kill(), whichever the parent calls last.
        self._err: IO[str] = tempfile.TemporaryFile("w+")  # noqa: SIM115
        spec = json.dumps({"task": task, "lib": lib, **params})
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", spec],
            cwd=cwd,
            env=bench_tracking.child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
        )
        self._timer = threading.Timer(timeout_s, self.proc.kill)
        self._timer.daemon = True
        self._timer.start()

    def expect(self, word: str) -> str:
        """Read lines until one starts with ``word``; return the rest of that line."""
        assert self.proc.stdout is not None
        while line := self.proc.stdout.readline():
            if line.startswith(word):
                return line[len(word) :].strip()
            self._take(line)
        self.proc.wait()
        raise self._failure(f"exited {self.proc.returncode} before {word}")

    def send(self, word: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()

    def result(self) -> dict[str, Any]:
        """Wait for the child to end and return its result (``_stderr``: its last lines)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        for line in self.proc.stdout:
            self._take(line)
        self.proc.wait()
        self._timer.cancel()
        result = bench_tracking.parse_result(
            "".join(self._lines), self._stderr(), self.proc.returncode, self.what
        )
        if tail := self._stderr().strip().splitlines()[-5:]:
            result["_stderr"] = tail
        return result

    def kill(self) -> None:
        """End the child if it still runs; always safe to call."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._timer.cancel()
        self._err.close()

    def _take(self, line: str) -> None:
        if line.startswith("PROGRESS "):
            progress(f"    {self.what}: {line[len('PROGRESS ') :].strip()}")
        else:
            self._lines.append(line)

    def _stderr(self) -> str:
        self._err.seek(0)
        return self._err.read()

    def _failure(self, why: str) -> RuntimeError:
        tail = "\n".join(self._stderr().strip().splitlines()[-15:])
        return RuntimeError(f"{self.what}: {why}\n{tail}")


def run_child(task: str, lib: str, store: str, **params: Any) -> dict[str, Any]:
    """One worker that needs no signal, in the folder of ``store``."""
    child = Child(task, lib, Path(store).parent, store=store, **params)
    try:
        return child.result()
    finally:
        child.kill()


@contextlib.contextmanager
def released_together(kids: list[Child]) -> Iterator[float]:
    """Wait until every child is ready, then send GO to all; yields the monotonic GO time.
    Children still running when the block is left are killed."""
    try:
        for kid in kids:
            kid.expect("READY")
        go = time.monotonic()
        for kid in kids:
            kid.send("GO")
        yield go
    finally:
        for kid in kids:
            kid.kill()


# -- worker side: signals and small helpers ------------------------------------------------------


def ready() -> None:
    """Tell the parent this worker is set up, and wait for its GO."""
    print("READY", flush=True)
    sys.stdin.readline()


def mark(word: str, payload: dict[str, Any]) -> None:
    print(f"{word} {json.dumps(payload)}", flush=True)


def say(message: str) -> None:
    print(f"PROGRESS {message}", flush=True)


class Ticker:
    """Progress of a long build: a line every 10 % or every 15 s, whichever comes first."""

    def __init__(self, total: int, unit: str) -> None:
        self.total, self.unit = total, unit
        self.t0 = self._last = time.perf_counter()
        self._next = max(total // 10, 1)

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if done >= self._next or now - self._last >= 15.0:
            self._next = done + max(self.total // 10, 1)
            self._last = now
            rate = done / (now - self.t0) if now > self.t0 else 0.0
            say(f"{done:,} / {self.total:,} {self.unit} ({now - self.t0:.0f} s, {rate:,.0f}/s)")


@dataclass
class Errors:
    """Exceptions counted, not fatal; the first few distinct messages kept."""

    count: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, exc: BaseException) -> None:
        self.count += 1
        first = str(exc).splitlines()[0][:160] if str(exc) else ""
        text = f"{type(exc).__name__}: {first}"
        if len(self.messages) < 3 and text not in self.messages:
            self.messages.append(text)


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in [0, 1]."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def timed(call: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


# -- the libraries, behind one small interface (imported only inside workers) ----------------


class Api:
    """One library's calls as a user makes them. ``log_metric`` is the library's own function,
    so tight loops time nothing of ours."""

    log_metric: Callable[..., object]
    run_name_column: str

    def use_experiment(self, name: str) -> str:
        """Get or create ``name`` and make it the current experiment; returns its id."""
        raise NotImplementedError

    def empty_run(self) -> None:
        raise NotImplementedError

    def logged_run(self, name: str, params: dict[str, str], metrics: dict[str, float]) -> None:
        raise NotImplementedError

    def one_metric_run(self, name: str, value: float) -> str:
        raise NotImplementedError

    def start(self, name: str) -> str:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError

    def search(
        self,
        experiment: str | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        max_results: int | None = None,
    ) -> pd.DataFrame:
        """``search_runs``; ``experiment`` None is the current experiment."""
        raise NotImplementedError

    def history_length(self, run_id: str, key: str) -> int:
        raise NotImplementedError

    def flush(self) -> None:
        """Everything logged is in the store (MLflow: already, each call commits)."""

    def reset(self) -> None:
        """Leave no run active after a failed call."""

    def count_points(self, store: str) -> dict[str, int]:
        raise NotImplementedError

    def build_runs(self, n: int) -> str:
        raise NotImplementedError

    def build_history(self, points: int) -> str:
        raise NotImplementedError

    def build_wide(self, keys: int) -> str:
        raise NotImplementedError


class NbtrackApi(Api):
    run_name_column = "run_name"

    def __init__(self, store: str) -> None:
        import nbtrack

        self.nb = nbtrack
        nbtrack.set_tracking_uri(store)
        self.log_metric = nbtrack.log_metric

    def use_experiment(self, name: str) -> str:
        return str(self.nb.set_experiment(name).id)

    def empty_run(self) -> None:
        with self.nb.start_run():
            pass

    def logged_run(self, name: str, params: dict[str, str], metrics: dict[str, float]) -> None:
        with self.nb.start_run(name=name):
            self.nb.log_params(params)
            self.nb.log_metrics(metrics)

    def one_metric_run(self, name: str, value: float) -> str:
        with self.nb.start_run(name=name) as run:
            self.nb.log_metric("i", value)
        return str(run.id)

    def start(self, name: str) -> str:
        return str(self.nb.start_run(name=name).id)

    def end(self) -> None:
        self.nb.end_run()

    def search(
        self,
        experiment: str | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        max_results: int | None = None,
    ) -> pd.DataFrame:
        return self.nb.search_runs(
            experiment=experiment, filter=filter, order_by=order_by, max_results=max_results
        )

    def history_length(self, run_id: str, key: str) -> int:
        return len(self.nb.get_metric_history(run_id, key))

    def flush(self) -> None:
        self.nb.flush()

    def count_points(self, store: str) -> dict[str, int]:
        frame = self.nb.sql("SELECT run_id, count(*) AS n FROM metrics GROUP BY run_id")
        return {str(r): int(n) for r, n in zip(frame["run_id"], frame["n"], strict=True)}

    # The public API in a loop: a run costs a few journal lines, ingested in the background.
    def build_runs(self, n: int) -> str:
        experiment = self.use_experiment("bench")
        tick = Ticker(n, "runs")
        for i in range(n):
            self.logged_run(f"run-{i}", *search_data(i, N_PARAMS, N_METRICS))
            if i % 1000 == 999:
                tick(i + 1)
        self._flush_with_progress()
        return experiment

    def build_history(self, points: int) -> str:
        self.use_experiment("history")
        tick, log = Ticker(points, "points"), self.nb.log_metric
        with self.nb.start_run(name="history") as run:
            for start in range(0, points, 100_000):
                for i in range(start, min(start + 100_000, points)):
                    log(HISTORY_KEY, i * 0.5, step=i)
                tick(min(start + 100_000, points))
        self._flush_with_progress()
        return str(run.id)

    def build_wide(self, keys: int) -> str:
        self.use_experiment("wide")
        rng = random.Random(keys)
        with self.nb.start_run(name="wide") as run:
            self.nb.log_metrics({f"k{j}": rng.random() for j in range(keys)})
        self.nb.flush()
        return str(run.id)

    def _flush_with_progress(self) -> None:
        say("flushing the journal into the store")
        t0 = time.perf_counter()
        self.nb.flush()
        say(f"flushed in {time.perf_counter() - t0:.1f} s")


class MlflowApi(Api):
    run_name_column = "tags.mlflow.runName"

    def __init__(self, store: str) -> None:
        # Sets the SQLite URI and quiets MLflow's, Alembic's and SQLAlchemy's loggers.
        self.mlflow = bench_tracking.MlflowTracker(store).mlflow
        self.log_metric = self.mlflow.log_metric
        self._ids: dict[str, str] = {}

    def use_experiment(self, name: str) -> str:
        experiment_id = str(self.mlflow.set_experiment(name).experiment_id)
        self._ids[name] = experiment_id
        return experiment_id

    def empty_run(self) -> None:
        with self.mlflow.start_run():
            pass

    def logged_run(self, name: str, params: dict[str, str], metrics: dict[str, float]) -> None:
        with self.mlflow.start_run(run_name=name):
            self.mlflow.log_params(params)
            self.mlflow.log_metrics(metrics)

    def one_metric_run(self, name: str, value: float) -> str:
        with self.mlflow.start_run(run_name=name) as run:
            self.mlflow.log_metric("i", value)
        return str(run.info.run_id)

    def start(self, name: str) -> str:
        return str(self.mlflow.start_run(run_name=name).info.run_id)

    def end(self) -> None:
        self.mlflow.end_run()

    def search(
        self,
        experiment: str | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        max_results: int | None = None,
    ) -> pd.DataFrame:
        kwargs: dict[str, Any] = {}
        if experiment is not None:
            kwargs["experiment_ids"] = [self._experiment_id(experiment)]
        if filter:
            kwargs["filter_string"] = filter
        if order_by:
            kwargs["order_by"] = order_by
        if max_results is not None:
            kwargs["max_results"] = max_results
        return self.mlflow.search_runs(**kwargs)

    def _experiment_id(self, name: str) -> str:
        # Resolved once, as a user holding the id would: not a lookup per search.
        if name not in self._ids:
            found = self.mlflow.get_experiment_by_name(name)
            if found is None:
                raise LookupError(f"no MLflow experiment {name!r}")
            self._ids[name] = str(found.experiment_id)
        return self._ids[name]

    def history_length(self, run_id: str, key: str) -> int:
        return len(self.mlflow.MlflowClient().get_metric_history(run_id, key))

    def reset(self) -> None:
        # MLflow's end_run pops the run before it writes, so one try per active run ends.
        while self.mlflow.active_run() is not None:
            with contextlib.suppress(Exception):
                self.mlflow.end_run()

    def count_points(self, store: str) -> dict[str, int]:
        # Each point was committed before log_metric returned: the rows in the file are what
        # any reader sees.
        con = sqlite3.connect(store, timeout=60)
        try:
            rows = con.execute("SELECT run_uuid, count(*) FROM metrics GROUP BY run_uuid")
            return {str(r): int(n) for r, n in rows.fetchall()}
        finally:
            con.close()

    # MlflowClient with log_batch: three commits per run, far fewer than the fluent API's.
    def build_runs(self, n: int) -> str:
        from mlflow.entities import Metric, Param

        client = self.mlflow.MlflowClient()
        experiment = client.create_experiment("bench")
        tick = Ticker(n, "runs")
        for i in range(n):
            params, metrics = search_data(i, N_PARAMS, N_METRICS)
            run_id = client.create_run(experiment, run_name=f"run-{i}").info.run_id
            now_ms = int(time.time() * 1000)
            client.log_batch(
                run_id,
                metrics=[Metric(k, v, now_ms, 0) for k, v in metrics.items()],
                params=[Param(k, v) for k, v in params.items()],
            )
            client.set_terminated(run_id)
            if i % 100 == 99:
                tick(i + 1)
        return str(experiment)

    def build_history(self, points: int) -> str:
        from mlflow.entities import Metric

        client = self.mlflow.MlflowClient()
        run_id = str(client.create_run(client.create_experiment("history")).info.run_id)
        tick, now_ms = Ticker(points, "points"), int(time.time() * 1000)
        for start in range(0, points, MLFLOW_BATCH):
            steps = range(start, min(start + MLFLOW_BATCH, points))
            client.log_batch(
                run_id, metrics=[Metric(HISTORY_KEY, i * 0.5, now_ms, i) for i in steps]
            )
            tick(steps.stop)
        client.set_terminated(run_id)
        return run_id

    def build_wide(self, keys: int) -> str:
        from mlflow.entities import Metric

        client = self.mlflow.MlflowClient()
        run_id = str(client.create_run(client.create_experiment("wide")).info.run_id)
        rng, now_ms = random.Random(keys), int(time.time() * 1000)
        metrics = [Metric(f"k{j}", rng.random(), now_ms, 0) for j in range(keys)]
        for start in range(0, keys, MLFLOW_BATCH):
            client.log_batch(run_id, metrics=metrics[start : start + MLFLOW_BATCH])
        client.set_terminated(run_id)
        return run_id


def make_api(lib: str, store: str) -> Api:
    return NbtrackApi(store) if lib == NBTRACK else MlflowApi(store)


# -- worker tasks (each runs in its own process) -----------------------------------------------


def task_setup(lib: str, store: str, experiments: list[str]) -> dict[str, Any]:
    """Create the store (schema, one run) and the experiments a figure's processes share, so
    they never race to create them."""
    api = make_api(lib, store)
    api.use_experiment("setup")
    api.empty_run()
    return {"experiment_ids": {name: api.use_experiment(name) for name in experiments}}


def task_empty_runs(lib: str, store: str, warmup: int, n: int) -> dict[str, Any]:
    api = make_api(lib, store)
    api.use_experiment("empty")
    for _ in range(warmup):
        api.empty_run()
    samples = []
    t0 = time.perf_counter()
    for _ in range(n):
        samples.append(timed(api.empty_run))
    loop_s = time.perf_counter() - t0
    return {
        "runs": n,
        "median_s": statistics.median(samples),
        "p95_s": percentile(samples, 0.95),
        "max_s": max(samples),
        # Per run over the whole loop: includes the background flusher's share of the CPU.
        "mean_s": loop_s / n,
        "flush_after_s": timed(api.flush),
    }


def task_batch_writer(lib: str, store: str, n: int) -> dict[str, Any]:
    api = make_api(lib, store)
    # Untimed: one-off costs of a process's first run (imports, engines, experiment lookups).
    api.use_experiment("warm-up")
    api.logged_run("warm-up", *search_data(0, N_PARAMS, N_METRICS))
    api.use_experiment("bench")
    data = [search_data(i, N_PARAMS, N_METRICS) for i in range(n)]
    ready()
    t0 = time.monotonic()
    for i, (params, metrics) in enumerate(data):
        api.logged_run(f"run-{i}", params, metrics)
    t1 = time.monotonic()
    mark("LOOP", {"t0": t0, "t1": t1})
    # Stay alive until the reader has seen everything: the journal is a live one.
    sys.stdin.readline()
    return {"runs": n, "loop_s": t1 - t0}


def task_batch_reader(lib: str, store: str, n: int) -> dict[str, Any]:
    api = make_api(lib, store)
    api.search(experiment="warm-up")  # imports, store opened once: a reader already running
    ready()
    t0 = time.monotonic()
    searches, durations = 0, []
    while True:
        began = time.monotonic()
        rows = len(api.search(experiment="bench"))
        durations.append(time.monotonic() - began)
        searches += 1
        if rows >= n or time.monotonic() - t0 > 120:
            break
    return {
        "seen_at": time.monotonic(),
        "rows": rows,
        "searches": searches,
        "first_search_s": durations[0],
    }


def task_log_metric_rate(lib: str, store: str, n: int) -> dict[str, Any]:
    api = make_api(lib, store)
    api.use_experiment("log_metric")
    api.start("rate")
    log = api.log_metric
    log("warm-up", 0.0, step=0)  # MLflow's first call builds its engine
    t0 = time.perf_counter()
    for i in range(n):
        log("loss", i * 0.5, step=i)
    t1 = time.perf_counter()
    api.end()
    api.flush()
    t2 = time.perf_counter()
    return {
        "calls": n,
        "loop_s": t1 - t0,
        "calls_per_s": n / (t1 - t0),
        "end_and_flush_s": t2 - t1,
        "store_per_s": n / (t2 - t0),
    }


def task_churn_writer(lib: str, store: str, n: int, index: int) -> dict[str, Any]:
    api = make_api(lib, store)
    api.use_experiment("churn")
    ready()
    ended, errors = [], Errors()
    for i in range(n):
        try:
            run_id = api.one_metric_run(f"w{index}-{i}", float(i))
            # end_run has returned: from now on every search must see this run FINISHED.
            ended.append([run_id, time.monotonic()])
        except Exception as exc:
            errors.add(exc)
            api.reset()
    return {"ended": ended, "errors": errors.count, "messages": errors.messages}


def task_churn_searcher(lib: str, store: str, out: str, stop: str) -> dict[str, Any]:
    api = make_api(lib, store)
    api.use_experiment("churn")
    api.search(filter=FINISHED_FILTER)
    ready()
    errors, searches = Errors(), 0
    with open(out, "w", encoding="utf-8") as lines:
        while not os.path.exists(stop):
            lines.write(_churn_search(api, errors, final=False))
            searches += 1
        # One more after every writer has exited: the runs the store holds at the end.
        lines.write(_churn_search(api, errors, final=True))
    return {"searches": searches + 1, "errors": errors.count, "messages": errors.messages}


def _churn_search(api: Api, errors: Errors, final: bool) -> str:
    began = time.monotonic()
    ids: list[str] | None
    try:
        ids = [str(r) for r in api.search(filter=FINISHED_FILTER)["run_id"]]
    except Exception as exc:
        errors.add(exc)
        ids = None
    return json.dumps([began, time.monotonic(), ids, final]) + "\n"


def task_load_writer(
    lib: str, store: str, index: int, seconds: float, steps_per_s: float
) -> dict[str, Any]:
    api = make_api(lib, store)
    api.use_experiment("load")
    run_id = api.start(f"writer-{index}")
    ready()
    errors = Errors()
    t0 = time.monotonic()
    if steps_per_s:
        calls = _paced_loop(api.log_metric, t0 + seconds, 1 / steps_per_s, errors)
    else:
        calls = _tight_loop(api.log_metric, t0 + seconds, errors)
    elapsed = time.monotonic() - t0
    try:
        api.end()
    except Exception as exc:
        errors.add(exc)
    return {
        "run_id": run_id,
        "calls": calls,
        "acknowledged": calls - errors.count,
        "elapsed_s": elapsed,
        "errors": errors.count,
        "messages": errors.messages,
    }


def _tight_loop(log: Callable[..., object], deadline: float, errors: Errors) -> int:
    step = 0
    while time.monotonic() < deadline:
        try:
            log("loss", step * 0.5, step=step)
        except Exception as exc:
            errors.add(exc)
        step += 1
    return step


def _paced_loop(
    log: Callable[..., object], deadline: float, interval: float, errors: Errors
) -> int:
    """One point per step at ``1 / interval`` steps/s; a writer that falls behind runs flat out."""
    step, due = 0, time.monotonic()
    while (now := time.monotonic()) < deadline:
        if due > now:
            time.sleep(due - now)
        try:
            log("loss", step * 0.5, step=step)
        except Exception as exc:
            errors.add(exc)
        step += 1
        due += interval
    return step


def task_load_searcher(lib: str, store: str, seconds: float, every_s: float) -> dict[str, Any]:
    api = make_api(lib, store)
    api.use_experiment("load")
    api.search()
    ready()
    errors, latencies = Errors(), []
    start = time.monotonic()
    while (now := time.monotonic()) < start + seconds:
        # On the next 50 ms tick; ticks a slow search ran over are skipped, not queued.
        due = start + (math.floor((now - start) / every_s) + 1) * every_s if latencies else now
        if due > now:
            time.sleep(due - now)
        began = time.monotonic()
        try:
            api.search()
        except Exception as exc:
            errors.add(exc)
        latencies.append(time.monotonic() - began)
    return {"latencies_s": latencies, "errors": errors.count, "messages": errors.messages}


def task_count_points(lib: str, store: str) -> dict[str, Any]:
    return {"points": make_api(lib, store).count_points(store)}


def task_build(lib: str, store: str, kind: str, size: int) -> dict[str, Any]:
    api = make_api(lib, store)
    build = {"runs": api.build_runs, "history": api.build_history, "wide": api.build_wide}[kind]
    t0 = time.perf_counter()
    made = build(size)
    return {"kind": kind, "size": size, "id": made, "build_s": time.perf_counter() - t0}


def task_scale_search(lib: str, store: str, reps: int, runs: int) -> dict[str, Any]:
    api = make_api(lib, store)
    # Untimed: opens the store and loads what the first search imports lazily.
    api.search(experiment="Default")
    queries: dict[str, Callable[[], pd.DataFrame]] = {
        "top": lambda: api.search("bench", order_by=SCALE_ORDER, max_results=SCALE_TOP),
        "filtered": lambda: api.search("bench", filter=SCALE_FILTER),
        "all": lambda: api.search("bench"),
    }
    found: dict[str, Any] = {}
    for name, query in queries.items():
        samples, frame = [], None
        for _ in range(reps):
            t0 = time.perf_counter()
            frame = query()
            samples.append(time.perf_counter() - t0)
        assert frame is not None
        names = [str(v) for v in frame[api.run_name_column]]
        # The top 100 in their order; the filtered runs as a set (ties in start time differ).
        names = names if name == "top" else sorted(names)
        found[name] = {
            "median_s": statistics.median(samples),
            "samples_s": samples,
            "rows": len(frame),
            "columns": frame.shape[1],
            "names_sha1": hashlib.sha1("\n".join(names).encode()).hexdigest(),
        }
    found["runs"] = runs
    return found


def task_one_more_run(lib: str, store: str, n: int) -> dict[str, Any]:
    api = make_api(lib, store)
    api.use_experiment("bench")
    api.logged_run("extra-warm-up", *search_data(-1, N_PARAMS, N_METRICS))
    samples = []
    for k in range(n):
        params, metrics = search_data(10**6 + k, N_PARAMS, N_METRICS)
        t0 = time.perf_counter()
        api.logged_run(f"extra-{k}", params, metrics)
        samples.append(time.perf_counter() - t0)
    return {
        "runs": n,
        "median_s": statistics.median(samples),
        "max_s": max(samples),
        "flush_s": timed(api.flush),
    }


def task_history(lib: str, store: str, run_id: str, points: int) -> dict[str, Any]:
    api = make_api(lib, store)
    api.search(experiment="Default")  # untimed: opens the store, imports pandas
    before = bench_tracking.max_rss_mib()
    t0 = time.perf_counter()
    got = api.history_length(run_id, HISTORY_KEY)
    return {
        "points": points,
        "read": got,
        "seconds": time.perf_counter() - t0,
        "rss_before_mib": before,
        "peak_rss_mib": bench_tracking.max_rss_mib(),
    }


def task_wide_search(lib: str, store: str, reps: int) -> dict[str, Any]:
    api = make_api(lib, store)
    api.search(experiment="Default")
    samples, shape = [], (0, 0)
    for _ in range(reps):
        t0 = time.perf_counter()
        frame = api.search(experiment="wide")
        samples.append(time.perf_counter() - t0)
        shape = frame.shape
    return {"median_s": statistics.median(samples), "samples_s": samples, "shape": list(shape)}


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "setup": task_setup,
    "empty_runs": task_empty_runs,
    "batch_writer": task_batch_writer,
    "batch_reader": task_batch_reader,
    "log_metric_rate": task_log_metric_rate,
    "churn_writer": task_churn_writer,
    "churn_searcher": task_churn_searcher,
    "load_writer": task_load_writer,
    "load_searcher": task_load_searcher,
    "count_points": task_count_points,
    "build": task_build,
    "scale_search": task_scale_search,
    "one_more_run": task_one_more_run,
    "history": task_history,
    "wide_search": task_wide_search,
}


def worker_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    task = spec.pop("task")
    if task not in TASKS:
        raise SystemExit(f"unknown worker task {task!r}")
    bench_tracking.report(TASKS[task](**spec))


# -- figures 1-5 (in the parent) ---------------------------------------------------------------


def new_store(root: Path, lib: str, purpose: str) -> str:
    return bench_tracking.store_path(root, lib, purpose)


def figure_empty(lib: str, root: Path, sizes: Sizes) -> dict[str, Any]:
    store = new_store(root, lib, "empty")
    run_child("setup", lib, store, experiments=["empty"])
    return run_child(
        "empty_runs", lib, store, warmup=sizes.empty_warmup, n=sizes.empty_runs.of(lib)
    )


def figure_batch(lib: str, root: Path, sizes: Sizes) -> dict[str, Any]:
    store = new_store(root, lib, "batch")
    folder, n = Path(store).parent, sizes.batch_runs
    kids = [Child("batch_writer", lib, folder, store=store, n=n)]
    try:
        writer = kids[0]
        writer.expect("READY")
        # The reader starts once the writer has made the experiments it searches.
        reader = Child("batch_reader", lib, folder, store=store, n=n)
        kids.append(reader)
        reader.expect("READY")
        writer.send("GO")
        loop = json.loads(writer.expect("LOOP"))
        reader.send("GO")
        seen = reader.result()
        writer.send("EXIT")
        done = writer.result()
    finally:
        for kid in kids:
            kid.kill()
    return {
        **done,
        "readable_s": seen["seen_at"] - loop["t0"],
        "reader_searches": seen["searches"],
        "reader_rows": seen["rows"],
        "reader_first_search_s": seen["first_search_s"],
    }


def figure_log_metric(lib: str, root: Path, sizes: Sizes) -> dict[str, Any]:
    store = new_store(root, lib, "log-metric")
    return run_child("log_metric_rate", lib, store, n=sizes.log_metric_calls.of(lib))


def figure_churn(lib: str, root: Path, sizes: Sizes) -> dict[str, Any]:
    store = new_store(root, lib, "churn")
    run_child("setup", lib, store, experiments=["churn"])
    folder = Path(store).parent
    out, stop = folder / "searches.jsonl", folder / "stop"
    n = sizes.churn_runs.of(lib)
    searcher = Child("churn_searcher", lib, folder, store=store, out=str(out), stop=str(stop))
    writers = [
        Child("churn_writer", lib, folder, store=store, n=n, index=i)
        for i in range(sizes.churn_writers)
    ]
    with released_together([searcher, *writers]) as go:
        written = [writer.result() for writer in writers]
        time.sleep(0.3)  # a search or two after every writer is done
        stop.touch()
        searched = searcher.result()
    return summarize_churn(go, written, searched, out)


def summarize_churn(
    go: float, writers: list[dict[str, Any]], searcher: dict[str, Any], out: Path
) -> dict[str, Any]:
    """Runs/s, errors, runs missing from the last search, and every search checked against
    the runs whose end_run had returned before it began (monotonic clocks are system-wide)."""
    ended = sorted((t, run_id) for w in writers for run_id, t in w["ended"])
    times = [t for t, _ in ended]
    searches = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    missed_searches, missed_runs, durations = 0, 0, []
    for began, finished, ids, _ in searches:
        if ids is None:
            continue
        durations.append(finished - began)
        seen = set(ids)
        due = ended[: bisect.bisect_left(times, began)]
        missing = sum(1 for _, run_id in due if run_id not in seen)
        missed_runs += missing
        if missing:
            missed_searches += 1
    final = searches[-1][2] if searches and searches[-1][3] else None
    messages = sorted({m for w in writers for m in w["messages"]} | set(searcher["messages"]))
    return {
        "runs": len(ended),
        "runs_per_s": len(ended) / (times[-1] - go) if ended else 0.0,
        "writer_errors": sum(w["errors"] for w in writers),
        "search_errors": searcher["errors"],
        "errors": sum(w["errors"] for w in writers) + searcher["errors"],
        "messages": messages,
        "missing_at_end": None if final is None else len({r for _, r in ended} - set(final)),
        "searches": len(searches),
        "searches_during_churn": sum(1 for began, *_ in searches if times and began < times[-1]),
        "searches_checked": len(durations),
        "searches_missing_runs": missed_searches,
        "runs_missed_by_searches": missed_runs,
        "search_median_s": statistics.median(durations) if durations else None,
        "stderr": [w["_stderr"] for w in [*writers, searcher] if "_stderr" in w],
    }


def figure_load(lib: str, root: Path, sizes: Sizes, paced: bool) -> dict[str, Any]:
    store = new_store(root, lib, "load-paced" if paced else "load-tight")
    run_child("setup", lib, store, experiments=["load"])
    folder, seconds = Path(store).parent, sizes.load_seconds
    searcher = Child(
        "load_searcher", lib, folder, store=store, seconds=seconds, every_s=sizes.search_every_s
    )
    writers = [
        Child(
            "load_writer",
            lib,
            folder,
            store=store,
            index=i,
            seconds=seconds,
            steps_per_s=sizes.paced_steps_per_s if paced else 0.0,
        )
        for i in range(sizes.load_writers)
    ]
    with released_together([searcher, *writers]):
        searched = searcher.result()
        written = [writer.result() for writer in writers]
    # Untimed, after every writer has exited: what the store holds of each writer's run.
    stored = run_child("count_points", lib, store)["points"]
    return summarize_load(written, searched, stored)


def summarize_load(
    writers: list[dict[str, Any]], searcher: dict[str, Any], stored: dict[str, int]
) -> dict[str, Any]:
    latencies = searcher["latencies_s"]
    held = [stored.get(w["run_id"], 0) for w in writers]
    return {
        "searches": len(latencies),
        "p50_s": percentile(latencies, 0.50),
        "p99_s": percentile(latencies, 0.99),
        "max_s": max(latencies),
        "points_per_s": sum(w["acknowledged"] / w["elapsed_s"] for w in writers),
        "per_writer_per_s": [w["calls"] / w["elapsed_s"] for w in writers],
        "writer_errors": sum(w["errors"] for w in writers),
        "search_errors": searcher["errors"],
        "errors": sum(w["errors"] for w in writers) + searcher["errors"],
        "messages": sorted({m for w in writers for m in w["messages"]} | set(searcher["messages"])),
        "acknowledged": sum(w["acknowledged"] for w in writers),
        "lost": sum(max(0, w["acknowledged"] - h) for w, h in zip(writers, held, strict=True)),
        "extra": sum(max(0, h - w["acknowledged"]) for w, h in zip(writers, held, strict=True)),
        "stderr": [w["_stderr"] for w in [*writers, searcher] if "_stderr" in w],
    }


# -- figure 6: the stores, built once and cached -----------------------------------------------


@dataclass(frozen=True)
class StoreSpec:
    lib: str
    kind: str  # "runs", "history" or "wide"
    size: int

    @property
    def name(self) -> str:
        return f"{self.lib}-{self.kind}-{self.size}"

    def path(self, stores: Path) -> str:
        return str(stores / self.name / ("nbtrack.duckdb" if self.lib == NBTRACK else "mlflow.db"))


def needed_stores(sizes: Sizes, libs: list[str]) -> list[StoreSpec]:
    """Largest first, so the longest builds start first."""
    specs = [
        StoreSpec(lib, kind, size)
        for lib in libs
        for kind, sizes_of in (("runs", sizes.scale_runs), ("history", sizes.history_points))
        for size in sizes_of.of(lib)
    ]
    specs += [StoreSpec(lib, "wide", sizes.wide_keys) for lib in libs]
    return sorted(specs, key=lambda s: (s.lib == NBTRACK, -s.size))


def cache_key(lib: str) -> dict[str, Any]:
    """What a cached store must have been built with to be reused."""
    key: dict[str, Any] = {"format": BUILD_FORMAT, "version": bench_tracking.versions()[lib]}
    if lib == NBTRACK:
        from nbtrack.store.schema import SCHEMA_VERSION

        key["schema"] = SCHEMA_VERSION
    return key


def cached(spec: StoreSpec, stores: Path) -> dict[str, Any] | None:
    marker = stores / spec.name / BUILT_MARKER
    try:
        built: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return built if built.get("key") == cache_key(spec.lib) else None


def build_stores(specs: list[StoreSpec], stores: Path) -> dict[str, dict[str, Any]]:
    """Reuse each store already built with the same versions; build the others, as many at
    once as there are CPUs. Untimed set-up: no figure is measured meanwhile."""
    built: dict[str, dict[str, Any]] = {}
    todo = []
    for spec in specs:
        found = cached(spec, stores)
        if found is not None:
            built[spec.name] = {**found["result"], "reused": True}
        else:
            todo.append(spec)
    if built:
        progress(f"  reusing {len(built)} stores from {stores}: {', '.join(sorted(built))}")
    if not todo:
        return built
    workers = max(1, min(len(todo), os.cpu_count() or 1))
    progress(
        f"  building {len(todo)} stores, {workers} at a time: {', '.join(s.name for s in todo)}"
    )
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for spec, result in zip(todo, pool.map(lambda s: _build(s, stores), todo), strict=True):
            built[spec.name] = {**result, "reused": False}
    return built


def _build(spec: StoreSpec, stores: Path) -> dict[str, Any]:
    folder = stores / spec.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    child = Child(
        "build",
        spec.lib,
        folder,
        timeout_s=BUILD_TIMEOUT_S,
        store=spec.path(stores),
        kind=spec.kind,
        size=spec.size,
    )
    try:
        result = child.result()
    finally:
        child.kill()
    progress(f"    {spec.name}: built in {result['build_s']:.1f} s")
    marker = {"key": cache_key(spec.lib), "result": result}
    (folder / BUILT_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return result


def scale_runs(lib: str, n: int, stores: Path, root: Path, sizes: Sizes) -> dict[str, Any]:
    """(b)-(d) on the cached store, read only; (a) on a copy, which it adds runs to."""
    store = StoreSpec(lib, "runs", n).path(stores)
    found = run_child("scale_search", lib, store, reps=sizes.search_reps, runs=n)
    copy = Path(new_store(root, lib, f"scale-{n}"))
    shutil.copyfile(store, copy)
    found["one_more"] = run_child("one_more_run", lib, str(copy), n=sizes.extra_runs)
    shutil.rmtree(copy.parent, ignore_errors=True)
    return found


def figure_scale(
    libs: list[str], sizes: Sizes, stores: Path, root: Path
) -> dict[str, dict[str, Any]]:
    progress("6. scale: the stores (untimed)")
    built = build_stores(needed_stores(sizes, libs), stores)
    fig: dict[str, dict[str, Any]] = {lib: {"built": {}} for lib in libs}
    for name, result in built.items():
        fig[name.split("-", 1)[0]]["built"][name] = result
    for lib in libs:
        for n in sizes.scale_runs.of(lib):
            progress(f"6. scale {lib}, {n:,} runs: searches, then {sizes.extra_runs} more runs")
            found = fig[lib][f"runs_{n}"] = scale_runs(lib, n, stores, root, sizes)
            progress(
                f"  one more run {found['one_more']['median_s'] * 1000:.2f} ms; top 100 "
                f"{found['top']['median_s'] * 1000:.1f} ms; filtered "
                f"{found['filtered']['median_s'] * 1000:.1f} ms; all "
                f"{found['all']['median_s']:.2f} s"
            )
        for points in sizes.history_points.of(lib):
            spec = StoreSpec(lib, "history", points)
            progress(f"6. get_metric_history {lib}: one run of {points:,} points")
            found = fig[lib][f"history_{points}"] = run_child(
                "history", lib, spec.path(stores), run_id=built[spec.name]["id"], points=points
            )
            progress(f"  {found['seconds']:.2f} s; peak RSS {found['peak_rss_mib']:,.0f} MiB")
        spec = StoreSpec(lib, "wide", sizes.wide_keys)
        progress(f"6. search_runs {lib}: one run with {sizes.wide_keys:,} metric keys")
        found = fig[lib]["wide"] = run_child(
            "wide_search", lib, spec.path(stores), reps=sizes.search_reps
        )
        progress(f"  {found['median_s'] * 1000:.1f} ms; DataFrame {tuple(found['shape'])}")
    return fig


# -- running the figures -----------------------------------------------------------------------


def load_text() -> str:
    return f"load average {os.getloadavg()[0]:.2f}"


def run_figures(
    sizes: Sizes, libs: list[str], root: Path, stores: Path
) -> dict[str, dict[str, Any]]:
    fig: dict[str, dict[str, Any]] = {lib: {} for lib in libs}
    steps: list[tuple[str, str, Callable[[str], dict[str, Any]], Callable[[dict[str, Any]], str]]]
    steps = [
        (
            "empty",
            "1. empty run start+end",
            lambda lib: figure_empty(lib, root, sizes),
            lambda r: f"median {r['median_s'] * 1000:.3f} ms, p95 {r['p95_s'] * 1000:.3f} ms",
        ),
        (
            "batch",
            f"2. {sizes.batch_runs:,} runs x {N_PARAMS} params x {N_METRICS} metrics",
            lambda lib: figure_batch(lib, root, sizes),
            lambda r: f"loop {r['loop_s']:.2f} s; readable elsewhere after {r['readable_s']:.2f} s",
        ),
        (
            "log_metric",
            "3. log_metric rate",
            lambda lib: figure_log_metric(lib, root, sizes),
            lambda r: f"{r['calls_per_s']:,.0f} calls/s",
        ),
        (
            "churn",
            f"4. {sizes.churn_writers}-process run churn beside a searcher",
            lambda lib: figure_churn(lib, root, sizes),
            lambda r: (
                f"{r['runs_per_s']:,.0f} runs/s; {r['errors']} errors; "
                f"{r['searches_missing_runs']} of {r['searches_checked']} searches missed a run"
            ),
        ),
        (
            "load_tight",
            f"5. search_runs every {sizes.search_every_s * 1000:.0f} ms beside "
            f"{sizes.load_writers} tight-loop writers, {sizes.load_seconds:.0f} s",
            lambda lib: figure_load(lib, root, sizes, paced=False),
            _load_line,
        ),
        (
            "load_paced",
            f"5. search_runs beside {sizes.load_writers} writers at "
            f"{sizes.paced_steps_per_s:.0f} steps/s, {sizes.load_seconds:.0f} s",
            lambda lib: figure_load(lib, root, sizes, paced=True),
            _load_line,
        ),
    ]
    for key, title, measure, summary in steps:
        for lib in libs:
            progress(f"{title}: {lib} ({load_text()})")
            fig[lib][key] = measure(lib)
            progress(f"  {summary(fig[lib][key])}")
    scale = figure_scale(libs, sizes, stores, root)
    for lib in libs:
        fig[lib]["scale"] = scale[lib]
    return fig


def _load_line(r: dict[str, Any]) -> str:
    return (
        f"search p50 {r['p50_s'] * 1000:.1f} ms, p99 {r['p99_s'] * 1000:.1f} ms, max "
        f"{r['max_s'] * 1000:.1f} ms; writers {r['points_per_s']:,.0f} points/s; "
        f"{r['errors']} errors; {r['lost']} lost"
    )


# -- the table ---------------------------------------------------------------------------------


def _get(d: dict[str, Any], *path: str) -> float | None:
    value: Any = d
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return None if value is None else float(value)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _both(
    fig: dict[str, dict[str, Any]], *path: str, ms: bool = False
) -> tuple[float | None, float | None]:
    """The figure at ``path`` for nbtrack and for MLflow (None where it was not measured)."""
    nb, ml = _get(fig[NBTRACK], *path), _get(fig.get(MLFLOW, {}), *path)
    return (_ms(nb), _ms(ml)) if ms else (nb, ml)


def build_rows(fig: dict[str, dict[str, Any]], sizes: Sizes) -> list[Row]:
    return [
        *rows_runs(fig, sizes),
        *rows_concurrency(fig, sizes),
        *rows_scale(fig, sizes),
    ]


def rows_runs(fig: dict[str, dict[str, Any]], sizes: Sizes) -> list[Row]:
    batch_goal = GOAL_BATCH_S_PER_1000 * sizes.batch_runs / 1000
    batch = f"2. {sizes.batch_runs:,} runs x 10 params x 10 metrics"
    return [
        Row("1. empty run start+end, median", "ms", *_both(fig, "empty", "median_s", ms=True),
            False, fmt="{:,.3f}", goal=("<=", GOAL_EMPTY_RUN_MS)),
        Row("1. empty run start+end, p95", "ms", *_both(fig, "empty", "p95_s", ms=True),
            False, fmt="{:,.3f}"),
        Row(f"{batch}, loop", "s", *_both(fig, "batch", "loop_s"), False, fmt="{:,.2f}",
            goal=("<=", batch_goal)),
        Row(f"{batch}, all seen by another process", "s", *_both(fig, "batch", "readable_s"), False,
            fmt="{:,.2f}", goal=("<=", batch_goal)),
        Row("3. log_metric, calls", "calls/s", *_both(fig, "log_metric", "calls_per_s"), True,
            goal=(">=", GOAL_LOG_METRIC)),
        Row("3. log_metric, through to the store", "points/s",
            *_both(fig, "log_metric", "store_per_s"), True),
    ]  # fmt: skip


def rows_concurrency(fig: dict[str, dict[str, Any]], sizes: Sizes) -> list[Row]:
    churn = f"4. {sizes.churn_writers}-process run churn"
    rows = [
        Row(f"{churn}, total", "runs/s", *_both(fig, "churn", "runs_per_s"), True),
        Row(f"{churn}, errors raised", "count", *_both(fig, "churn", "errors"), False,
            compare=False, goal=("<=", 0)),
        Row(f"{churn}, runs missing at the end", "count", *_both(fig, "churn", "missing_at_end"),
            False, compare=False, goal=("<=", 0)),
        Row(f"{churn}, searches missing an ended run", "count",
            *_both(fig, "churn", "searches_missing_runs"), False, compare=False, goal=("<=", 0)),
    ]  # fmt: skip
    for key, label in (("load_tight", "tight writers"), ("load_paced", "training-like")):
        five = f"5. search beside {sizes.load_writers} {label}"
        rows += [
            Row(f"{five}, p50", "ms", *_both(fig, key, "p50_s", ms=True), False, fmt="{:,.1f}"),
            Row(f"{five}, p99", "ms", *_both(fig, key, "p99_s", ms=True), False, fmt="{:,.1f}"),
            Row(f"{five}, max", "ms", *_both(fig, key, "max_s", ms=True), False, fmt="{:,.1f}"),
            Row(f"{five}, writers' total", "points/s", *_both(fig, key, "points_per_s"), True),
            Row(f"{five}, errors raised", "count", *_both(fig, key, "errors"), False, compare=False,
                goal=("<=", 0)),
            Row(f"{five}, points lost", "count", *_both(fig, key, "lost"), False, compare=False,
                goal=("<=", 0)),
        ]  # fmt: skip
    return rows


def rows_scale(fig: dict[str, dict[str, Any]], sizes: Sizes) -> list[Row]:
    rows = []
    for n in sorted(set(sizes.scale_runs.nbtrack) | set(sizes.scale_runs.mlflow)):
        key, six = f"runs_{n}", f"6. {_short(n)} runs"
        rows += [
            Row(f"{six}: one more run (10p+10m), median", "ms",
                *_both(fig, "scale", key, "one_more", "median_s", ms=True), False, fmt="{:,.2f}"),
            Row(f"{six}: then nbtrack.flush()", "ms",
                _ms(_get(fig[NBTRACK], "scale", key, "one_more", "flush_s")), None, False,
                fmt="{:,.1f}", compare=False),
            Row(f"{six}: top 100 by metrics.m1", "ms",
                *_both(fig, "scale", key, "top", "median_s", ms=True), False, fmt="{:,.1f}"),
            Row(f"{six}: filtered m0 > 0.5, p0 = 'x'", "ms",
                *_both(fig, "scale", key, "filtered", "median_s", ms=True), False, fmt="{:,.1f}"),
            Row(f"{six}: all runs", "s", *_both(fig, "scale", key, "all", "median_s"), False,
                fmt="{:,.3f}"),
        ]  # fmt: skip
    for points in sorted(set(sizes.history_points.nbtrack) | set(sizes.history_points.mlflow)):
        key, six = f"history_{points}", f"6. get_metric_history, {_short(points)} points"
        rows += [
            Row(six, "s", *_both(fig, "scale", key, "seconds"), False, fmt="{:,.2f}"),
            Row(f"{six}, peak RSS", "MiB", *_both(fig, "scale", key, "peak_rss_mib"), False),
        ]
    wide = f"6. search_runs, 1 run x {sizes.wide_keys:,} metric keys"
    rows.append(
        Row(wide, "ms", *_both(fig, "scale", "wide", "median_s", ms=True), False, fmt="{:,.1f}")
    )
    return rows


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


# -- notes under the table ---------------------------------------------------------------------


def print_notes(fig: dict[str, dict[str, Any]], sizes: Sizes, libs: list[str]) -> None:
    print("\nSizes (nbtrack / MLflow):")
    for label, pair in (
        ("1. empty runs timed", sizes.empty_runs),
        ("3. log_metric calls", sizes.log_metric_calls),
        (f"4. runs per churn writer (x {sizes.churn_writers})", sizes.churn_runs),
    ):
        print(f"  {label}: {pair.nbtrack:,} / {pair.mlflow:,}")
    print(
        f"  1. after {sizes.empty_warmup} untimed warm-up runs; 2. {sizes.batch_runs:,} runs for "
        f"both; 5. {sizes.load_writers} writers for {sizes.load_seconds:.0f} s, a search every "
        f"{sizes.search_every_s * 1000:.0f} ms; 6. {sizes.extra_runs} more runs, "
        f"{sizes.search_reps} calls of each search (median)"
    )
    for lib in libs:
        print_lib_notes(lib, fig[lib])
    print_scale_notes(fig, sizes, libs)


def print_lib_notes(lib: str, d: dict[str, Any]) -> None:
    b = d["batch"]
    print(
        f"  {lib} 1: mean per run over the loop {d['empty']['mean_s'] * 1000:.3f} ms (background "
        f"work included); 2: the other process searched {b['reader_searches']} time(s), first "
        f"search {b['reader_first_search_s'] * 1000:.1f} ms, {b['reader_rows']:,} rows; 3: end + "
        f"flush {d['log_metric']['end_and_flush_s']:.2f} s"
    )
    c = d["churn"]
    median = c["search_median_s"]
    print(
        f"  {lib} 4: {c['runs']:,} runs ended; {c['writer_errors']} writer / {c['search_errors']}"
        f" search errors; {c['searches']} searches ({c['searches_during_churn']} began before "
        f"the last run ended; median "
        f"{'-' if median is None else f'{median * 1000:.1f} ms'}), "
        f"{c['runs_missed_by_searches']} ended runs missed in all"
    )
    for key in ("load_tight", "load_paced"):
        r = d[key]
        per = ", ".join(f"{x:,.0f}" for x in r["per_writer_per_s"])
        print(
            f"  {lib} 5 ({key[5:]}): {r['searches']} searches, {r['search_errors']} failed; "
            f"writers {per} calls/s, {r['writer_errors']} errors; stored {r['acknowledged']:,} "
            f"acknowledged points: {r['lost']} lost, {r['extra']} extra"
        )
    for key in ("churn", "load_tight", "load_paced"):
        if d[key]["messages"]:
            print(f"  {lib} {key} errors: {'; '.join(d[key]['messages'])}")
        for tail in d[key]["stderr"]:
            print(f"  {lib} {key} stderr: {' | '.join(tail)}")


def print_scale_notes(fig: dict[str, dict[str, Any]], sizes: Sizes, libs: list[str]) -> None:
    for lib in libs:
        built = fig[lib]["scale"]["built"]
        print(
            f"  {lib} 6 stores: "
            + "; ".join(
                f"{name.split('-', 1)[1]} {'reused' if r['reused'] else 'built'} "
                f"({r['build_s']:.0f} s)"
                for name, r in sorted(built.items())
            )
        )
        scale = fig[lib]["scale"]
        for n in sizes.scale_runs.of(lib):
            s = scale[f"runs_{n}"]
            wrong = [q for q, want in (("all", n), ("top", SCALE_TOP)) if s[q]["rows"] != want]
            if wrong:
                print(f"  WARNING: {lib} {n:,} runs: {', '.join(wrong)} returned the wrong count")
        for points in sizes.history_points.of(lib):
            h = scale[f"history_{points}"]
            if h["read"] != points:
                print(f"  WARNING: {lib} history: {h['read']:,} of {points:,} points read")
        print(
            f"  {lib} 6: history RSS before the call "
            + ", ".join(
                f"{scale[f'history_{p}']['rss_before_mib']:,.0f} MiB"
                for p in sizes.history_points.of(lib)
            )
            + f"; wide search DataFrame {tuple(scale['wide']['shape'])}"
        )
    if MLFLOW in libs:
        print_mlflow_skipped(fig, sizes)
        print_same_runs(fig, sizes)


def print_mlflow_skipped(fig: dict[str, dict[str, Any]], sizes: Sizes) -> None:
    """Why MLflow shows '-' at the largest sizes, with what they would cost, from this run."""
    missing = [n for n in sizes.scale_runs.nbtrack if n not in sizes.scale_runs.mlflow]
    if missing:
        print(
            f"  MLflow not built at {', '.join(f'{n:,}' for n in missing)} runs: with log_batch "
            f"that would take ~{_build_minutes(fig, 'runs', max(missing))} min here"
        )
    bigger = [p for p in sizes.history_points.nbtrack if p not in sizes.history_points.mlflow]
    if bigger:
        most, read = max(bigger), fig[MLFLOW]["scale"]
        measured = [read[f"history_{p}"] for p in sizes.history_points.mlflow]
        per_point = max((h["peak_rss_mib"] - h["rss_before_mib"]) / h["points"] for h in measured)
        print(
            f"  MLflow's history not measured at {most:,} points: logging them with log_batch "
            f"would take ~{_build_minutes(fig, 'history', most)} min here, and "
            f"get_metric_history, which returns a list of Metric objects, would hold "
            f"~{per_point * most / 1024:,.1f} GiB at the {per_point * 1024:,.2f} KiB per point "
            "measured here"
        )


def _build_minutes(fig: dict[str, dict[str, Any]], kind: str, size: int) -> str:
    """Minutes to build a ``kind`` store of ``size`` for MLflow, at its slowest build rate."""
    built = fig[MLFLOW]["scale"]["built"].values()
    per_unit = [r["build_s"] / r["size"] for r in built if r["kind"] == kind]
    return f"{max(per_unit) * size / 60:,.0f}" if per_unit else "?"


def print_same_runs(fig: dict[str, dict[str, Any]], sizes: Sizes) -> None:
    nb, ml = fig[NBTRACK]["scale"], fig[MLFLOW]["scale"]
    for n in sizes.scale_runs.mlflow:
        if n not in sizes.scale_runs.nbtrack:
            continue
        same = [
            q
            for q in ("top", "filtered")
            if nb[f"runs_{n}"][q]["names_sha1"] == ml[f"runs_{n}"][q]["names_sha1"]
        ]
        verdict = "the same runs" if len(same) == 2 else f"WARNING: same only for {same or '-'}"
        print(f"  6. {n:,} runs: top 100 (in order) and filtered runs of both libraries: {verdict}")


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="nbtrack vs MLflow 3 (SQLite): runs benchmark")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the figures here")
    parser.add_argument(
        "--stores", metavar="DIR", type=Path, help="keep the built stores here and reuse them"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return 0

    if importlib.util.find_spec(NBTRACK) is None:
        parser.error("nbtrack is not importable: pip install -e .")
    have_mlflow = importlib.util.find_spec(MLFLOW) is not None
    libs = [NBTRACK, MLFLOW] if have_mlflow else [NBTRACK]
    sizes = QUICK if args.quick else FULL
    found = bench_tracking.versions()
    progress(
        f"nbtrack {found[NBTRACK]}, mlflow {found[MLFLOW] or '-'}, duckdb {found['duckdb']}; "
        f"Python {platform.python_version()}; {os.cpu_count()} CPUs; "
        f"{'quick' if args.quick else 'full'} sizes"
    )
    if not have_mlflow:
        progress(f"NOTE: {bench_tracking.MLFLOW_MISSING}; measuring nbtrack only")
    # The figures are only as steady as the machine: say how busy it was.
    load_before = os.getloadavg()
    progress(load_text())

    with tempfile.TemporaryDirectory(
        prefix="nbtrack-bench-runs-", ignore_cleanup_errors=True
    ) as tmp:
        root = Path(tmp)
        stores = args.stores.resolve() if args.stores else root / "stores"
        stores.mkdir(parents=True, exist_ok=True)
        fig = run_figures(sizes, libs, root, stores)
    load_after = os.getloadavg()
    progress(f"done; {load_text()}")

    rows = build_rows(fig, sizes)
    bench_tracking.print_table(rows, have_mlflow)
    print_notes(fig, sizes, libs)
    print(
        f"\nLoad average (1 min): {load_before[0]:.2f} before, {load_after[0]:.2f} after, on "
        f"{os.cpu_count()} CPUs: compare figures only from one run"
    )
    if args.json:
        write_json(args.json, fig, rows, sizes, found, (load_before[0], load_after[0]), args.quick)
        print(f"\nJSON written to {args.json}")
    return 0


def write_json(
    path: Path,
    fig: dict[str, dict[str, Any]],
    rows: list[Row],
    sizes: Sizes,
    found: dict[str, str | None],
    load: tuple[float, float],
    quick: bool,
) -> None:
    payload = {
        "quick": quick,
        "versions": found,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_1min": {"before": load[0], "after": load[1]},
        "sizes": dataclasses.asdict(sizes),
        "goals": {
            "empty_run_median_ms": GOAL_EMPTY_RUN_MS,
            "batch_s_per_1000_runs": GOAL_BATCH_S_PER_1000,
            "log_metric_calls_per_s": GOAL_LOG_METRIC,
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
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
