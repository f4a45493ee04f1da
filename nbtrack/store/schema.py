"""The versioned schema: create it in a new store, migrate an older one, refuse a newer one."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from nbtrack.errors import SchemaVersionError, StoreCorruptError

if TYPE_CHECKING:
    import duckdb

SCHEMA_VERSION = 8
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
ARTIFACTS_FOLDER = "nbtrack-artifacts"

# version -> statements that bring a store at that version to version + 1
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE model_payloads (
        run_id VARCHAR NOT NULL,
        artifact_path VARCHAR NOT NULL,
        model_uuid VARCHAR NOT NULL,
        file VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        saved_at BIGINT NOT NULL
    );
    """,
    # IF NOT EXISTS: a store re-labelled as an older version by hand may have them already.
    2: """
    CREATE TABLE IF NOT EXISTS registered_models (
        name VARCHAR NOT NULL,
        description VARCHAR,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    );

    CREATE TABLE IF NOT EXISTS model_versions (
        name VARCHAR NOT NULL,
        version BIGINT NOT NULL,
        run_id VARCHAR,
        -- the model URI it was registered from
        source VARCHAR NOT NULL,
        -- the registry's own copy, relative to the folder of the store file
        storage_path VARCHAR NOT NULL,
        -- READY or ARCHIVED
        status VARCHAR NOT NULL,
        description VARCHAR,
        created_at BIGINT NOT NULL
    );

    CREATE TABLE IF NOT EXISTS model_version_files (
        name VARCHAR NOT NULL,
        version BIGINT NOT NULL,
        file VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL
    );

    CREATE TABLE IF NOT EXISTS aliases (
        name VARCHAR NOT NULL,
        alias VARCHAR NOT NULL,
        version BIGINT NOT NULL
    );

    CREATE TABLE IF NOT EXISTS alias_history (
        name VARCHAR NOT NULL,
        alias VARCHAR NOT NULL,
        version BIGINT,
        previous_version BIGINT,
        changed_at BIGINT NOT NULL,
        changed_by VARCHAR NOT NULL
    );
    """,
    3: """
    CREATE TABLE IF NOT EXISTS registered_model_tags (
        name VARCHAR NOT NULL,
        key VARCHAR NOT NULL,
        value VARCHAR NOT NULL
    );

    CREATE TABLE IF NOT EXISTS model_version_tags (
        name VARCHAR NOT NULL,
        version BIGINT NOT NULL,
        key VARCHAR NOT NULL,
        value VARCHAR NOT NULL
    );
    """,
    # Readers ingest other processes' live segments line by line: the store counts the bytes
    # it holds of each segment. NULL: a segment ingested whole before version 5.
    4: """
    ALTER TABLE journal_segments ADD COLUMN IF NOT EXISTS bytes BIGINT;
    """,
    # The latest value of a metric is MLflow's: the point at the highest step (then the latest
    # time, then the last logged), no longer the last logged. Every row is computed again from
    # the full history, which ``metrics`` holds; last_seq keeps the numbering a reopened run
    # continues from. Dropped and made anew: a store re-labelled by hand may have either shape.
    5: """
    DROP TABLE IF EXISTS latest_metrics;
    CREATE TABLE latest_metrics (
        run_id VARCHAR NOT NULL,
        key VARCHAR NOT NULL,
        value DOUBLE NOT NULL,
        step BIGINT NOT NULL,
        timestamp BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        min_value DOUBLE,
        max_value DOUBLE,
        count BIGINT NOT NULL,
        last_seq BIGINT NOT NULL
    );
    INSERT INTO latest_metrics
    SELECT run_id, key, arg_max(value, (step, timestamp, seq)),
           max((step, timestamp, seq))[1], max((step, timestamp, seq))[2],
           max((step, timestamp, seq))[3],
           min(value) FILTER (WHERE NOT isnan(value)), max(value) FILTER (WHERE NOT isnan(value)),
           count(*), max(seq)
    FROM metrics GROUP BY run_id, key;
    """,
    # A run's duration is the sum of the spans it was active. Older stores knew one span per
    # run, from its first start to its last end: each run gets that span, open if it runs.
    6: """
    CREATE TABLE IF NOT EXISTS run_spans (
        run_id VARCHAR NOT NULL,
        start_time BIGINT NOT NULL,
        end_time BIGINT
    );
    INSERT INTO run_spans
    SELECT run_id, start_time, CASE WHEN status = 'RUNNING' THEN NULL ELSE end_time END
    FROM runs WHERE NOT EXISTS (SELECT 1 FROM run_spans s WHERE s.run_id = runs.run_id);
    """,
    # Experiments have tags, as MLflow's do (set through MLflow's client).
    7: """
    CREATE TABLE IF NOT EXISTS experiment_tags (
        experiment_id VARCHAR NOT NULL,
        key VARCHAR NOT NULL,
        value VARCHAR NOT NULL
    );
    """,
}


def schema_sql() -> str:
    return resources.files("nbtrack.store").joinpath("schema.sql").read_text(encoding="utf-8")


def stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The schema version written in the store, or None for a store with no nbtrack tables."""
    import duckdb

    try:
        # The common case in one cheap query; the catalogue is read only when it fails.
        row = con.execute("SELECT value FROM nbtrack_meta WHERE key = 'schema_version'").fetchone()
        if row is not None:
            return int(row[0])
    except duckdb.CatalogException:
        pass
    tables = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = 'main'"
        ).fetchall()
    }
    if "nbtrack_meta" not in tables:
        if tables:
            raise StoreCorruptError(
                "this DuckDB file holds tables but no nbtrack_meta: it is not an nbtrack store "
                f"(tables found: {', '.join(sorted(tables)[:5])})"
            )
        return None
    row = con.execute("SELECT value FROM nbtrack_meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise StoreCorruptError("nbtrack_meta has no schema_version: the store is damaged")
    return int(row[0])


def check_readable(con: duckdb.DuckDBPyConnection, path: Path) -> int | None:
    """Refuse a store written by a newer schema; return the stored version."""
    version = stored_version(con)
    if version is not None and version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path} was written by a newer nbtrack (schema {version}); this nbtrack reads "
            f"schema {SCHEMA_VERSION} at most. Upgrade nbtrack: the store was not modified."
        )
    return version


def ensure_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Create the schema in a new store, or migrate an older one, in one transaction."""
    version = check_readable(con, path)
    if version == SCHEMA_VERSION:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        if version is None:
            _create(con)
        else:
            while version < SCHEMA_VERSION:
                con.execute(MIGRATIONS[version])
                version += 1
            con.execute(
                "UPDATE nbtrack_meta SET value = ? WHERE key = 'schema_version'",
                [str(SCHEMA_VERSION)],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _create(con: duckdb.DuckDBPyConnection) -> None:
    now = time.time_ns() // 1000
    con.execute(schema_sql())
    con.execute(
        "INSERT INTO nbtrack_meta VALUES ('schema_version', ?), ('created_at', ?)",
        [str(SCHEMA_VERSION), str(now)],
    )
    con.execute(
        "INSERT INTO experiments VALUES (?, ?, 'active', ?, ?, ?)",
        [
            DEFAULT_EXPERIMENT_ID,
            DEFAULT_EXPERIMENT_NAME,
            f"{ARTIFACTS_FOLDER}/{DEFAULT_EXPERIMENT_ID}",
            now,
            now,
        ],
    )
