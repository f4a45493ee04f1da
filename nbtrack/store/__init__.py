"""DuckDB: the schema, the journal and its ingestion, and the reads and writes of experiments,
runs, the registry and search. Knows nothing above it."""
