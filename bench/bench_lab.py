"""The lab extension's Runs sidebar over 10,000 runs, and what it costs a logging kernel.

Usage::

    python bench/bench_lab.py [--runs 10000] [--repeat 10] [--points 300000] [--rounds 3]

The stores are bench_ui's (the same 10,000 runs x 20 params x 20 metrics in nbtrack and in
MLflow's SQLite store, built once under ``bench/results/``). Three figures:

1. **The sidebar opens** — JupyterLab (a child process, the package's server extension
   reading the store) in Debian's chromium through playwright: the time from choosing the
   experiment in the sidebar to its 100 newest runs drawn, timed inside the page. First the
   lab's first answer, then ``--repeat`` more after the store's marker file was replaced (so
   every answer is computed again from DuckDB, as while kernels log). Goal: <= 1 s.
2. **The same requests without a browser**, beside MLflow: the sidebar's two calls (the
   experiments, then the 100 newest runs) to the server extension, and the two calls that
   list them in ``mlflow server`` (``experiments/search``, ``runs/search`` newest first,
   ``max_results=100``), over a kept-alive connection, medians after a change.
3. **A kernel logging in a tight loop** — a process calling ``log_metric`` ``--points`` times
   into a new experiment of that store, timed with no lab page open and with the sidebar open
   on that very experiment (so it redraws on every flush), ``--rounds`` times each,
   alternating, the lab's server running in both; the slowdown of the medians. Goal: <= 5 %.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import bench_ui  # bench/bench_ui.py: the stores and the HTTP helpers
import side_by_side

SIDEBAR_PAGE = 100
GOAL_OPEN_MS = 1000.0
GOAL_SLOWDOWN = 0.05
# Long enough for the sidebar's own redraw after a change (the long-poll sees it within 0.1 s).
SETTLE_S = 1.0
CHROMIUM = "/usr/bin/chromium"
LOGGER = """
import sys, time
import nbtrack
nbtrack.set_experiment(sys.argv[1])
with nbtrack.start_run(name="tight-loop"):
    started = time.perf_counter()
    for i in range(int(sys.argv[2])):
        nbtrack.log_metric("loss", 1.0 / (i + 1), step=i)
    print(time.perf_counter() - started)
