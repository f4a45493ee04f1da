"""Comparison widget benchmark: how long ``compare()`` takes to open over many runs.

Usage::

    python bench/bench_compare.py [--quick] [--runs N] [--store PATH]

Builds a store of 1,000 runs x 20 metrics x 100 steps (2,000,000 points) through the public
API in this process (untimed; ~2 min, most of it the two store commits of each run's start and
end), or reuses ``--store`` if that file exists. Then it times:

* the one-off costs: importing ipywidgets / anywidget / altair, and
  ``JupyterChart.enable_offline()`` (vl-convert bundles Vega's JavaScript once per process);
* opening the widget: ``compare("bench")`` -- the runs query, the first page of rows, the
  default selection's metric histories and the first chart spec -- first call (store opened
  cold) and the median of the next ones (goal: <= 1 s);
* what a user does next: sort by a metric, go to a page, select other runs (a new chart),
  switch the chart kind, and ``refresh()``.

MLflow has no notebook comparison widget, so there is no ratio to print here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

EXPERIMENT = "bench"
GOAL_OPEN_S = 1.0
REPEATS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 runs instead of 1,000")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--store", type=Path, default=None, help="build once, reuse after")
    args = parser.parse_args()
    runs = args.runs or (100 if args.quick else 1000)
    store = args.store or Path(tempfile.mkdtemp(prefix="nbtrack-bench-compare-")) / "b.duckdb"
    store = store.resolve()
    os.environ["NBTRACK_URI"] = str(store)

    if store.exists():
        print(f"reusing {store}")
    else:
        build_store(store, runs, args.metrics, args.steps)
    measure(runs * args.metrics * args.steps)


def build_store(store: Path, runs: int, metrics: int, steps: int) -> None:
    """Log the runs through the public API in this process (untimed)."""
    import nbtrack

    points = runs * metrics * steps
    print(
        f"building {store}: {runs:,} runs x {metrics} metrics x {steps} steps = {points:,} points"
    )
    here = Path.cwd()
    store.parent.mkdir(parents=True, exist_ok=True)
    # Outside a git checkout: each run would otherwise record the repository's state.
    os.chdir(store.parent)
    started = time.perf_counter()
    nbtrack.set_experiment(EXPERIMENT)
    for i in range(runs):
        with nbtrack.start_run(name=f"run-{i:04d}"):
            nbtrack.log_params({"lr": 10 ** -(1 + i % 4), "batch": 2 ** (4 + i % 5), "seed": i})
            for step in range(steps):
                decay = 1.0 / (1 + step * (1 + i % 7) / 10)
                nbtrack.log_metrics(
                    {f"m{k:02d}": decay + k + i / runs for k in range(metrics)}, step
                )
        if (i + 1) % max(1, runs // 10) == 0:
            print(f"  {i + 1:,}/{runs:,} runs, {time.perf_counter() - started:.0f} s", flush=True)
    nbtrack.flush()
    os.chdir(here)
    elapsed = time.perf_counter() - started
    print(f"built in {elapsed:.1f} s ({points / elapsed:,.0f} points/s through the API)")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(points: int) -> None:
    started = time.perf_counter()
    import altair  # noqa: F401
    import anywidget  # noqa: F401
    import ipywidgets  # noqa: F401

    import nbtrack
    from nbtrack.widgets.compare import compare
    from nbtrack.widgets.live import enable_offline_charts

    imports_s = time.perf_counter() - started
    offline_s = timed(enable_offline_charts)

    first_s = timed(lambda: compare(EXPERIMENT).close())
    opens = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        view = compare(EXPERIMENT)
        spec = view.chart_spec()
        opens.append(time.perf_counter() - started)
        if _ != REPEATS - 1:
            view.close()
    open_s = statistics.median(opens)

    total = len(view.runs)
    metric = sorted(c for c in view.runs.columns if c.startswith("metrics."))[-1]
    others = list(view.runs["run_id"][500:505] if total > 505 else view.runs["run_id"][-5:])
    steps = {
        f"sort by {metric} (desc)": lambda: view.sort(metric, descending=True),
        "go to page 3": lambda: view.go_to_page(3),
        "select 5 other runs (new chart)": lambda: view.select(others),
        "chart kind: bar": lambda: view.set_chart(kind="bar"),
        "chart kind: scatter": lambda: view.set_chart(kind="scatter", param="lr"),
        "chart kind: history": lambda: view.set_chart(kind="history"),
        "refresh()": view.refresh,
    }
    after = {name: timed(action) for name, action in steps.items()}
    rows_bytes = len(json.dumps(view.table.rows))
    spec_bytes = len(json.dumps(spec))
    view.close()

    print()
    print(f"nbtrack {nbtrack.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"store: {total:,} runs, {points:,} points; load average {os.getloadavg()[0]:.2f}")
    print(f"{'':34} {'seconds':>9}")
    print(f"{'import ipywidgets/anywidget/altair':34} {imports_s:9.3f}  (once per process)")
    print(f"{'JupyterChart.enable_offline()':34} {offline_s:9.3f}  (once per process)")
    print(f"{'compare(): first, store cold':34} {first_s:9.3f}")
    verdict = "meets" if open_s <= GOAL_OPEN_S else "MISSES"
    print(
        f"{'compare() + chart_spec(): median':34} {open_s:9.3f}  "
        f"{verdict} the goal of <= {GOAL_OPEN_S:.1f} s (of {REPEATS}: "
        + ", ".join(f"{s:.3f}" for s in opens)
        + ")"
    )
    for name, seconds in after.items():
        print(f"{name:34} {seconds:9.3f}")
    print(f"sent to the browser: one page of rows {rows_bytes:,} B, chart spec {spec_bytes:,} B")


if __name__ == "__main__":
    main()
