"""A model's payload hashes travel in the journal with the run's other records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import nbtrack
from nbtrack.store import records
from tests.conftest import payload_of, raw_connection

# A process that logs a model and dies before anything could flush it: no atexit, no flusher.
KILLED_AFTER_LOGGING = """
import os, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
import nbtrack
X = np.arange(40, dtype=float).reshape(20, 2)
y = (X[:, 0] > 19).astype(int)
with nbtrack.start_run() as run:
    info = nbtrack.log_model(LogisticRegression().fit(X, y), "model")
print(info.model_uri, flush=True)
os._exit(0)
"""


def test_log_model_leaves_its_hashes_in_the_journal_not_the_store(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    with nbtrack.start_run() as run:
        info = nbtrack.log_model(LogisticRegression().fit(features, labels), "model")
        journal = run.store.journal
        closed, current = journal.segments()
        lines = [
            line for path in [*closed, current] if path for line in path.read_text().splitlines()
        ]
    record = next(line for line in lines if json.loads(line)["k"] == "model")
    assert records.is_complete(record.encode())
    assert json.loads(record)["x"] == info.model_uuid
    with raw_connection(store_path) as con:
        stored = con.execute(
            "SELECT file, sha256, model_uuid FROM model_payloads WHERE run_id = ?", [run.id]
        ).fetchall()
    files = {file for file, _, _ in stored}
    assert {"MLmodel", "model.skops", "requirements.txt"} <= files
    assert {uuid for _, _, uuid in stored} == {info.model_uuid}


def test_a_model_logged_by_a_process_killed_before_its_flush_loads_and_is_checked(
    store_path: Path, child_env: dict[str, str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_LOGGING],
        env=child_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    uri = done.stdout.strip()
    X = np.arange(40, dtype=float).reshape(20, 2)
    loaded = nbtrack.load_model(uri)
    assert list(loaded.predict(X)) == [0] * 10 + [1] * 10

    run_id = uri.split("/")[1]
    folder = Path(nbtrack.get_run(run_id).artifact_uri) / "model"
    payload = payload_of(folder)
    payload.write_bytes(payload.read_bytes() + b"\0")
    with pytest.raises(nbtrack.InvalidValueError, match="does not match the hash"):
        nbtrack.load_model(uri)


def test_a_model_saved_again_at_the_same_path_keeps_only_the_new_hashes(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    model = LogisticRegression().fit(features, labels)
    with nbtrack.start_run() as run:
        first = nbtrack.log_model(model, "model")
        folder = Path(run.artifact_dir) / "model"
        for path in sorted(folder.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        second = nbtrack.log_model(model, "model")
    assert first.model_uuid != second.model_uuid
    loaded = nbtrack.load_model(second.model_uri)
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
    with raw_connection(store_path) as con:
        uuids = con.execute(
            "SELECT DISTINCT model_uuid FROM model_payloads WHERE run_id = ?", [run.id]
        ).fetchall()
    assert uuids == [(second.model_uuid,)]
