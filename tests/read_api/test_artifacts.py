"""A run's artifacts: listed with their preview kind, served from the run's folder only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbtrack.read_api import routes
from tests.read_api.conftest import ask
from tests.web.runs_for_ui import Logged


def test_the_listing_has_every_file_with_its_kind(logged: Logged) -> None:
    files = {f["path"]: f["kind"] for f in ask(f"runs/{logged.showcase}/artifacts")["files"]}
    assert files == {
        "plots/confusion.png": "image",
        "eval/losses.csv": "table",
        "config.yaml": "data",
        "report.html": "frame",
        "nbtrack/session_history.py": "text",
    }


def test_a_csv_is_read_into_rows(logged: Logged) -> None:
    table = ask(f"runs/{logged.showcase}/artifacts/table", path="eval/losses.csv")
    assert table == {"columns": ["epoch", "loss"], "rows": [[0, 1.1], [1, 0.6]], "truncated": False}


def test_a_file_comes_with_a_sandbox_policy_and_no_sniffing(logged: Logged) -> None:
    answer = routes.answer("GET", f"runs/{logged.showcase}/artifacts/file", {"path": "report.html"})
    assert answer.path is not None and answer.path.name == "report.html"
    assert answer.headers["Content-Security-Policy"] == "sandbox"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_yaml_is_sent_as_plain_text(logged: Logged) -> None:
    answer = routes.answer("GET", f"runs/{logged.showcase}/artifacts/file", {"path": "config.yaml"})
    assert answer.media_type.startswith("text/plain")


@pytest.mark.parametrize(
    "path", ["../../../../etc/passwd", "/etc/passwd", "%2e%2e/%2e%2e/x", "plots/../../x", "a\\b"]
)
def test_a_path_leaving_the_run_folder_is_refused(logged: Logged, path: str) -> None:
    answer = routes.answer("GET", f"runs/{logged.showcase}/artifacts/file", {"path": path})
    assert answer.status in (400, 404) and answer.path is None


def test_a_link_out_of_the_run_folder_is_not_followed(logged: Logged, store_path: Path) -> None:
    folder = next(store_path.parent.glob(f"nbtrack-artifacts/*/{logged.showcase}"))
    os.symlink("/etc/passwd", folder / "passwd")
    answer = routes.answer("GET", f"runs/{logged.showcase}/artifacts/file", {"path": "passwd"})
    assert answer.status in (400, 404) and answer.path is None
    listed = [f["path"] for f in ask(f"runs/{logged.showcase}/artifacts")["files"]]
    assert "passwd" not in listed


def test_a_parquet_file_is_read_into_rows(store_path: Path) -> None:
    import pandas as pd

    import nbtrack

    table = store_path.parent / "scores.parquet"
    pd.DataFrame({"fold": [1, 2, 3], "auc": [0.9, 0.8, float("nan")]}).to_parquet(table)
    with nbtrack.start_run() as run:
        nbtrack.log_artifact(str(table), "eval")
    data = ask(f"runs/{run.id}/artifacts/table", path="eval/scores.parquet")
    assert data["columns"] == ["fold", "auc"]
    assert data["rows"] == [[1, 0.9], [2, 0.8], [3, None]]


def test_a_table_preview_of_a_non_table_is_refused(logged: Logged) -> None:
    answer = routes.answer(
        "GET", f"runs/{logged.showcase}/artifacts/table", {"path": "report.html"}
    )
    assert answer.status == 400 and ".csv, .tsv or .parquet" in answer.data["error"]
