"""Several processes on one store at once, and processes killed mid-logging (real processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

POINTS_PER_WRITER = 5_000

WRITER = textwrap.dedent(
    """
    import sys
    import nbtrack

    with nbtrack.start_run(name=f"writer-{sys.argv[1]}") as run:
        print(run.id, flush=True)
        sys.stdin.readline()  # all writers start together
        for i in range(int(sys.argv[2])):
            nbtrack.log_metric("x", float(i), step=i)
    """
)

POLLER = textwrap.dedent(
    """
    import sys, os
    import nbtrack

    run_ids = sys.argv[1].split(",")
    stop = sys.argv[2]
    reads = 0
    while not os.path.exists(stop):
        for run_id in run_ids:
            nbtrack.get_run(run_id)
            try:
                nbtrack.get_metric_history(run_id, "x")
            except nbtrack.NotFoundError:
                pass  # no point of that run ingested yet
            reads += 1
    print("reads", reads, flush=True)
    """
)

READER = textwrap.dedent(
    """
    import json, sys
    import nbtrack

    out = {}
    for run_id in sys.argv[1].split(","):
        run = nbtrack.get_run(run_id)
        histories = {}
        for key in sorted(run.metrics):
            history = nbtrack.get_metric_history(run_id, key)
            histories[key] = history["step"].tolist()
        out[run_id] = {
            "status": run.status,
            "start": run.start_time.isoformat(),
            "end": run.end_time.isoformat() if run.end_time else None,
            "steps": histories,
        }
    print(json.dumps(out))
    """
)


def _spawn(code: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_9(process: subprocess.Popen[str]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)  # also closes the pipes
    assert process.returncode == -signal.SIGKILL


def _read_back(env: dict[str, str], run_ids: list[str]) -> dict[str, dict[str, object]]:
    import json

    done = subprocess.run(
        [sys.executable, "-c", READER, ",".join(run_ids)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, dict[str, object]] = json.loads(done.stdout)
    return result


def test_four_writers_and_a_poller_lose_nothing_and_never_see_a_lock_error(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    writers = [_spawn(WRITER, child_env, str(n), str(POINTS_PER_WRITER)) for n in range(4)]
    run_ids = [writer.stdout.readline().strip() for writer in writers]  # type: ignore[union-attr]
    assert all(len(run_id) == 32 for run_id in run_ids), run_ids
    stop = tmp_path / "stop-polling"
    poller = _spawn(POLLER, child_env, ",".join(run_ids), str(stop))
    for writer in writers:
        writer.stdin.write("go\n")  # type: ignore[union-attr]
        writer.stdin.flush()  # type: ignore[union-attr]
    outputs = [writer.communicate(timeout=180) for writer in writers]
    stop.touch()
    poll_out, poll_err = poller.communicate(timeout=120)

    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "lock" not in err.lower(), err
    assert poller.returncode == 0, poll_err
    assert "lock" not in poll_err.lower(), poll_err
    assert int(poll_out.split()[1]) > 0

    runs = _read_back(child_env, run_ids)
    total = 0
    for run_id in run_ids:
        steps = runs[run_id]["steps"]["x"]  # type: ignore[index]
        assert steps == list(range(POINTS_PER_WRITER))
        total += len(steps)
        assert runs[run_id]["status"] == "FINISHED"
    assert total == 4 * POINTS_PER_WRITER


KILLED_WRITER = textwrap.dedent(
    """
    import nbtrack

    run = nbtrack.start_run(name="doomed")
    print(run.id, flush=True)
    i = 0
    while True:
        nbtrack.log_metric("x", float(i), step=i)
        if i % 500 == 0:
            print(i, flush=True)  # every point up to i has been acknowledged
        i += 1
    """
)


def test_kill_9_mid_logging_loses_no_acknowledged_point_and_the_run_ends_killed(
    child_env: dict[str, str],
) -> None:
    writer = _spawn(KILLED_WRITER, child_env)
    assert writer.stdout is not None
    run_id = writer.stdout.readline().strip()
    acknowledged = 0
    while acknowledged < 30_000:
        acknowledged = int(writer.stdout.readline())
    _kill_9(writer)

    # A fresh process opens the store, ingests the dead journal and ends the run.
    run = _read_back(child_env, [run_id])[run_id]
    steps: list[int] = run["steps"]["x"]  # type: ignore[index]
    assert len(steps) >= acknowledged + 1
    assert steps == list(range(len(steps)))  # no gap, no duplicate
    assert run["status"] == "KILLED"
    assert run["end"] is not None and str(run["end"]) >= str(run["start"])


FORKING_WRITER = textwrap.dedent(
    """
    import os, time
    import nbtrack

    run = nbtrack.start_run(name="forker")
    print(run.id, flush=True)
    nbtrack.log_metric("parent", -1.0, step=0)
    pid = os.fork()
    if pid == 0:
        for i in range(2000):
            nbtrack.log_metric("child", float(i), step=i)
        os._exit(0)  # as multiprocessing does: no atexit, no final flush
    os.waitpid(pid, 0)
    for i in range(1, 2001):
        nbtrack.log_metric("parent", float(i), step=i)
    print("logged", flush=True)
    time.sleep(120)
    """
)


def test_kill_9_of_a_process_whose_forked_child_logged_keeps_both_and_ends_killed(
    child_env: dict[str, str],
) -> None:
    writer = _spawn(FORKING_WRITER, child_env)
    assert writer.stdout is not None
    run_id = writer.stdout.readline().strip()
    assert writer.stdout.readline().strip() == "logged"
    _kill_9(writer)

    run = _read_back(child_env, [run_id])[run_id]
    assert run["steps"]["child"] == list(range(2000))  # type: ignore[index]
    assert run["steps"]["parent"] == list(range(2001))  # type: ignore[index]
    assert run["status"] == "KILLED"


def test_a_run_killed_while_another_process_holds_the_store_ends_killed_after_its_flush(
    child_env: dict[str, str], store_path: Path
) -> None:
    writer = _spawn(KILLED_WRITER, child_env)
    assert writer.stdout is not None
    run_id = writer.stdout.readline().strip()
    assert int(writer.stdout.readline()) == 0
    _kill_9(writer)
    time.sleep(0.1)

    import nbtrack

    # This process reads: its first open ingests what the dead process left.
    assert nbtrack.get_run(run_id).status == "KILLED"
    assert len(nbtrack.get_metric_history(run_id, "x")) >= 1
    leftovers = [p for p in (store_path.parent / ".nbtrack.duckdb.journals").iterdir()]
    assert all(p.name.split("-")[-2] != str(writer.pid) for p in leftovers)
