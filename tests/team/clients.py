"""Client processes that log to a server as a user's would, and what the server's store holds.

Each client is a real Python process with ``NBTRACK_URI`` pointing at the server: one runs a
``%%track`` cell in a real IPython shell, one uses the fluent API. They log ``POINTS`` metric
points, a little at a time (so that a test can kill the server while they log), print one line
of JSON about what they did, and exit normally.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from nbtrack.store.store import get_store
from tests.conftest import REPO

POINTS = 5_000

FLUENT = """
import json, sys, time
import nbtrack
points, pause, key = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
slowest = 0.0
with nbtrack.start_run(name=key) as run:
    print(json.dumps({"started": run.id}), flush=True)
    for step in range(points):
        began = time.perf_counter()
        nbtrack.log_metric(key, step * 0.5, step=step)
        slowest = max(slowest, time.perf_counter() - began)
        if step % 100 == 99:
            time.sleep(pause)
print(json.dumps({"run": run.id, "slowest_s": slowest}), flush=True)
"""

TRACKED_CELL = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
import nbtrack
points, pause, key = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "nbtrack")
shell.user_ns.update(nbtrack=nbtrack, points=points, pause=pause, key=key)
result = shell.run_cell(
    f"%%track --name {key}\\n"
    "import time\\n"
    "for step in range(points):\\n"
    "    nbtrack.log_metric(key, step * 0.5, step=step)\\n"
    "    if step % 100 == 99:\\n"
    "        time.sleep(pause)\\n",
    store_history=True,
)
result.raise_error()
print(json.dumps({"cell": "ran"}), flush=True)
"""

SLEEPER = """
import json, sys, time
import nbtrack
points, key = int(sys.argv[1]), sys.argv[2]
run = nbtrack.start_run(name=key)
for step in range(points):
    nbtrack.log_metric(key, float(step), step=step)
print(json.dumps({"logged": run.id}), flush=True)
time.sleep(600)
"""


FORKING = """
import json, multiprocessing, sys
import nbtrack

def child(key):
    with nbtrack.start_run(name=key):
        for step in range(300):
            nbtrack.log_metric(key, float(step), step=step)

with nbtrack.start_run(name="parent"):
    nbtrack.log_metric("parent", 1.0, step=0)
    workers = [multiprocessing.get_context("fork").Process(target=child, args=(f"child{n}",))
               for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert all(worker.exitcode == 0 for worker in workers)
print(json.dumps({"forked": 2}), flush=True)
"""


def client_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["NBTRACK_URI"] = url
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


def start_client(script: str, url: str, cwd: Path, *args: object) -> subprocess.Popen[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=cwd,
        env=client_env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The next line of JSON the client printed (raising with its stderr if it died)."""
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        _, err = process.communicate(timeout=30)
        raise AssertionError(f"the client exited with {process.returncode}: {err}")
    found: dict[str, Any] = json.loads(line)
    return found


def finish(process: subprocess.Popen[str], timeout_s: float = 120) -> tuple[dict[str, Any], str]:
    out, err = process.communicate(timeout=timeout_s)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), err


def server_store(server_url: str, tmp_path: Path) -> Path:
    del server_url
    return tmp_path / "server" / "nbtrack.duckdb"


def points_per_key(store: Path) -> dict[str, tuple[int, int]]:
    """Per metric key on the server's store: rows, and distinct steps."""
    rows = get_store(store).read(
        lambda con: con.execute(
            "SELECT key, count(*), count(DISTINCT step) FROM metrics GROUP BY key"
        ).fetchall()
    )
    return {key: (count, steps) for key, count, steps in rows}


def statuses(store: Path) -> dict[str, str]:
    rows = get_store(store).read(
        lambda con: con.execute("SELECT run_name, status FROM runs").fetchall()
    )
    return dict(rows)


def wait_for(check: Any, timeout_s: float = 60.0) -> Any:
    """Call ``check`` until it returns something true; that value (else the last one)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
