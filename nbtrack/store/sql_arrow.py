"""``sql()`` answered as Arrow within a row limit: what an `nbtrack server` sends a client.

The rows are read from DuckDB a batch at a time and counted as they come, so a query that
would return more than the limit is stopped there — its first rows are never sent as if they
were the whole answer — with an error that says so and how to narrow it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from nbtrack.errors import InvalidValueError
from nbtrack.store.search import run_sql_with

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

# Rows per Arrow batch read from DuckDB (and sent on).
BATCH_ROWS: Final = 65_536


def run_sql_arrow(
    con: duckdb.DuckDBPyConnection, query: str, timeout_s: float, max_rows: int
) -> pa.Table:
    """``query`` as ``run_sql`` runs it, as an Arrow table of at most ``max_rows`` rows."""
    return run_sql_with(con, query, timeout_s, lambda: _fetch(con, query, max_rows))


def _fetch(con: duckdb.DuckDBPyConnection, query: str, max_rows: int) -> pa.Table:
    import pyarrow as pa

    reader = con.execute(query).fetch_record_batch(BATCH_ROWS)
    batches = []
    rows = 0
    for batch in reader:
        rows += batch.num_rows
        if rows > max_rows:
            raise InvalidValueError(
                f"sql(): the query returns more than {max_rows:,} rows, the most this server "
                "sends (nbtrack server --sql-max-rows); add a LIMIT, filter or aggregate, "
                "or read the rows in pages (LIMIT ... OFFSET ...)"
            )
        batches.append(batch)
    return pa.Table.from_batches(batches, schema=reader.schema)
