"""Reading artifacts that ``nbtrack server --artifacts-destination s3://...`` keeps in a bucket:
the UI's pages, MLflow's ``artifacts/list`` and the ``mlflow-artifacts`` proxy all read them
where they are (moto's S3 server on loopback), and never outside the run's prefix.

One S3 server, one nbtrack server and one logged run serve the whole module (each test still
runs alone): the tests only read that run; the one that adds another run's file leaves it alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from nbtrack.store.remote.connection import ServerConnection
from tests.mlflow_compat.conftest import RunningServer, reset_mlflow
from tests.team.artifact_servers import S3Server, bucket_object, server_run
from tests.team.conftest import connected, s3_on_loopback, s3_server_in_its_own_folder

CSV = "epoch,loss\n0,1.5\n1,0.25\n"
HTML = "<h1>report</h1>"


@dataclass(frozen=True)
class LoggedInBucket:
    url: str
    run_id: str
    tree: str  # the run's place in the artifact tree: <experiment>/<run>/artifacts


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("read-from-s3")


@pytest.fixture(scope="module")
def bucket() -> Iterator[S3Server]:
    with pytest.MonkeyPatch.context() as monkeypatch, s3_on_loopback(monkeypatch) as server:
        yield server


@pytest.fixture(scope="module")
def server(folder: Path, bucket: S3Server) -> Iterator[RunningServer]:
    with s3_server_in_its_own_folder(folder, bucket) as running:
        yield running


@pytest.fixture
def s3_connection(server: RunningServer) -> Iterator[ServerConnection]:
    with connected(server) as opened:
        yield opened


@pytest.fixture(scope="module")
def logged(server: RunningServer, folder: Path) -> LoggedInBucket:
    """A run whose files MLflow's client logged through the server, into the bucket."""
    import mlflow

    (folder / "eval").mkdir()
    (folder / "eval" / "losses.csv").write_text(CSV)
    (folder / "report.html").write_text(HTML)
    mlflow.set_tracking_uri(server.url)
    try:
        with mlflow.start_run() as run:
            mlflow.log_artifacts(str(folder / "eval"), artifact_path="eval")
            mlflow.log_artifact(str(folder / "report.html"))
    finally:
        reset_mlflow()
    tree = run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
    assert bucket_object(f"{tree}/eval/losses.csv") == CSV.encode()
    return LoggedInBucket(server.url, run.info.run_id, tree)


def _ui(logged: LoggedInBucket, route: str, **params: str) -> requests.Response:
    url = f"{logged.url}/nbtrack/api/runs/{logged.run_id}/{route}"
    return requests.get(url, params, timeout=30)


def test_the_ui_lists_a_run_s_files_held_in_the_bucket(logged: LoggedInBucket) -> None:
    answer = _ui(logged, "artifacts")
    assert answer.status_code == 200, answer.text
    assert answer.json()["files"] == [
        {"path": "eval/losses.csv", "size": len(CSV), "kind": "table"},
        {"path": "report.html", "size": len(HTML), "kind": "frame"},
    ]


def test_the_ui_previews_a_file_held_in_the_bucket(logged: LoggedInBucket) -> None:
    page = _ui(logged, "artifacts/file", path="report.html")
    assert page.status_code == 200 and page.text == HTML
    # Streamed from the bucket with the same headers as a local file: nothing of it runs.
    assert page.headers["Content-Security-Policy"] == "sandbox"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    table = _ui(logged, "artifacts/table", path="eval/losses.csv")
    assert table.json() == {
        "columns": ["epoch", "loss"],
        "rows": [[0, 1.5], [1, 0.25]],
        "truncated": False,
    }


@pytest.mark.parametrize(
    "path", ["../../x", "eval/../../x", "%2e%2e/%2e%2e/x", "/etc/passwd", "eval/missing.csv"]
)
def test_the_ui_reads_nothing_outside_the_run_s_prefix(logged: LoggedInBucket, path: str) -> None:
    answer = _ui(logged, "artifacts/file", path=path)
    assert answer.status_code in (400, 404), answer.text
    assert "error" in answer.json()


def test_another_run_s_files_are_not_reachable_from_a_run(
    logged: LoggedInBucket, s3_connection: ServerConnection
) -> None:
    other = server_run(s3_connection)
    s3_connection.request("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{other}/secret.txt", b"x")
    run_folder = other.split("/")[1]
    answer = _ui(logged, "artifacts/file", path=f"../../{run_folder}/artifacts/secret.txt")
    assert answer.status_code == 400


def test_mlflows_rest_artifacts_list_reads_the_bucket(logged: LoggedInBucket) -> None:
    def listed(path: str | None = None) -> dict[str, object]:
        params = {"run_id": logged.run_id, **({"path": path} if path else {})}
        answer = requests.get(f"{logged.url}/api/2.0/mlflow/artifacts/list", params, timeout=30)
        assert answer.status_code == 200, answer.text
        found: dict[str, object] = answer.json()
        return found

    top = listed()
    assert top["root_uri"] == f"mlflow-artifacts:/{logged.tree}"
    assert top["files"] == [
        {"path": "eval", "is_dir": True},
        {"path": "report.html", "is_dir": False, "file_size": len(HTML)},
    ]
    assert listed("eval")["files"] == [
        {"path": "eval/losses.csv", "is_dir": False, "file_size": len(CSV)}
    ]
    refused = requests.get(
        f"{logged.url}/api/2.0/mlflow/artifacts/list",
        {"run_id": logged.run_id, "path": "../.."},
        timeout=30,
    )
    assert refused.status_code == 400


def test_mlflows_client_lists_and_downloads_from_the_bucket(
    logged: LoggedInBucket, tmp_path: Path
) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(logged.url)
    try:
        client = MlflowClient(logged.url)
        top = [(f.path, f.is_dir) for f in client.list_artifacts(logged.run_id)]
        inside = [(f.path, f.file_size) for f in client.list_artifacts(logged.run_id, "eval")]
        back = client.download_artifacts(logged.run_id, "", str(tmp_path / "back"))
    finally:
        reset_mlflow()
    assert top == [("eval", True), ("report.html", False)]
    assert inside == [("eval/losses.csv", len(CSV))]
    assert (Path(back) / "eval" / "losses.csv").read_text() == CSV
    assert (Path(back) / "report.html").read_text() == HTML
