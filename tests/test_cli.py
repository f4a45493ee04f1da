"""The `nbtrack` command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

NBTRACK = [sys.executable, "-m", "nbtrack.cli"]


def _nbtrack(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NBTRACK, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_demo_logs_three_runs_and_prints_them(child_env: dict[str, str], store_path: Path) -> None:
    done = _nbtrack("demo", env=child_env, cwd=store_path.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("FINISHED") == 3
    assert "sgd-lr0.01" in done.stdout
    with duckdb.connect(str(store_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (3,)
        assert con.execute(
            "SELECT count(DISTINCT step) FROM metrics WHERE key = 'loss'"
        ).fetchone() == (60,)


def test_store_option_chooses_the_store(child_env: dict[str, str], tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "runs.duckdb"
    done = _nbtrack("--store", str(other), "demo", env=child_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert str(other) in done.stdout
    assert other.is_file()


def test_doctor_reports_a_healthy_store(child_env: dict[str, str], store_path: Path) -> None:
    assert _nbtrack("demo", env=child_env, cwd=store_path.parent).returncode == 0
    done = _nbtrack("doctor", env=child_env, cwd=store_path.parent)
    assert done.returncode == 0, done.stderr
    assert "opens" in done.stdout
    assert "3 FINISHED" in done.stdout


def test_doctor_sets_an_unreplayable_wal_aside_and_says_so_loudly(
    child_env: dict[str, str], store_path: Path
) -> None:
    assert _nbtrack("demo", env=child_env, cwd=store_path.parent).returncode == 0
    # A process that commits and dies before the checkpoint leaves a WAL behind.
    code = (
        "import duckdb, os; c = duckdb.connect(os.environ['NBTRACK_URI']); "
        "c.execute(\"INSERT INTO tags VALUES ('r', 'k', 'v', 0)\"); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], env=child_env, check=True)
    wal = store_path.with_name(store_path.name + ".wal")
    assert wal.exists()
    data = bytearray(wal.read_bytes())
    for i in range(64, len(data), 5):
        data[i] ^= 0x5A
    wal.write_bytes(bytes(data))

    plain = _nbtrack("demo", env=child_env, cwd=store_path.parent)
    assert plain.returncode == 1
    assert "nbtrack doctor" in plain.stderr

    done = _nbtrack("doctor", env=child_env, cwd=store_path.parent)
    assert done.returncode == 0, done.stderr
    assert "COULD NOT BE REPLAYED" in done.stdout
    assert not wal.exists()
    assert list(store_path.parent.glob("*.wal.unreplayable-*"))
    again = _nbtrack("demo", env=child_env, cwd=store_path.parent)
    assert again.returncode == 0, again.stderr


def test_doctor_ends_runs_whose_process_is_gone(
    child_env: dict[str, str], store_path: Path
) -> None:
    code = "import nbtrack, os; r = nbtrack.start_run(); nbtrack.log_metric('m', 1.0); os._exit(0)"
    subprocess.run([sys.executable, "-c", code], env=child_env, check=True)
    done = _nbtrack("doctor", env=child_env, cwd=store_path.parent)
    assert done.returncode == 0, done.stderr
    assert "KILLED" in done.stdout
    with duckdb.connect(str(store_path), read_only=True) as con:
        assert con.execute("SELECT status FROM runs").fetchall() == [("KILLED",)]
        assert con.execute("SELECT count(*) FROM metrics").fetchone() == (1,)


def test_an_unknown_command_prints_usage(child_env: dict[str, str], tmp_path: Path) -> None:
    done = _nbtrack("frobnicate", env=child_env, cwd=tmp_path)
    assert done.returncode == 2
    assert "usage" in done.stderr
    assert os.listdir(tmp_path) == []


def test_the_seed_commands_work_verbatim(child_env: dict[str, str], store_path: Path) -> None:
    created = _nbtrack(
        "experiments", "create", "--experiment-name", "my-first-experiment",
        env=child_env, cwd=store_path.parent,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    listed = _nbtrack("experiments", "list", env=child_env, cwd=store_path.parent)
    assert listed.returncode == 0, listed.stderr
    assert "my-first-experiment" in listed.stdout
    assert "Default" in listed.stdout
    again = _nbtrack(
        "experiments", "create", "--experiment-name", "my-first-experiment",
        env=child_env, cwd=store_path.parent,
    )  # fmt: skip
    assert again.returncode == 2
    assert "exists already" in again.stderr


BAD_INPUT = {
    "1000-or-terms": ["runs", "list", "--filter", " or ".join(["metrics.a > 1"] * 1000)],
    "number-beyond-float64": ["runs", "list", "--filter", "metrics.a > 1e400"],
    "21-order-by-items": ["runs", "list", *["--order-by", "metrics.a"] * 21],
    "max-results-0": ["runs", "list", "--max-results", "0"],
    "max-results-beyond-64-bits": ["runs", "list", "--max-results", str(10**30)],
    "store-is-a-folder": ["--store", ".", "runs", "list"],
    "long-experiment-name": ["experiments", "create", "--experiment-name", "e" * 251],
}


@pytest.mark.parametrize("args", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_a_short_message_without_a_traceback_and_exit_code_2(
    child_env: dict[str, str], store_path: Path, args: list[str]
) -> None:
    done = _nbtrack(*args, env=child_env, cwd=store_path.parent)

    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("nbtrack: ") and "Traceback" not in done.stderr
    # One line; a filter's syntax error adds the text with a caret under the culprit.
    assert len(done.stderr.splitlines()) in (1, 3), done.stderr
    assert all(len(line) < 400 for line in done.stderr.splitlines()), done.stderr


def test_runs_list_show_delete_restore_and_json(
    child_env: dict[str, str], store_path: Path
) -> None:
    import json

    cwd = store_path.parent
    assert _nbtrack("demo", env=child_env, cwd=cwd).returncode == 0
    listed = _nbtrack(
        "runs", "list", "-n", "nbtrack-demo", "--filter", "params.lr > 0.005",
        "--order-by", "metrics.loss", "--json", env=child_env, cwd=cwd,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["params.lr"] for row in rows] == [0.01, 0.03]
    run_id = rows[0]["run_id"]

    table = _nbtrack("runs", "list", "-n", "nbtrack-demo", env=child_env, cwd=cwd)
    assert table.stdout.count("FINISHED") == 3

    shown = _nbtrack("runs", "show", run_id, env=child_env, cwd=cwd)
    assert shown.returncode == 0, shown.stderr
    assert "sgd-lr0.01" in shown.stdout and "loss" in shown.stdout

    assert _nbtrack("runs", "delete", run_id, env=child_env, cwd=cwd).returncode == 0
    after = _nbtrack("runs", "list", "-n", "nbtrack-demo", "--json", env=child_env, cwd=cwd)
    assert run_id not in after.stdout
    assert _nbtrack("runs", "restore", run_id, env=child_env, cwd=cwd).returncode == 0
    back = _nbtrack("runs", "list", "-n", "nbtrack-demo", "--json", env=child_env, cwd=cwd)
    assert run_id in back.stdout

    bad = _nbtrack("runs", "list", "--filter", "metrics.loss <", env=child_env, cwd=cwd)
    assert bad.returncode == 2
    assert "position" in bad.stderr and "Traceback" not in bad.stderr


def test_gc_and_export_from_the_command_line(
    child_env: dict[str, str], store_path: Path, tmp_path: Path
) -> None:
    import json

    cwd = store_path.parent
    assert _nbtrack("demo", env=child_env, cwd=cwd).returncode == 0
    rows = json.loads(_nbtrack("runs", "list", "-n", "nbtrack-demo", "--json",
                               env=child_env, cwd=cwd).stdout)  # fmt: skip
    _nbtrack("runs", "delete", rows[0]["run_id"], env=child_env, cwd=cwd)
    gc = _nbtrack("gc", env=child_env, cwd=cwd)
    assert gc.returncode == 0, gc.stderr
    assert "purged 1 run(s)" in gc.stdout
    out = tmp_path / "export"
    exported = _nbtrack("export", str(out), env=child_env, cwd=cwd)
    assert exported.returncode == 0, exported.stderr
    assert (out / "metrics.parquet").is_file() and (out / "runs.parquet").is_file()
    assert "exporting" in exported.stderr


REGISTER_TWO = """
import nbtrack, pandas as pd
from sklearn.linear_model import LogisticRegression
X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
for _ in range(2):
    with nbtrack.start_run():
        nbtrack.log_model(LogisticRegression().fit(X, [0, 0, 1, 1]), registered_model_name="churn")
