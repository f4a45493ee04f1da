-- The nbtrack store, schema version 2 (a new store is created from this file; an older one is
-- brought up to date by the migrations in schema.py).
-- Times are BIGINT microseconds since the epoch (UTC): DuckDB's TIMESTAMPTZ makes pandas 3 warn
-- and needs pytz to fetch. No PRIMARY KEY or UNIQUE constraints: uniqueness is kept by the
-- writers under the file lock, and ingestion dedupes by journal segment, so the large tables
-- carry no index to maintain or replay.

CREATE TABLE nbtrack_meta (
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);

CREATE TABLE experiments (
    experiment_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    lifecycle_stage VARCHAR NOT NULL DEFAULT 'active',
    artifact_location VARCHAR NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE runs (
    run_id VARCHAR NOT NULL,
    experiment_id VARCHAR NOT NULL,
    run_name VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT,
    -- the newest record or heartbeat seen from the process that has the run open
    last_seen BIGINT NOT NULL,
    lifecycle_stage VARCHAR NOT NULL DEFAULT 'active',
    parent_run_id VARCHAR,
    source VARCHAR,
    source_name VARCHAR,
    git_commit VARCHAR,
    user_id VARCHAR,
    host VARCHAR,
    -- the journal of the process that has the run open; KILLED once that journal is dead
    owner VARCHAR,
    owner_pid BIGINT,
    error VARCHAR,
    -- relative to the folder of the store file
    artifact_uri VARCHAR NOT NULL
);

CREATE TABLE params (
    run_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    -- the value as text, as MLflow compares it (str() of the value)
    value VARCHAR NOT NULL,
    -- the value as logged, as JSON, and its JSON type (BIGINT, DOUBLE, VARCHAR, BOOLEAN, ...)
    value_json VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    logged_at BIGINT NOT NULL
);

CREATE TABLE metrics (
    run_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    step BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    -- per-run logging order: "latest" means highest seq, never "same millisecond, any row"
    seq BIGINT NOT NULL
);

CREATE TABLE latest_metrics (
    run_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    step BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    min_value DOUBLE,
    max_value DOUBLE,
    count BIGINT NOT NULL
);

CREATE TABLE tags (
    run_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    logged_at BIGINT NOT NULL
);

-- Journal segments already ingested: a replayed segment is skipped, never duplicated.
CREATE TABLE journal_segments (
    journal VARCHAR NOT NULL,
    segment BIGINT NOT NULL,
    records BIGINT NOT NULL,
    ingested_at BIGINT NOT NULL
);

-- The SHA-256 of every payload file of a saved model, recorded when it is saved: a model is
-- unpickled only after its files match (version 2).
CREATE TABLE model_payloads (
    run_id VARCHAR NOT NULL,
    artifact_path VARCHAR NOT NULL,
    model_uuid VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    saved_at BIGINT NOT NULL
);
