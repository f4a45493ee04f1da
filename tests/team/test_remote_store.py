"""A ``RemoteStore`` in this process against a real server: the stages marker arriving with the
sender's answers (no request per log call), experiments remembered for starting runs offline,
and where the spool folder is."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbtrack import config
from nbtrack.config import ServerAddress
from nbtrack.errors import ServerUnreachableError
from nbtrack.store import experiments, records, runs
from nbtrack.store.remote import calls
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.store.remote.store import RemoteStore, spool_folder_for
from tests.mlflow_compat.conftest import RunningServer


@pytest.fixture
def remote(team_server: RunningServer, tmp_path: Path) -> Iterator[RemoteStore]:
    store = RemoteStore(ServerAddress(team_server.url), tmp_path / "spool")
    yield store
    if team_server.process.poll() is None:
        store.close()


def test_the_stages_marker_comes_with_the_senders_answers(
    remote: RemoteStore, connection: ServerConnection
) -> None:
    fields = {"experiment_id": "0", "name": "soon-deleted", "artifact_uri": "nbtrack-artifacts/0/x"}
    remote.journal.append(records.start_line("r1", 10, 1, fields))
    assert remote.send_journal()
    seen = remote.stages_state()
    calls.call(connection, "write_stages", runs.set_run_stage, "r1", "deleted")
    # Nothing asked the server: the marker is what the last answer said.
    assert remote.stages_state() == seen
    remote.journal.append(records.tag_line("r1", "k", "v", 11, 2))
    assert remote.send_journal()
    assert remote.stages_state() != seen
    assert remote.stages_state() is not None


def test_a_process_starts_runs_offline_in_an_experiment_the_project_used_before(
    team_server: RunningServer, tmp_path: Path
) -> None:
    first = RemoteStore(ServerAddress(team_server.url), tmp_path / "spool")
    made = first.write(experiments.experiment_for_runs, "sweeps")
    first.close()
    os.kill(team_server.process.pid, signal.SIGKILL)
    team_server.process.communicate(timeout=30)

    later = RemoteStore(ServerAddress(team_server.url), tmp_path / "spool")
    assert later.write(experiments.experiment_for_runs, "sweeps") == made
    assert later.write(experiments.experiment_for_runs, made.id) == made
    with pytest.raises(ServerUnreachableError, match="'brand-new' is new to this project"):
        later.write(experiments.experiment_for_runs, "brand-new")
    later.close()


def test_the_spool_folder_is_where_the_store_would_have_been_found(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "notebooks").mkdir()
    address = ServerAddress("http://tracking.internal:5000")
    assert spool_folder_for(address, project / "notebooks") == (
        project / ".nbtrack-remote" / "tracking.internal_5000"
    )
    assert config.discover_store(project / "notebooks").parent == project
