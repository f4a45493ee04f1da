"""``sql()`` cannot run away: it has a time limit, Ctrl-C stops it, its temporary files are
capped, and a writer in another process waits for it at most until its time limit."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.store import search

# Runs for hours unless something stops it.
CROSS_JOIN = "SELECT count(*) FROM range(1000000) a, range(1000000) b, metrics"


@pytest.fixture
def logged(store_path: Path) -> Path:
    with nbtrack.start_run():
        nbtrack.log_metric("loss", 1.0)
    nbtrack.flush()
    return store_path


def _start_child(script: str, env: dict[str, str]) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "querying\n"
    return child


def test_sql_stops_a_query_at_its_timeout_and_says_how_to_allow_it_more(logged: Path) -> None:
    started = time.monotonic()

    with pytest.raises(nbtrack.InvalidValueError) as stopped:
        nbtrack.sql(CROSS_JOIN, timeout=0.5)

    assert time.monotonic() - started < 5
    message = str(stopped.value)
    assert "0.5 s" in message and "timeout=" in message
    assert nbtrack.sql("SELECT count(*) AS n FROM metrics")["n"][0] == 1


@pytest.mark.parametrize("timeout", [0, -1.0, math.nan, math.inf, 1e6, "10", True, None])
def test_sql_takes_a_timeout_of_a_number_of_seconds_within_its_limit(
    logged: Path, timeout: object
) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match=r"timeout=.*seconds"):
        nbtrack.sql("SELECT 1", timeout=timeout)  # type: ignore[arg-type]


def test_ctrl_c_stops_a_running_sql_query_and_the_store_stays_usable(
    logged: Path, child_env: dict[str, str]
) -> None:
    child = _start_child(
        f"""
        import signal
        import time
        import nbtrack

        # As in a terminal or a kernel, whatever this test runs under.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("querying", flush=True)
        started = time.monotonic()
        try:
            nbtrack.sql({CROSS_JOIN!r})
        except KeyboardInterrupt:
            print(f"interrupted after {{time.monotonic() - started:.1f}} s", flush=True)
        print("then", nbtrack.sql("SELECT count(*) AS n FROM metrics")["n"][0], flush=True)
        """,
        child_env,
    )
    time.sleep(2.0)  # the query is running by now

    child.send_signal(signal.SIGINT)
    try:
        out, err = child.communicate(timeout=6)
    finally:
        child.kill()

    assert child.returncode == 0, err
    assert "interrupted after" in out
    assert "then 1" in out


def test_a_long_sql_query_holds_a_writer_in_another_process_only_until_its_timeout(
    logged: Path, child_env: dict[str, str]
) -> None:
    child = _start_child(
        f"""
        import nbtrack

        print("querying", flush=True)
        try:
            nbtrack.sql({CROSS_JOIN!r})
        except nbtrack.InvalidValueError as exc:
            print(exc, flush=True)
        """,
        child_env,
    )
    time.sleep(2.0)
    started = time.monotonic()
    try:
        nbtrack.create_experiment("written while sql() ran")
        waited = time.monotonic() - started
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()

    assert waited < search.SQL_TIMEOUT_S + 5
    assert f"{search.SQL_TIMEOUT_S:g} s" in out, err
    assert "written while sql() ran" in [e.name for e in nbtrack.list_experiments()]


def test_sql_caps_its_temporary_files(logged: Path) -> None:
    cap = nbtrack.sql("SELECT current_setting('max_temp_directory_size') AS cap")["cap"][0]
    number, unit = cap.split()
    assert unit == "GiB" and float(number) <= 2


def test_a_query_that_needs_too_much_memory_says_so(
    logged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tight = {"memory_limit": "60MB", "max_temp_directory_size": "1MB", "threads": 1}
    for key, value in tight.items():
        monkeypatch.setitem(search.SQL_SETTINGS, key, value)

    with pytest.raises(nbtrack.InvalidValueError, match="memory"):
        nbtrack.sql(
            "SELECT max(s) FROM (SELECT i, string_agg(v::VARCHAR, ',') AS s FROM "
            "(SELECT range % 1000000 AS i, random() AS v FROM range(5000000)) GROUP BY i)"
        )
