"""A batch of journal records applied to the tables, inside the caller's transaction.

The records of several files — whole segments, or chunks of live ones copied aside — are read by
DuckDB's own ``read_json`` into one temp table, tagged with the journal and segment each came
from, and each kind of record is applied with one statement: runs started and ended (and the
spans they were active), params (write-once), tags (last wins), metrics and their latest values,
and the payload hashes of models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbtrack.entities import KILLED, RUNNING
from nbtrack.store.records import COLUMNS

if TYPE_CHECKING:
    import duckdb

_BATCH = "nbtrack_batch"
_FILES = "nbtrack_batch_files"

# What each kind of record does, as fixed SQL over the batch table: no value is ever written
# into these texts. The statements of a batch run in one call, which matters in a process
# whose main thread logs in a tight loop: every return from DuckDB waits for the GIL.
_STARTED_RUNS = f"""
    INSERT INTO runs (run_id, experiment_id, run_name, status, start_time, end_time,
        last_seen, lifecycle_stage, parent_run_id, source, source_name, git_commit, user_id,
        host, owner, owner_pid, error, artifact_uri)
    SELECT r, j->>'$.experiment_id', j->>'$.name', 'RUNNING', t, NULL, t, 'active',
           j->>'$.parent_run_id', j->>'$.source', j->>'$.source_name', j->>'$.git_commit',
           j->>'$.user', j->>'$.host', journal,
           CAST(j->>'$.owner_pid' AS BIGINT), NULL, j->>'$.artifact_uri'
    FROM {_BATCH} AS b
    WHERE k = 'start' AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.run_id = b.r);
    INSERT INTO run_spans
    SELECT r, t, NULL FROM {_BATCH} AS b
    WHERE k = 'start' AND NOT EXISTS (SELECT 1 FROM run_spans s WHERE s.run_id = b.r)
"""  # noqa: S608

# An end counts only from the journal that owns the run: once another process has reopened
# it, a late end from the old owner must not close it. It closes the run's open span (the
# start's, or the latest reopen's); a span already closed stays as it is, so an end ingested
# twice changes nothing.
_RUN_ENDS = f"""
    CREATE OR REPLACE TEMP TABLE nbtrack_ends AS
    SELECT r, journal,
           arg_max(x, (journal, segment, q)) AS x, arg_max(t, (journal, segment, q)) AS t,
           arg_max(j, (journal, segment, q)) AS j
    FROM {_BATCH} WHERE k = 'end' GROUP BY ALL;
    UPDATE run_spans SET end_time = greatest(e.t, run_spans.start_time)
    FROM (SELECT e.r, e.t FROM nbtrack_ends e JOIN runs ON runs.run_id = e.r
          AND runs.owner = e.journal) AS e
    WHERE run_spans.run_id = e.r AND run_spans.end_time IS NULL;
    UPDATE runs SET status = e.x, end_time = e.t, error = e.j,
           last_seen = greatest(runs.last_seen, e.t)
    FROM nbtrack_ends AS e
    WHERE runs.run_id = e.r AND runs.owner = e.journal;
    DROP TABLE nbtrack_ends
"""  # noqa: S608

# Params are write-once: the first value wins, here as at the call.
_PARAMS = f"""
    INSERT INTO params
    SELECT r, n, x, j, json_type(j), t FROM (
        SELECT *, row_number() OVER (PARTITION BY r, n ORDER BY journal, segment, q) AS nth
        FROM {_BATCH} WHERE k = 'p'
    ) AS b
    WHERE nth = 1
      AND NOT EXISTS (SELECT 1 FROM params p WHERE p.run_id = b.r AND p.key = b.n)
"""  # noqa: S608

_TAGS = f"""
    CREATE OR REPLACE TEMP TABLE nbtrack_new_tags AS
    SELECT r AS run_id, n AS key, arg_max(x, (journal, segment, q)) AS value,
           max(t) AS logged_at
    FROM {_BATCH} WHERE k = 'g' GROUP BY r, n;
    DELETE FROM tags WHERE EXISTS (SELECT 1 FROM nbtrack_new_tags n
        WHERE n.run_id = tags.run_id AND n.key = tags.key);
    INSERT INTO tags SELECT run_id, key, value, logged_at FROM nbtrack_new_tags;
    DROP TABLE nbtrack_new_tags
"""  # noqa: S608

# latest_metrics keeps one row per (run, key): the point MLflow calls the latest, the one with
# the highest step, then the latest time, then (where MLflow would compare values) the one
# logged last; plus min, max (NaN left out), count, and the highest sequence number of the
# key, from which a process that reopens the run goes on numbering.
_METRICS = f"""
    INSERT INTO metrics SELECT r, n, v, s, t, q FROM {_BATCH} WHERE k = 'm';
    CREATE OR REPLACE TEMP TABLE nbtrack_new_latest AS
    WITH batch AS (
        SELECT r AS run_id, n AS key,
               arg_max(v, (s, t, q)) AS value, max((s, t, q)) AS point,
               min(v) FILTER (WHERE NOT isnan(v)) AS min_value,
               max(v) FILTER (WHERE NOT isnan(v)) AS max_value,
               count(*) AS count, max(q) AS last_seq
        FROM {_BATCH} WHERE k = 'm' GROUP BY r, n
    ), compared AS (
        SELECT b.*, l.value AS l_value, l.step, l.timestamp, l.seq, l.min_value AS l_min,
               l.max_value AS l_max, l.count AS l_count, l.last_seq AS l_last_seq,
               l.run_id IS NULL OR b.point > (l.step, l.timestamp, l.seq) AS newer
        FROM batch b LEFT JOIN latest_metrics l ON l.run_id = b.run_id AND l.key = b.key
    )
    SELECT run_id, key,
           CASE WHEN newer THEN value ELSE l_value END,
           CASE WHEN newer THEN point[1] ELSE step END,
           CASE WHEN newer THEN point[2] ELSE timestamp END,
           CASE WHEN newer THEN point[3] ELSE seq END,
           least(min_value, l_min),
           greatest(max_value, l_max),
           count + coalesce(l_count, 0),
           greatest(last_seq, l_last_seq)
    FROM compared;
    DELETE FROM latest_metrics WHERE EXISTS (SELECT 1 FROM nbtrack_new_latest n
        WHERE n.run_id = latest_metrics.run_id AND n.key = latest_metrics.key);
    INSERT INTO latest_metrics SELECT * FROM nbtrack_new_latest;
    DROP TABLE nbtrack_new_latest