"""


def test_models_list_versions_promote_and_history(
    child_env: dict[str, str], store_path: Path
) -> None:
    import json

    cwd = store_path.parent
    subprocess.run([sys.executable, "-c", REGISTER_TWO], env=child_env, cwd=cwd, check=True)
    promoted = _nbtrack("models", "promote", "churn", "2", env=child_env, cwd=cwd)
    assert promoted.returncode == 0, promoted.stderr
    assert "churn@champion -> version 2" in promoted.stdout
    tagged = "import nbtrack; nbtrack.set_model_tag('churn', 'team', 'growth')"
    subprocess.run([sys.executable, "-c", tagged], env=child_env, cwd=cwd, check=True)
    listed = json.loads(_nbtrack("models", "list", "--json", env=child_env, cwd=cwd).stdout)
    assert [
        {k: row[k] for k in ("name", "latest_version", "versions", "aliases", "tags")}
        for row in listed
    ] == [
        {
            "name": "churn",
            "latest_version": 2,
            "versions": 2,
            "aliases": "champion=2",
            "tags": "team=growth",
        }
    ]
    versions = _nbtrack("models", "versions", "churn", env=child_env, cwd=cwd)
    assert versions.returncode == 0 and versions.stdout.count("churn") == 2
    history = json.loads(
        _nbtrack("models", "history", "churn", "--json", env=child_env, cwd=cwd).stdout
    )
    assert [(row["alias"], row["version"]) for row in history] == [("champion", 2)]
    unknown = _nbtrack("models", "promote", "churn", "9", env=child_env, cwd=cwd)
    assert unknown.returncode == 1 and "9" in unknown.stderr and "Traceback" not in unknown.stderr
