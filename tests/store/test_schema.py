"""The store file itself: which file is used, and files nbtrack must refuse without harming them."""

from __future__ import annotations

import math
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

import nbtrack
from nbtrack import config
from nbtrack.store import gateway
from nbtrack.store import store as store_module
from nbtrack.store.schema import SCHEMA_VERSION

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _make_store(path: Path) -> str:
    """A real store at ``path`` holding one finished run; every handle on it closed."""
    nbtrack.set_tracking_uri(path)
    with nbtrack.start_run(name="kept") as run:
        nbtrack.log_metric("loss", 0.5)
    store_module.close_all()
    nbtrack.set_tracking_uri(None)
    return run.id


def _fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def _run_ids(path: Path) -> list[str]:
    nbtrack.flush()
    with gateway.connect(path, read_only=True) as con:
        return [run_id for (run_id,) in con.execute("SELECT run_id FROM runs").fetchall()]


USER_ACTIONS: dict[str, Callable[[], object]] = {
    "list_experiments": nbtrack.list_experiments,
    "get_run": lambda: nbtrack.get_run("0123"),
    "start_run": nbtrack.start_run,
    "set_experiment": lambda: nbtrack.set_experiment("churn"),
    "flush": nbtrack.flush,
}


# -- a store from a newer nbtrack -----------------------------------------------------------------


@pytest.mark.parametrize("action", USER_ACTIONS.values(), ids=USER_ACTIONS.keys())
def test_a_store_written_by_a_newer_schema_is_refused_and_left_untouched(
    store_path: Path, action: Callable[[], object]
) -> None:
    _make_store(store_path)
    with duckdb.connect(str(store_path)) as con:
        con.execute("UPDATE nbtrack_meta SET value = '999' WHERE key = 'schema_version'")
    before = _fingerprint(store_path)

    with pytest.raises(nbtrack.SchemaVersionError) as excinfo:
        action()

    message = str(excinfo.value).replace(str(store_path), "<store>")
    assert "999" in message
    assert re.search(rf"\b{SCHEMA_VERSION}\b", message)
    assert "<store>" in message
    assert isinstance(excinfo.value, nbtrack.StoreError)
    assert nbtrack.active_run() is None
    store_module.close_all()
    assert _fingerprint(store_path) == before
    assert not store_path.with_name(store_path.name + ".wal").exists()


# -- files that are not nbtrack stores ------------------------------------------------------------


@pytest.mark.parametrize("action", USER_ACTIONS.values(), ids=USER_ACTIONS.keys())
def test_a_file_that_is_not_a_duckdb_database_gives_one_clear_error_naming_it(
    store_path: Path, action: Callable[[], object]
) -> None:
    store_path.write_bytes(b"epoch,loss\n" + b"1,0.5\n" * 2000)
    before = _fingerprint(store_path)

    with pytest.raises(nbtrack.StoreCorruptError) as excinfo:
        action()

    assert str(store_path) in str(excinfo.value)
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__
    assert nbtrack.active_run() is None
    store_module.close_all()
    assert _fingerprint(store_path) == before


def test_random_bytes_as_the_store_give_store_corrupt_error(store_path: Path) -> None:
    store_path.write_bytes(os.urandom(64 * 1024))

    with pytest.raises(nbtrack.StoreCorruptError, match=re.escape(str(store_path))):
        nbtrack.list_experiments()


def test_a_duckdb_file_of_another_program_is_refused_and_left_untouched(
    store_path: Path,
) -> None:
    with duckdb.connect(str(store_path)) as con:
        con.execute("CREATE TABLE sales (region VARCHAR, amount DOUBLE)")
        con.execute("INSERT INTO sales VALUES ('north', 10.5)")
    before = _fingerprint(store_path)

    with pytest.raises(nbtrack.StoreCorruptError, match="sales"), nbtrack.start_run():
        pass

    store_module.close_all()
    assert _fingerprint(store_path) == before


