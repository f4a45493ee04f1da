"""DuckDB: the schema, the journal and its ingestion, and queries. Knows nothing above it."""
