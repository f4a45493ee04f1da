"""The SHA-256 of each payload file of a model saved under a run, kept so that loading the
model can check it has not changed."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from nbtrack.store.remote.operations import remote_operation
from nbtrack.store.runs import get_run

if TYPE_CHECKING:
    import duckdb


@remote_operation("write")
def record_model_payloads(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    artifact_path: str,
    model_uuid: str,
    payloads: dict[str, str],
) -> None:
    """Keep the SHA-256 of each payload file of a model saved under a run (replacing any
    earlier model saved at the same path)."""
    get_run(con, run_id)
    con.execute(
        "DELETE FROM model_payloads WHERE run_id = ? AND artifact_path = ?", [run_id, artifact_path]
    )
    now = time.time_ns() // 1000
    con.executemany(
        "INSERT INTO model_payloads VALUES (?, ?, ?, ?, ?, ?)",
        [
            [run_id, artifact_path, model_uuid, name, digest, now]
            for name, digest in payloads.items()
        ],
    )


@remote_operation("read")
def model_payloads(
    con: duckdb.DuckDBPyConnection, run_id: str, artifact_path: str
) -> dict[str, str]:
    """The recorded payload hashes of a run's model (empty if the store has no record)."""
    return dict(
        con.execute(
            "SELECT file, sha256 FROM model_payloads WHERE run_id = ? AND artifact_path = ?",
            [run_id, artifact_path],
        ).fetchall()
    )