def test_a_sqlite_file_as_the_store_gives_store_corrupt_error(store_path: Path) -> None:
    with sqlite3.connect(store_path) as con:  # e.g. MLflow's mlflow.db
        con.execute("CREATE TABLE runs (run_uuid TEXT)")
    con.close()

    with pytest.raises(nbtrack.StoreCorruptError, match=re.escape(str(store_path))):
        nbtrack.list_experiments()


# -- a store that is read-only on disk ------------------------------------------------------------


@pytest.fixture
def readable_by_nobody(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path`` and the folders above it opened to other users for the test's duration."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is needed to drop root's privileges")
    if os.geteuid() != 0:
        pytest.skip("dropping privileges needs root")
    changed: list[tuple[Path, int]] = []
    tmp_root = Path(os.path.realpath("/tmp"))
    for folder in (tmp_path, *tmp_path.parents):
        if folder in (tmp_root, Path("/")):
            break
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & 0o005 != 0o005:
            changed.append((folder, mode))
            folder.chmod(0o755)
    try:
        yield tmp_path
    finally:
        for folder, mode in changed:
            folder.chmod(mode)


def _read_only_store(store_path: Path, folder_writable: bool) -> Path:
    folder = store_path.parent / "shared"
    folder.mkdir()
    path = folder / "nbtrack.duckdb"
    _make_store(path)
    path.chmod(0o444)
    journals = folder / f".{path.name}.journals"
    if folder_writable:
        folder.chmod(0o777)
        if journals.exists():
            journals.chmod(0o777)
    else:
        folder.chmod(0o555)
    return path


def _as_nobody(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [*NOBODY, sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("folder_writable", [False, True], ids=["folder-read-only", "file-only"])
def test_logging_to_a_store_read_only_on_disk_gives_one_clear_store_error(
    store_path: Path, child_env: dict[str, str], readable_by_nobody: Path, folder_writable: bool
) -> None:
    path = _read_only_store(store_path, folder_writable)
    before = _fingerprint(path)
    child_env["NBTRACK_URI"] = str(path)

    done = _as_nobody(
        """
        import nbtrack
        with nbtrack.start_run():
            nbtrack.log_metric("loss", 0.5)
        """,
        child_env,
        readable_by_nobody,
    )

    try:
        assert done.returncode == 1, done.stderr
        last_line = done.stderr.strip().splitlines()[-1]
        assert re.match(r"nbtrack\.errors\.Store\w*Error: ", last_line), done.stderr
        assert str(path.parent) in last_line
        assert "writable" in last_line
        assert done.stderr.count("nbtrack.errors.") == 1, done.stderr
        assert "Exception ignored" not in done.stderr
        assert "could not" not in done.stderr.replace(last_line, "")
        assert _fingerprint(path) == before
    finally:
        path.parent.chmod(0o755)


def test_reading_a_store_read_only_on_disk_works(
    store_path: Path, child_env: dict[str, str], readable_by_nobody: Path
) -> None:
    path = _read_only_store(store_path, folder_writable=False)
    child_env["NBTRACK_URI"] = str(path)

    done = _as_nobody(
        """
        import nbtrack
        print([e.name for e in nbtrack.list_experiments()])
        """,
        child_env,
        readable_by_nobody,
    )

    path.parent.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['Default']"


# -- which store is used --------------------------------------------------------------------------


def test_nbtrack_uri_chooses_the_store(store_path: Path) -> None:
    assert nbtrack.get_tracking_uri() == str(store_path)
    with nbtrack.start_run() as run:
        pass

    assert _run_ids(store_path) == [run.id]


def test_a_relative_nbtrack_uri_is_taken_from_the_working_directory(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTRACK_URI", "stores/team.duckdb")

    assert nbtrack.get_tracking_uri() == str(store_path.parent / "stores" / "team.duckdb")


def test_set_tracking_uri_overrides_nbtrack_uri_until_reset(store_path: Path) -> None:
    other = store_path.parent / "elsewhere" / "mine.duckdb"
    nbtrack.set_tracking_uri(other)
    assert nbtrack.get_tracking_uri() == str(other)
    with nbtrack.start_run() as run:
        pass

    assert other.is_file()
    assert _run_ids(other) == [run.id]
    nbtrack.set_tracking_uri(None)
    assert nbtrack.get_tracking_uri() == str(store_path)
    with pytest.raises(nbtrack.NotFoundError):
        nbtrack.get_run(run.id)


def test_set_tracking_uri_of_a_folder_raises(store_path: Path) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match=r"nbtrack\.duckdb"):
        nbtrack.set_tracking_uri(store_path.parent)
    assert nbtrack.get_tracking_uri() == str(store_path)


# -- discovery ------------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fake git repository with notebooks two folders down."""
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    (root / "notebooks" / "eda").mkdir(parents=True)
    return root


def test_discovery_finds_the_store_at_the_git_root_from_a_sub_folder(repo: Path) -> None:
    (repo / "nbtrack.duckdb").touch()

    assert config.discover_store(repo / "notebooks" / "eda") == repo / "nbtrack.duckdb"
    assert config.discover_store(repo) == repo / "nbtrack.duckdb"


def test_discovery_takes_the_nearest_store_walking_up(repo: Path) -> None:
    (repo / "nbtrack.duckdb").touch()
    (repo / "notebooks" / "nbtrack.duckdb").touch()

    assert (
        config.discover_store(repo / "notebooks" / "eda") == repo / "notebooks" / "nbtrack.duckdb"
    )


def test_discovery_without_a_store_places_a_new_one_at_the_git_root(repo: Path) -> None:
    found = config.discover_store(repo / "notebooks" / "eda")

    assert found == repo / "nbtrack.duckdb"
    assert not found.exists()


def test_discovery_does_not_look_above_the_git_root(repo: Path) -> None:
    (repo.parent / "nbtrack.duckdb").touch()

    assert config.discover_store(repo / "notebooks" / "eda") == repo / "nbtrack.duckdb"


def test_discovery_treats_a_git_file_as_a_repository_root(tmp_path: Path) -> None:
    worktree = tmp_path / "worktree"
    (worktree / "src").mkdir(parents=True)
    (worktree / ".git").write_text("gitdir: /elsewhere/.git/worktrees/wt\n", encoding="utf-8")

    assert config.discover_store(worktree / "src") == worktree / "nbtrack.duckdb"


def test_discovery_outside_a_repository_uses_the_working_folder(tmp_path: Path) -> None:
    folder = tmp_path / "scratch" / "deep"
    folder.mkdir(parents=True)
    if any((p / ".git").exists() or (p / "nbtrack.duckdb").exists() for p in folder.parents):
        pytest.skip("a folder above the test's tmp_path is a repository or holds a store")

    assert config.discover_store(folder) == folder / "nbtrack.duckdb"


def test_a_run_started_in_a_sub_folder_lands_in_the_store_at_the_git_root(
    store_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NBTRACK_URI")
    monkeypatch.chdir(repo / "notebooks" / "eda")

    assert nbtrack.get_tracking_uri() == str(repo / "nbtrack.duckdb")
    with nbtrack.start_run() as run:
        nbtrack.log_metric("loss", 0.5)

    assert (repo / "nbtrack.duckdb").is_file()
    assert not (repo / "notebooks" / "eda" / "nbtrack.duckdb").exists()
    assert _run_ids(repo / "nbtrack.duckdb") == [run.id]


def test_a_store_of_an_older_schema_is_migrated_and_keeps_its_runs(store_path: Path) -> None:
    run_id = _make_store(store_path)
    with duckdb.connect(str(store_path)) as con:
        # what a version-1 store looks like: no model_payloads table yet
        con.execute("DROP TABLE model_payloads")
        con.execute("UPDATE nbtrack_meta SET value = '1' WHERE key = 'schema_version'")

    assert nbtrack.get_run(run_id).metrics == {"loss": 0.5}

    store_module.close_all()
    with duckdb.connect(str(store_path), read_only=True) as con:
        assert con.execute(
            "SELECT value FROM nbtrack_meta WHERE key = 'schema_version'"
        ).fetchone() == (str(SCHEMA_VERSION),)
        assert con.execute("SELECT count(*) FROM model_payloads").fetchone() == (0,)


def test_a_version_5_store_gets_mlflows_latest_metric_values_and_keeps_its_numbering(
    store_path: Path,
) -> None:
    nbtrack.set_tracking_uri(store_path)
    with nbtrack.start_run() as run:
        for value, step in [(3.0, 2), (4.0, 8), (8.0, 3)]:
            nbtrack.log_metric("m", value, step=step)
        nbtrack.log_metric("nan", math.nan, step=5)
        nbtrack.log_metric("nan", 1.0, step=4)
    store_module.close_all()
    with duckdb.connect(str(store_path)) as con:
        # what version 5 kept: the last logged point, and no last_seq
        con.execute("DROP TABLE latest_metrics")
        con.execute(
            "CREATE TABLE latest_metrics (run_id VARCHAR NOT NULL, key VARCHAR NOT NULL, "
            "value DOUBLE NOT NULL, step BIGINT NOT NULL, timestamp BIGINT NOT NULL, "
            "seq BIGINT NOT NULL, min_value DOUBLE, max_value DOUBLE, count BIGINT NOT NULL)"
        )
        con.execute(
            "INSERT INTO latest_metrics SELECT run_id, key, arg_max(value, seq), "
            "arg_max(step, seq), arg_max(timestamp, seq), max(seq), min(value), max(value), "
            "count(*) FROM metrics GROUP BY ALL"
        )
        con.execute("UPDATE nbtrack_meta SET value = '5' WHERE key = 'schema_version'")
        (seq_before,) = con.execute("SELECT max(seq) FROM metrics").fetchone() or (0,)

    got = nbtrack.get_run(run.id)

    assert got.metrics["m"] == 4.0
    assert math.isnan(got.metrics["nan"])
    with nbtrack.start_run(run_id=run.id):
        nbtrack.log_metric("m", 5.0)  # the step after the highest: 9
    assert nbtrack.get_run(run.id).metrics["m"] == 5.0
    nbtrack.flush()
    store_module.close_all()
    with duckdb.connect(str(store_path), read_only=True) as con:
        assert con.execute("SELECT step, seq FROM metrics WHERE value = 5").fetchall() == [
            (9, seq_before + 1)
        ]
        assert con.execute(
            "SELECT min_value, max_value, count, last_seq FROM latest_metrics WHERE key = 'm'"
        ).fetchall() == [(3.0, 8.0, 4, seq_before + 1)]
        assert con.execute(
            "SELECT value FROM nbtrack_meta WHERE key = 'schema_version'"
        ).fetchone() == (str(SCHEMA_VERSION),)


def test_a_version_7_store_gets_the_experiment_tags_table(store_path: Path) -> None:
    run_id = _make_store(store_path)
    with duckdb.connect(str(store_path)) as con:
        con.execute("DROP TABLE experiment_tags")
        con.execute("UPDATE nbtrack_meta SET value = '7' WHERE key = 'schema_version'")

    assert nbtrack.get_run(run_id).metrics == {"loss": 0.5}

    store_module.close_all()
    with duckdb.connect(str(store_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM experiment_tags").fetchone() == (0,)
        assert con.execute(
            "SELECT value FROM nbtrack_meta WHERE key = 'schema_version'"
        ).fetchone() == (str(SCHEMA_VERSION),)
