"""nbtrack's own artifact functions in a process whose tracking URI is a real ``nbtrack server``:
files logged into the spool, sent by the background sender, read back from the server."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from nbtrack.store.remote import artifacts
from nbtrack.store.remote.connection import ServerConnection
from tests.conftest import REPO
from tests.mlflow_compat.conftest import RunningServer, stop_server
from tests.team.conftest import restart_on_the_same_port

CLIENT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import nbtrack

    Path("weights.bin").write_bytes(bytes(range(256)) * 4096)
    Path("outputs/deep").mkdir(parents=True, exist_ok=True)
    Path("outputs/deep/b.txt").write_text("b")
    with nbtrack.start_run(name="artifacts") as run:
        nbtrack.log_artifact("weights.bin", artifact_path="model")
        nbtrack.log_artifacts("outputs", artifact_path="outputs")
        nbtrack.log_text("first", "notes.md")
        nbtrack.log_text("second", "notes.md")
        nbtrack.log_dict({"lr": 0.1}, "config.json")
    print(json.dumps({"run": run.id}), flush=True)
    if sys.argv[1] == "read":
        listed = [(f.path, f.is_dir) for f in nbtrack.list_artifacts(run.id)]
        nested = [f.path for f in nbtrack.list_artifacts(run.id, "outputs/deep")]
        Path("copies").mkdir()
        copied = nbtrack.download_artifacts(run.id, "outputs", "copies")
        print(json.dumps({
            "listed": listed,
            "nested": nested,
            "notes": nbtrack.load_text(run.id, "notes.md"),
            "config": nbtrack.load_dict(run.id, "config.json"),
            "copied": Path(copied, "deep", "b.txt").read_text(),
        }), flush=True)
    """
)


def _client(url: str, folder: Path, mode: str) -> list[dict[str, object]]:
    folder.mkdir(exist_ok=True)
    env = {**os.environ, "NBTRACK_URI": url, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, mode],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_process_logging_to_a_server_reads_its_artifacts_back_from_it(
    team_server: RunningServer, tmp_path: Path
) -> None:
    (_, read) = _client(team_server.url, tmp_path / "client", "read")

    assert read["listed"] == [
        ["config.json", False],
        ["model", True],
        ["notes.md", False],
        ["outputs", True],
    ]
    assert read["nested"] == ["outputs/deep/b.txt"]
    assert read["notes"] == "second"
    assert read["config"] == {"lr": 0.1}
    assert read["copied"] == "b"
    # Nothing kept on the client once the server holds it.
    assert artifacts.pending(tmp_path / "client" / ".nbtrack-remote" / _spool_name(team_server)
                             / "artifacts") == []  # fmt: skip


def test_artifacts_logged_while_the_server_is_down_arrive_with_nbtrack_sync(
    team_server: RunningServer, connection: ServerConnection, tmp_path: Path
) -> None:
    client = tmp_path / "client"
    # A run in an experiment new to the project needs the server once: make it known first.
    _client(team_server.url, client, "write")
    team_server.process.kill()
    stop_server(team_server.process)

    (ran,) = _client(team_server.url, client, "write")  # exits with everything spooled

    spool = client / ".nbtrack-remote" / _spool_name(team_server) / "artifacts"
    assert len(artifacts.pending(spool)) >= 5
    restarted = restart_on_the_same_port(team_server)
    team_server.process = restarted.process
    sync = subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", "sync", "--uri", team_server.url],
        cwd=client, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert artifacts.pending(spool) == []
    listed = artifacts.list_files(connection, f"{_tree_of(connection, str(ran['run']))}/model")
    assert listed == [{"path": "weights.bin", "is_dir": False, "file_size": 256 * 4096}]
    back = tmp_path / "weights.bin"
    sha = artifacts.download_file(
        connection, f"{_tree_of(connection, str(ran['run']))}/model/weights.bin", back
    )
    assert sha == hashlib.sha256(bytes(range(256)) * 4096).hexdigest()


def _spool_name(server: RunningServer) -> str:
    return server.url.removeprefix("http://").replace(":", "_")


def _tree_of(connection: ServerConnection, run_id: str) -> str:
    answer = connection.request("GET", f"/api/2.0/mlflow/runs/get?run_id={run_id}").json()
    assert isinstance(answer, dict)
    return str(answer["run"]["info"]["artifact_uri"]).removeprefix("mlflow-artifacts:/")
