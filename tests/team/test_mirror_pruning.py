"""Pruning a server's mirrors, on a real store file: a client silent for too long is ended as
dead and its mirror removed once every byte is in the store — never before — and the names of
ended clients go after the same time; a real ``nbtrack server`` does it when it starts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbtrack.errors import InvalidValueError, StoreBusyError
from nbtrack.store import mirrors
from nbtrack.store.journal import journal_root
from nbtrack.store.segments import ENDED_FOLDER, mirror_root
from nbtrack.store.store import get_store
from tests.conftest import raw_connection
from tests.mlflow_compat.conftest import NBTRACK, start_server, stop_server
from tests.serving.conftest import free_port
from tests.team.test_mirrors import JOURNAL, lines, start

DAY = 24 * 3600.0
QUIET = 14 * DAY


def _mirror(store_path: Path, journal: str = JOURNAL) -> Path:
    return mirror_root(journal_root(store_path)) / journal


def _age(folder: Path, seconds: float) -> float:
    """Make the folder and its files look last written ``seconds`` ago; that time."""
    then = time.time() - seconds
    for path in [*folder.iterdir(), folder]:
        os.utime(path, (then, then))
    return then


def _runs(store_path: Path) -> list[tuple[object, ...]]:
    with raw_connection(store_path, read_only=True) as con:
        return con.execute("SELECT run_id, status, end_time FROM runs").fetchall()


def _points(store_path: Path) -> int:
    with raw_connection(store_path, read_only=True) as con:
        (count,) = con.execute("SELECT count(*) FROM metrics").fetchone() or (0,)
    return int(count)


def test_a_silent_client_is_ended_dead_and_its_mirror_removed_once_in_the_store(
    store_path: Path,
) -> None:
    sent = start("r1") + lines("r1", 0, 20)
    mirrors.receive(store_path, JOURNAL, 1, 0, sent)
    last = _age(_mirror(store_path), 20 * DAY)

    pruned = mirrors.prune(store_path, QUIET)

    assert pruned.ended == [JOURNAL]
    # Pruning itself removes nothing: the bytes wait for the ingestion.
    segment = _mirror(store_path) / "00000001.ndjson"
    assert segment.read_bytes() == sent
    get_store(store_path).flush()
    assert not _mirror(store_path).exists()
    assert _points(store_path) == 20
    ((run_id, status, end_us),) = _runs(store_path)
    assert (run_id, status) == ("r1", "KILLED")
    assert end_us == pytest.approx(last * 1_000_000, abs=1_000_000)


def test_a_client_heard_from_recently_is_left_live(store_path: Path) -> None:
    mirrors.receive(store_path, JOURNAL, 1, 0, start("r1") + lines("r1", 0, 3))
    _age(_mirror(store_path), 20 * DAY)
    # It asks how far the server is: a sign of life, though it sends nothing.
    mirrors.receive(store_path, JOURNAL, 1, 0, b"")

    assert mirrors.prune(store_path, QUIET).ended == []
    get_store(store_path).flush()
    assert _mirror(store_path).is_dir()
    assert _runs(store_path)[0][1] == "RUNNING"


def test_nothing_un_ingested_is_removed_while_the_store_cannot_take_it(
    store_path: Path,
) -> None:
    get_store(store_path).flush()  # the store file exists
    sent = start("r1") + lines("r1", 0, 50)
    mirrors.receive(store_path, JOURNAL, 1, 0, sent)
    _age(_mirror(store_path), 20 * DAY)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(store_path)!r}); "
         "print('holding', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        assert mirrors.prune(store_path, QUIET).ended == [JOURNAL]
        with pytest.raises(StoreBusyError):
            get_store(store_path).flush(deadline_s=0.5)
        assert (_mirror(store_path) / "00000001.ndjson").read_bytes() == sent
        assert mirrors.prune(store_path, QUIET).ended == []  # ended once, still all there
        assert (_mirror(store_path) / "00000001.ndjson").read_bytes() == sent
    finally:
        holder.kill()
        holder.communicate(timeout=30)
    get_store(store_path).flush()
    assert _points(store_path) == 50
    assert not _mirror(store_path).exists()


def test_names_of_ended_clients_go_after_the_same_time(store_path: Path) -> None:
    for journal in ("old-1-aaaa", "new-2-bbbb"):
        mirrors.receive(store_path, journal, 1, 0, start(journal) + lines(journal, 0, 2))
        mirrors.end(store_path, journal, dead=False, heartbeat_us=1)
    get_store(store_path).flush()
    names = mirror_root(journal_root(store_path)) / ENDED_FOLDER
    assert sorted(path.name for path in names.iterdir()) == ["new-2-bbbb", "old-1-aaaa"]
    then = time.time() - 20 * DAY
    os.utime(names / "old-1-aaaa", (then, then))

    assert mirrors.prune(store_path, QUIET).names_removed == 1
    assert [path.name for path in names.iterdir()] == ["new-2-bbbb"]


def test_a_server_prunes_when_it_starts(tmp_path: Path) -> None:
    store_path = tmp_path / "server" / "nbtrack.duckdb"
    store_path.parent.mkdir()
    mirrors.receive(store_path, JOURNAL, 1, 0, start("r1") + lines("r1", 0, 5))
    _age(_mirror(store_path), 3 * DAY)

    server = start_server(store_path, "--silent-client-days", "2")
    try:
        deadline = time.monotonic() + 30
        while _mirror(store_path).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        _, err = stop_server(server.process)
    assert "Traceback" not in err, err
    assert not _mirror(store_path).exists()
    assert [status for _, status, _ in _runs(store_path)] == ["KILLED"]
    assert _points(store_path) == 5


@pytest.mark.parametrize("days", ["0", "-1", "inf", "nan"])
def test_silent_client_days_must_be_a_positive_number(tmp_path: Path, days: str) -> None:
    done = subprocess.run(
        [*NBTRACK, "server", "--store", str(tmp_path / "s.duckdb"), "--port", str(free_port()),
         "--silent-client-days", days],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert f"--silent-client-days {float(days)!r} is not accepted" in done.stderr
    with pytest.raises(InvalidValueError, match="positive number of days"):
        from nbtrack.web.server import silent_client_seconds

        silent_client_seconds(float(days))