"""  # noqa: S608

# A model's payload hashes: the latest record per (run, path) replaces what the store held for
# that path, as a synchronous write did; a run the store does not hold gets none.
_MODELS = f"""
    CREATE OR REPLACE TEMP TABLE nbtrack_new_models AS
    SELECT r, n, arg_max(x, (journal, segment, q)) AS x, arg_max(j, (journal, segment, q)) AS j,
           arg_max(t, (journal, segment, q)) AS t
    FROM {_BATCH} AS b WHERE k = 'model' AND EXISTS (SELECT 1 FROM runs WHERE run_id = b.r)
    GROUP BY r, n;
    DELETE FROM model_payloads WHERE EXISTS (SELECT 1 FROM nbtrack_new_models m
        WHERE m.r = model_payloads.run_id AND m.n = model_payloads.artifact_path);
    INSERT INTO model_payloads
    SELECT r, n, x, unnest(CAST(j->'$.files' AS VARCHAR[])),
           unnest(CAST(j->'$.sha256' AS VARCHAR[])), t
    FROM nbtrack_new_models;
    DROP TABLE nbtrack_new_models
"""  # noqa: S608

_LAST_SEEN = f"""
    UPDATE runs SET last_seen = greatest(runs.last_seen, b.t)
    FROM (SELECT r, max(t) AS t FROM {_BATCH} GROUP BY r) AS b WHERE runs.run_id = b.r
"""  # noqa: S608

# In this order: a run's start before its end, params, tags, metrics and models.
_BY_KIND = (("start", _STARTED_RUNS), ("end", _RUN_ENDS), ("p", _PARAMS), ("g", _TAGS),
            ("m", _METRICS), ("model", _MODELS))  # fmt: skip


def load(con: duckdb.DuckDBPyConnection, files: dict[str, tuple[str, int]]) -> None:
    """Read every line of ``files`` (path -> journal, segment) into the batch table. A line
    that is not a record raises ``duckdb.InvalidInputException``: the journal's fault."""
    names = list(files)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_FILES} AS SELECT unnest(?) AS filename, "
        "unnest(?) AS journal, unnest(?) AS segment",
        [names, [journal for journal, _ in files.values()], [n for _, n in files.values()]],
    )
    columns = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS.items()) + "}"
    # The journal and segment of each line come from the table above, not from the file name:
    # a chunk of a live segment is read from a copy.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_BATCH} AS SELECT b.*, f.journal, f.segment "  # noqa: S608
        f"FROM read_json(?, format = 'newline_delimited', columns = {columns}, "
        f"filename = true) AS b JOIN {_FILES} AS f USING (filename)",
        [names],
    )


def apply(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Apply the loaded batch to the tables; the records per file. On an error nothing more
    runs here: the caller rolls back, which takes the temp tables with it, and the error
    seen is the one that happened."""
    found = con.execute(f"SELECT k, filename, count(*) FROM {_BATCH} GROUP BY ALL").fetchall()  # noqa: S608
    kinds = {kind for kind, _, _ in found}
    # Each statement costs a little even on no rows: run only those the batch needs.
    statements = [sql for kind, sql in _BY_KIND if kind in kinds]
    con.execute(
        ";\n".join([*statements, _LAST_SEEN, f"DROP TABLE {_BATCH}", f"DROP TABLE {_FILES}"])
    )
    counts: dict[str, int] = {}
    for _, filename, count in found:
        counts[filename] = counts.get(filename, 0) + count
    return counts


def mark_killed(con: duckdb.DuckDBPyConnection, journal: str, heartbeat_us: int) -> int:
    """End the RUNNING runs of a dead journal as KILLED at their last sign of life."""
    rows = con.execute(
        "UPDATE runs SET status = ?, end_time = greatest(last_seen, ?) "
        "WHERE owner = ? AND status = ? RETURNING run_id, end_time",
        [KILLED, heartbeat_us, journal, RUNNING],
    ).fetchall()
    close_spans(con, rows)
    return len(rows)


def close_spans(con: duckdb.DuckDBPyConnection, ends: list[tuple[str, int]]) -> None:
    """Close the open span of each run in ``ends`` (run id, end time): the run was ended by
    someone other than its owner (found dead, or ended by ``nbtrack doctor``)."""
    if not ends:
        return
    con.execute(
        "UPDATE run_spans SET end_time = greatest(k.t, run_spans.start_time) "
        "FROM (SELECT unnest(?) AS r, unnest(?) AS t) AS k "
        "WHERE run_spans.run_id = k.r AND run_spans.end_time IS NULL",
        [[run_id for run_id, _ in ends], [at for _, at in ends]],
    )
