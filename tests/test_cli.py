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


# -- runs list: where the runs are, and a table a person reads ----------------------------------

SWEEP = """
import os, time, nbtrack
nbtrack.set_experiment("sweep")
for C in (0.01, 0.1, 1.0):
    with nbtrack.start_run(name=f"logreg-C{C}"):
        nbtrack.log_params({"model": "logreg", "C": C})
        nbtrack.log_metric("acc", 0.9 + C / 100)
with nbtrack.start_run(name="tree-d3"):
    nbtrack.log_params({"model": "tree", "max_depth": 3})
    nbtrack.log_metric("acc", 0.875)
    time.sleep(float(os.environ.get("TREE_SECONDS", "0")))
"""


def _log_sweep(env: dict[str, str], cwd: Path, tree_seconds: float = 0.0) -> None:
    env = {**env, "TREE_SECONDS": str(tree_seconds)}
    subprocess.run([sys.executable, "-c", SWEEP], env=env, cwd=cwd, check=True)


def _cells(table: str) -> list[dict[str, str]]:
    """The rows of a text table as dicts: cells split at two or more spaces, which no value
    of these tests holds."""
    import re

    header, *rows = table.splitlines()
    names = header.split()
    return [dict(zip(names, re.split(r"\s{2,}", row.strip()), strict=True)) for row in rows]


def test_runs_list_of_an_empty_experiment_says_which_experiments_have_runs(
    child_env: dict[str, str], store_path: Path
) -> None:
    cwd = store_path.parent
    _log_sweep(child_env, cwd)

    done = _nbtrack("runs", "list", env=child_env, cwd=cwd)

    assert done.returncode == 0, done.stderr
    assert "'Default'" in done.stdout and "has no runs" in done.stdout
    assert "'sweep' (4 runs)" in done.stdout
    assert "nbtrack runs list -n sweep" in done.stdout and "--all-experiments" in done.stdout
    filtered = _nbtrack("runs", "list", "-f", "metrics.acc > 0", env=child_env, cwd=cwd)
    assert "'sweep' (4 runs)" in filtered.stdout
    none_match = _nbtrack("runs", "list", "-n", "sweep", "-f", "metrics.acc > 2",
                          env=child_env, cwd=cwd)  # fmt: skip
    assert none_match.stdout.strip() == "no run in experiment 'sweep' matches the filter"


def test_runs_list_all_experiments_lists_every_experiments_runs(
    child_env: dict[str, str], store_path: Path
) -> None:
    import json

    cwd = store_path.parent
    _log_sweep(child_env, cwd)
    subprocess.run(
        [sys.executable, "-c", "import nbtrack\nwith nbtrack.start_run(name='stray'): pass"],
        env=child_env, cwd=cwd, check=True,
    )  # fmt: skip

    table = _nbtrack("runs", "list", "--all-experiments", env=child_env, cwd=cwd)
    rows = json.loads(_nbtrack("runs", "list", "-A", "--json", env=child_env, cwd=cwd).stdout)

    assert table.returncode == 0, table.stderr
    by_name = {row["run_name"]: row for row in _cells(table.stdout)}
    assert set(by_name) == {"stray", "tree-d3", "logreg-C1.0", "logreg-C0.1", "logreg-C0.01"}
    assert by_name["stray"]["experiment"] == "Default"
    assert by_name["tree-d3"]["experiment"] == "sweep"
    assert sorted(row["experiment"] for row in rows) == ["Default", *["sweep"] * 4]
    both = _nbtrack("runs", "list", "-A", "-n", "sweep", env=child_env, cwd=cwd)
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_runs_list_all_still_means_deleted_runs_and_says_it_is_deprecated(
    child_env: dict[str, str], store_path: Path
) -> None:
    import json

    cwd = store_path.parent
    _log_sweep(child_env, cwd)
    rows = json.loads(_nbtrack("runs", "list", "-n", "sweep", "--json", env=child_env,
                               cwd=cwd).stdout)  # fmt: skip
    assert _nbtrack("runs", "delete", rows[0]["run_id"], env=child_env, cwd=cwd).returncode == 0

    old = _nbtrack("runs", "list", "-n", "sweep", "--all", "--json", env=child_env, cwd=cwd)
    new = _nbtrack("runs", "list", "-n", "sweep", "--include-deleted", "--json",
                   env=child_env, cwd=cwd)  # fmt: skip
    plain = _nbtrack("runs", "list", "-n", "sweep", "--json", env=child_env, cwd=cwd)

    assert len(json.loads(old.stdout)) == len(json.loads(new.stdout)) == 4
    assert len(json.loads(plain.stdout)) == 3
    assert "--all is deprecated" in old.stderr and "--include-deleted" in old.stderr
    assert "--all-experiments" in old.stderr
    assert new.stderr == ""


