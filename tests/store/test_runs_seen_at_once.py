"""A run's start and end cost one journal write, and every reader sees them at once (real
processes, real store)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RUNS_PER_WRITER = 500

CHURNER = textwrap.dedent(
    """
    import sys, time
    import nbtrack

    out = open(sys.argv[3], "w")
    sys.stdin.readline()  # all writers start together
    for i in range(int(sys.argv[1])):
        with nbtrack.start_run(name=f"w{sys.argv[2]}-{i}") as run:
            nbtrack.log_metric("i", float(i))
        # end_run has returned: from now on every search must see this run finished
        out.write(f"{run.id} {time.monotonic()}\\n")
    out.close()
    """
)

SEARCHER = textwrap.dedent(
    """
    import json, os, sys, time
    import nbtrack

    stop, out = sys.argv[1], open(sys.argv[2], "w")
    while not os.path.exists(stop):
        began = time.monotonic()
        frame = nbtrack.search_runs(filter="attributes.status = 'FINISHED'")
        out.write(json.dumps([began, time.monotonic(), frame["run_id"].tolist()]) + "\\n")
    out.close()
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


def test_four_processes_churning_runs_and_a_searcher_see_every_ended_run_at_once(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    ended = [tmp_path / f"ended-{n}.txt" for n in range(4)]
    writers = [
        _spawn(CHURNER, child_env, str(RUNS_PER_WRITER), str(n), str(ended[n])) for n in range(4)
    ]
    stop, searches = tmp_path / "stop", tmp_path / "searches.jsonl"
    searcher = _spawn(SEARCHER, child_env, str(stop), str(searches))
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    outputs = [writer.communicate(timeout=300) for writer in writers]
    time.sleep(0.3)  # a last search or two after every writer is done
    stop.touch()
    _, search_err = searcher.communicate(timeout=120)

    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert err == "", err
    assert searcher.returncode == 0, search_err
    assert search_err == "", search_err

    end_times: dict[str, float] = {}
    for path in ended:
        for line in path.read_text().splitlines():
            run_id, at = line.split()
            end_times[run_id] = float(at)
    assert len(end_times) == 4 * RUNS_PER_WRITER

    rows = [json.loads(line) for line in searches.read_text().splitlines()]
    assert len(rows) >= 3
    for began, _, seen in rows:
        due = {run_id for run_id, at in end_times.items() if at < began}
        missing = due - set(seen)
        assert not missing, f"a search begun at {began} missed {len(missing)} ended run(s)"
    assert set(rows[-1][2]) == set(end_times)


SELF_STOPPING_WRITER = textwrap.dedent(
    """
    import os, signal
    import nbtrack
    from nbtrack.store import flusher

    # No background flush in this writer: whatever a reader sees, the reader brought in itself
    # (and a flush frozen halfway by the SIGSTOP below would hold the store's lock).
    flusher.Flusher._loop = lambda self: None

    with nbtrack.start_run(name="then-stop") as run:
        for i in range(1000):
            nbtrack.log_metric("loss", 1.0 / (i + 1), step=i)
    print(run.id, flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)  # alive, holding its journal, doing nothing
    """
)


def test_a_reader_right_after_end_run_returns_sees_finished_and_the_last_metric(
    child_env: dict[str, str],
) -> None:
    writer = _spawn(SELF_STOPPING_WRITER, child_env)
    assert writer.stdout is not None
    run_id = writer.stdout.readline().strip()
    try:
        reader = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, nbtrack; run = nbtrack.get_run(sys.argv[1]); "
                "print(run.status, run.metrics['loss'], "
                "len(nbtrack.get_metric_history(run.id, 'loss')))",
                run_id,
            ],
            env=child_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        os.kill(writer.pid, signal.SIGCONT)
        writer.communicate(timeout=60)
    assert reader.stdout.split() == ["FINISHED", repr(1.0 / 1000), "1000"]
    assert writer.returncode == 0


KILLED_BETWEEN_START_AND_END = textwrap.dedent(
    """
    import sys
    import nbtrack

    run = nbtrack.start_run(name="never-ended")
    nbtrack.log_param("lr", 0.1)
    for i in range(3):
        nbtrack.log_metric("x", float(i), step=i)
    print(run.id, flush=True)
    sys.stdin.readline()  # killed here, long before the flusher's first tick
    """
)


def test_kill_9_between_start_run_and_end_run_leaves_the_run_killed_with_its_points(
    child_env: dict[str, str],
) -> None:
    writer = _spawn(KILLED_BETWEEN_START_AND_END, child_env)
    assert writer.stdout is not None
    run_id = writer.stdout.readline().strip()
    os.kill(writer.pid, signal.SIGKILL)
    writer.communicate(timeout=30)

    import nbtrack

    run = nbtrack.get_run(run_id)
    assert run.status == "KILLED"
    assert run.params == {"lr": 0.1}
    assert nbtrack.get_metric_history(run_id, "x")["value"].tolist() == [0.0, 1.0, 2.0]
    assert run.end_time is not None and run.end_time >= run.start_time
