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
from tests.conftest import REPO, payload_of
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


MODEL_CLIENT = textwrap.dedent(
    """
    import json, sys
    import pandas as pd
    import nbtrack

    class Doubler:
        def predict(self, frame):
            return frame["x"] * 2

    if sys.argv[1] == "log":
        with nbtrack.start_run(name="model") as run:
            info = nbtrack.log_model(Doubler(), "model", input_example=pd.DataFrame({"x": [1.0]}))
        print(json.dumps({"uri": info.model_uri}), flush=True)
    elif sys.argv[1] == "register":
        version = nbtrack.register_model(sys.argv[2], "doubler")
        print(json.dumps({"version": version.version}), flush=True)
    else:
        try:
            model = nbtrack.load_model(sys.argv[2])
        except nbtrack.NbtrackError as exc:
            print(json.dumps({"refused": str(exc)}), flush=True)
        else:
            print(json.dumps({"predicted": list(model.predict(pd.DataFrame({"x": [2.0]})))}))
    """
)


def _model_client(url: str, folder: Path, *args: str) -> dict[str, object]:
    folder.mkdir(exist_ok=True)
    env = {**os.environ, "NBTRACK_URI": url, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", MODEL_CLIENT, *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_a_model_logged_to_a_server_loads_elsewhere_only_while_its_hashes_match(
    team_server: RunningServer, tmp_path: Path
) -> None:
    uri = str(_model_client(team_server.url, tmp_path / "a", "log")["uri"])
    assert not list((tmp_path / "a").rglob("MLmodel"))  # sent, not kept on the client

    assert _model_client(team_server.url, tmp_path / "b", "load", uri) == {"predicted": [4.0]}

    run_id = uri.removeprefix("runs:/").split("/")[0]
    store = tmp_path / "server" / "nbtrack-artifacts"
    (mlmodel,) = (p for p in store.glob(f"*/{run_id}/artifacts/model/MLmodel"))
    payload = payload_of(mlmodel.parent)
    tampered = payload.read_bytes()[:-1] + b"\x00"
    payload.write_bytes(tampered)
    # The download's own check: the bytes are not those the server received.
    refused = _model_client(team_server.url, tmp_path / "b", "load", uri)
    assert "not kept" in str(refused.get("refused")), refused
    # Whoever can edit the server's files can edit its hash record too; the payload hashes the
    # store recorded at log_model still refuse the pickle.
    record = store / ".nbtrack-sha256" / payload.relative_to(store)
    sha = hashlib.sha256(tampered).hexdigest()
    record.write_text(json.dumps({"sha256": sha, "size": len(tampered)}))
    refused = _model_client(team_server.url, tmp_path / "b", "load", uri)
    assert "refusing to load" in str(refused.get("refused")), refused


def test_a_model_registered_through_a_server_loads_by_name_on_another_machine(
    team_server: RunningServer, tmp_path: Path
) -> None:
    uri = str(_model_client(team_server.url, tmp_path / "a", "log")["uri"])
    assert _model_client(team_server.url, tmp_path / "a", "register", uri) == {"version": 1}
    # The registry's copy is on the server, not left on the registering client.
    assert not list((tmp_path / "a").rglob("MLmodel"))
    copies = list((tmp_path / "server" / "nbtrack-artifacts" / "registry").glob("*/MLmodel"))
    assert len(copies) == 1

    loaded = _model_client(team_server.url, tmp_path / "b", "load", "models:/doubler/1")
    assert loaded == {"predicted": [4.0]}
