-- The nbtrack store, schema version 8 (a new store is created from this file; an older one is
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

-- An experiment's tags (version 8): the last value set wins.
CREATE TABLE experiment_tags (
    experiment_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL
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

-- When a run was active (version 6): one span from its start to its end, and one more each time
-- it is reopened. A run's duration is the sum of its spans, so a run reopened later to log a
-- model does not count the hours in between. end_time is NULL while the span is open.
CREATE TABLE run_spans (
    run_id VARCHAR NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT
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

-- One row per (run, key): the latest point as MLflow defines it (highest step, then latest
-- timestamp, then highest seq), and a summary of the whole history. last_seq is the key's
-- highest seq, whichever point holds it (version 6: before, the latest point was the last
-- logged one).
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

CREATE TABLE tags (
    run_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    logged_at BIGINT NOT NULL
);

-- How much of each journal segment the store holds: ingestion resumes after ``bytes``, so a
-- line is never taken twice, whichever process ingests it (bytes: version 5; NULL = all).
CREATE TABLE journal_segments (
    journal VARCHAR NOT NULL,
    segment BIGINT NOT NULL,
    records BIGINT NOT NULL,
    ingested_at BIGINT NOT NULL,
    bytes BIGINT
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

-- The model registry (version 3). Version numbers and aliases are written synchronously under
-- the file lock, in one transaction each; a version's files are the registry's own copy, with
-- their hashes kept here, never beside the files.
CREATE TABLE registered_models (
    name VARCHAR NOT NULL,
    description VARCHAR,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE model_versions (
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

CREATE TABLE model_version_files (
    name VARCHAR NOT NULL,
    version BIGINT NOT NULL,
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL
);

CREATE TABLE aliases (
    name VARCHAR NOT NULL,
    alias VARCHAR NOT NULL,
    version BIGINT NOT NULL
);

-- Every alias move: version NULL when the alias was deleted, previous_version NULL when new.
CREATE TABLE alias_history (
    name VARCHAR NOT NULL,
    alias VARCHAR NOT NULL,
    version BIGINT,
    previous_version BIGINT,
    changed_at BIGINT NOT NULL,
    changed_by VARCHAR NOT NULL
);

-- Tags of registered models and of their versions (version 4).
CREATE TABLE registered_model_tags (
    name VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);

CREATE TABLE model_version_tags (
    name VARCHAR NOT NULL,
    version BIGINT NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);