def test_runs_list_shows_local_times_durations_with_units_and_one_mark_for_missing(
    child_env: dict[str, str], store_path: Path
) -> None:
    import datetime as dt
    import json
    from zoneinfo import ZoneInfo

    cwd = store_path.parent
    env = {**child_env, "TZ": "Asia/Kathmandu"}  # +05:45: no chance of matching UTC
    _log_sweep(env, cwd, tree_seconds=1.3)

    done = _nbtrack("runs", "list", "-n", "sweep", env=env, cwd=cwd)
    raw = json.loads(_nbtrack("runs", "list", "-n", "sweep", "--json", env=env, cwd=cwd).stdout)

    assert done.returncode == 0, done.stderr
    rows = {row["run_name"]: row for row in _cells(done.stdout)}
    tree = rows["tree-d3"]
    stamp = next(r["start_time"] for r in raw if r["run_name"] == "tree-d3")
    local = (
        dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        .astimezone(ZoneInfo("Asia/Kathmandu"))
        .strftime("%Y-%m-%d %H:%M:%S")
    )
    assert tree["start_time"] == local
    assert tree["duration"].endswith(" s") and 1.2 <= float(tree["duration"][:-2]) < 10
    assert rows["logreg-C0.1"]["duration"].endswith(" ms")
    assert tree["params.C"] == "-" and rows["logreg-C0.1"]["params.max_depth"] == "-"
    assert tree["params.max_depth"] == "3" and rows["logreg-C0.01"]["params.C"] == "0.01"
    assert rows["logreg-C1.0"]["metrics.acc"] == "0.91" and tree["metrics.acc"] == "0.875"
    for noise in ("NaN", "<NA>", "NaT", "days", "None", "+00:00"):
        assert noise not in done.stdout
    assert "tags.nbtrack." not in done.stdout


def test_runs_list_fits_the_terminal_and_names_the_columns_it_left_out(
    child_env: dict[str, str], store_path: Path
) -> None:
    cwd = store_path.parent
    _log_sweep(child_env, cwd)

    narrow = _nbtrack("runs", "list", "-n", "sweep", env={**child_env, "COLUMNS": "100"}, cwd=cwd)
    piped = _nbtrack("runs", "list", "-n", "sweep", env=child_env, cwd=cwd)

    lines = narrow.stdout.splitlines()
    assert all(len(line) <= 100 for line in lines), narrow.stdout
    assert lines[0].split()[:2] == ["run_id", "run_name"]
    note = lines[-1]
    assert note.startswith("(") and "more column" in note and "--columns" in note
    assert "params.model" in note or "…" in note
    # Printed to a pipe or a file: every column, for the reader to scroll or cut.
    header = piped.stdout.splitlines()[0].split()
    assert header == [
        "run_id", "run_name", "status", "start_time", "duration", "metrics.acc",
        "params.C", "params.max_depth", "params.model",
    ]  # fmt: skip
    assert "more column" not in piped.stdout


def test_runs_list_columns_chooses_by_name_or_prefix(
    child_env: dict[str, str], store_path: Path
) -> None:
    import json

    cwd = store_path.parent
    _log_sweep(child_env, cwd)

    chosen = _nbtrack("runs", "list", "-n", "sweep", "--columns", "run_name,params,metrics.ac",
                      env=child_env, cwd=cwd)  # fmt: skip
    exact = _nbtrack("runs", "list", "-n", "sweep", "-c", "params.model,duration",
                     env=child_env, cwd=cwd)  # fmt: skip
    as_json = _nbtrack("runs", "list", "-n", "sweep", "-c", "run_name,duration,params.C",
                       "--json", env=child_env, cwd=cwd)  # fmt: skip
    wrong = _nbtrack("runs", "list", "-n", "sweep", "-c", "run_name,metric.acc",
                     env=child_env, cwd=cwd)  # fmt: skip

    assert chosen.stdout.splitlines()[0].split() == [
        "run_name",
        "params.C",
        "params.max_depth",
        "params.model",
        "metrics.acc",
    ]
    assert exact.stdout.splitlines()[0].split() == ["params.model", "duration"]
    rows = json.loads(as_json.stdout)
    assert [set(row) for row in rows] == [{"run_name", "duration", "params.C"}] * 4
    tree = next(row for row in rows if row["run_name"] == "tree-d3")
    assert tree["params.C"] is None and tree["duration"] >= 0  # raw: seconds, null
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert "'metric.acc'" in wrong.stderr and "metrics.acc" in wrong.stderr


def test_experiments_list_counts_the_runs_of_each(
    child_env: dict[str, str], store_path: Path
) -> None:
    cwd = store_path.parent
    _log_sweep(child_env, cwd)

    done = _nbtrack("experiments", "list", env=child_env, cwd=cwd)

    rows = {row["name"]: row for row in _cells(done.stdout)}
    assert rows["sweep"]["runs"] == "4" and rows["Default"]["runs"] == "0"