"""
# In the page: choose the experiment, then wait until the sidebar has drawn its rows; the
# time between, by the page's own clock.
OPEN_SIDEBAR_JS = """async ([experiment, rows]) => {
  const sidebar = document.querySelector('#nbtrack-runs');
  const select = sidebar.querySelector('.nbt-Sidebar-experiments');
  const list = sidebar.querySelector('.nbt-Sidebar-runs');
  list.replaceChildren();
  const started = performance.now();
  select.value = experiment;
  select.dispatchEvent(new Event('change'));
  while (list.children.length < rows) {
    if (performance.now() - started > 30000) {
      throw new Error(`${experiment}: ${list.children.length} rows after 30 s; the sidebar says `
        + sidebar.querySelector('.nbt-Sidebar-notes').textContent);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return performance.now() - started;
}"""


def progress(message: str) -> None:
    print(f"[bench_lab] {message}", file=sys.stderr, flush=True)


@contextmanager
def lab_server(store: Path) -> Iterator[str]:
    """JupyterLab on a free port, no token, reading ``store``; yields its URL."""
    port = bench_ui.free_port()
    home = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    env = dict(
        os.environ,
        NBTRACK_URI=str(store),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
    )
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=",
        "--ServerApp.password=", f"--ServerApp.root_dir={home}", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ]  # fmt: skip
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as process:
        try:
            bench_ui.wait_ready(port, "/api/status", process)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            shutil.rmtree(home, ignore_errors=True)


def touch(store: Path) -> None:
    (store.parent / f".{store.name}.changed").write_text(str(time.time_ns()))


@contextmanager
def browser_page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def open_lab(page: Any, url: str) -> None:
    page.goto(f"{url}/lab?reset")
    page.locator('.jp-SideBar [data-id="nbtrack-runs"]').click(timeout=60_000)
    # Ready once the sidebar has listed the experiments (and drawn its first choice).
    option = f"#nbtrack-runs option[value='{bench_ui.EXPERIMENT}']"
    page.locator(option).wait_for(state="attached", timeout=30_000)
    page.locator("#nbtrack-runs .nbt-Sidebar-run").first.wait_for(timeout=30_000)


def choose(page: Any, experiment: str, rows: int) -> float:
    elapsed: float = page.evaluate(OPEN_SIDEBAR_JS, [experiment, rows])
    return elapsed


def sidebar_figures(store: Path, other: str, repeat: int) -> dict[str, float]:
    with lab_server(store) as url, browser_page() as page:
        open_lab(page, url)
        first = choose(page, bench_ui.EXPERIMENT, SIDEBAR_PAGE)
        times = []
        for _ in range(repeat):
            # The sidebar redraws what it shows when the store changes: show a small
            # experiment while the change lands, so the 10,000 runs' page is asked for anew.
            choose(page, other, 1)
            touch(store)
            time.sleep(SETTLE_S)
            times.append(choose(page, bench_ui.EXPERIMENT, SIDEBAR_PAGE))
        return {"first": first, "after a change": statistics.median(times)}


def api_figures(store: Path, repeat: int) -> float:
    """Median ms of the sidebar's two requests to the server extension, after a change."""
    with lab_server(store) as url:
        connection = http.client.HTTPConnection(url.split("//")[1], timeout=60)
        query = urlencode(
            {"experiment": bench_ui.EXPERIMENT, "sort": "-start_time", "page_size": SIDEBAR_PAGE}
        )

        def both() -> tuple[float, object]:
            a, _ = bench_ui.timed(connection, "GET", "/nbtrack/api/experiments")
            b, data = bench_ui.timed(connection, "GET", f"/nbtrack/api/runs?{query}")
            return a + b, data

        _, median, data = bench_ui.measure(both, repeat, before=lambda: touch(store))
        assert len(data["rows"]) == SIDEBAR_PAGE  # type: ignore[index]
        return median


def mlflow_figures(store: Path, repeat: int) -> float | None:
    mlflow = shutil.which("mlflow") or str(Path(sys.executable).parent / "mlflow")
    if not Path(mlflow).exists():
        return None
    port = bench_ui.free_port()
    command = [
        mlflow, "server", "--backend-store-uri", f"sqlite:///{store}", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    ) as process:
        try:
            bench_ui.wait_ready(port, "/health", process)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            listing = json.dumps({"max_results": 1000}).encode()

            def both() -> tuple[float, object]:
                a, found = bench_ui.timed(
                    connection, "POST", "/ajax-api/2.0/mlflow/experiments/search", listing
                )
                ids = [e["experiment_id"] for e in found["experiments"]]  # type: ignore[index]
                body = {
                    "experiment_ids": ids,
                    "max_results": SIDEBAR_PAGE,
                    "order_by": ["attributes.start_time DESC"],
                }
                b, data = bench_ui.timed(
                    connection,
                    "POST",
                    "/ajax-api/2.0/mlflow/runs/search",
                    json.dumps(body).encode(),
                )
                return a + b, data

            _, median, _ = bench_ui.measure(both, repeat)
            return median
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def log_loop(store: Path, experiment: str, points: int) -> float:
    env = dict(os.environ, NBTRACK_URI=str(store))
    done = subprocess.run(
        [sys.executable, "-c", LOGGER, experiment, str(points)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def slowdown_figures(store: Path, experiment: str, points: int, rounds: int) -> dict[str, float]:
    """Medians of the loop with no lab page open and with the sidebar on its experiment
    (redrawing as the loop's records land); the server runs in both, rounds alternate."""
    alone, watched = [], []
    with lab_server(store) as url, browser_page() as page:
        for round_ in range(rounds):
            progress(f"round {round_ + 1} of {rounds}")
            page.goto("about:blank")
            alone.append(log_loop(store, experiment, points))
            open_lab(page, url)
            choose(page, experiment, 1)
            watched.append(log_loop(store, experiment, points))
    a, w = statistics.median(alone), statistics.median(watched)
    return {"no lab page": a, "sidebar on it": w, "slowdown": w / a - 1}


def report(
    sidebar: dict[str, float],
    api: float,
    ml: float | None,
    loop: dict[str, float],
    args: argparse.Namespace,
) -> None:
    print(f"\n{args.runs:,} runs x 20 params x 20 metrics; the sidebar shows {SIDEBAR_PAGE}")
    header = ["figure", "goal", "nbtrack", "MLflow", "ratio"]
    lines = [
        ["sidebar opens (browser, after a change)", f"<= {GOAL_OPEN_MS:g} ms",
         f"{sidebar['after a change']:.0f} ms", "-", "-"],
        ["sidebar opens (browser, first)", "", f"{sidebar['first']:.0f} ms", "-", "-"],
        ["its two requests (server, after a change)", "", f"{api:.1f} ms",
         f"{ml:.1f} ms" if ml else "-", side_by_side.ratio_text(api, ml, higher_is_better=False)],
    ]  # fmt: skip
    side_by_side.print_table(header, lines, right=(2, 3))
    print(f"\n{args.points:,} log_metric calls in one process, median of {args.rounds}:")
    for name in ("no lab page", "sidebar on it"):
        print(f"  {name}: {loop[name]:.3f} s ({args.points / loop[name]:,.0f} calls/s)")
    print(
        f"  slowdown with the sidebar on it: {loop['slowdown']:+.1%} (goal <= {GOAL_SLOWDOWN:.0%})"
    )
    print(f"load average: {os.getloadavg()[0]:.2f} (compare figures from one run only)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--points", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    nb_store, ml_store = bench_ui.stores(args.runs)
    experiment = f"tight-loop-{os.getpid()}"
    log_loop(nb_store, experiment, 1000)  # the loop's experiment exists before the lab opens
    progress("the sidebar in a browser")
    sidebar = sidebar_figures(nb_store, experiment, args.repeat)
    progress("the sidebar's requests, and MLflow's")
    api = api_figures(nb_store, args.repeat)
    ml = mlflow_figures(ml_store, args.repeat)
    progress("a kernel logging in a tight loop")
    loop = slowdown_figures(nb_store, experiment, args.points, args.rounds)
    report(sidebar, api, ml, loop, args)
    if args.json:
        figures = {"sidebar": sidebar, "api": api, "mlflow": ml, "loop": loop}
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
