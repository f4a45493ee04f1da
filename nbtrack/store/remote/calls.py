"""A store operation run by the `nbtrack server` instead of on a local DuckDB file.

``call(connection, "read", runs.get_run, run_id)`` is ``store.read(runs.get_run, run_id)`` on
the server's store: the operation goes by its name (``operations.operation_name``), its
arguments and result through ``codec``, and an nbtrack error the operation raised there is
raised here as the same class with the same message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from nbtrack.errors import ServerError
from nbtrack.store.remote import codec
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.store.remote.operations import Kind, operation_name

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# Where the server answers store calls, below its URL.
PREFIX: Final = "/nbtrack/store/v1"
CALL_PATH: Final = f"{PREFIX}/call"
SQL_PATH: Final = f"{PREFIX}/sql"
ARROW_STREAM: Final = "application/vnd.apache.arrow.stream"
# Beyond a query's own time limit, how long the answer may take to arrive.
_TRANSFER_S: Final = 30.0
JSON_HEADERS: Final = {"Content-Type": "application/json"}


def call(
    connection: ServerConnection,
    kind: Kind,
    operation: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> Any:
    """Run ``operation(con, *args, **kwargs)`` through the server's ``Store.<kind>``."""
    body = request_body(kind, operation_name(operation), args, kwargs)
    answer = connection.request("POST", CALL_PATH, body, JSON_HEADERS)
    try:
        document = json.loads(answer.body)
        return codec.decode(document["result"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ServerError(
            f"the server {connection.url} answered a store call with something that is not "
            f"a result ({exc}); is it an nbtrack server of the same version?"
        ) from None


def sql(connection: ServerConnection, query: str, timeout_s: float) -> pd.DataFrame:
    """``nbtrack.sql(query)`` run by the server (its limits apply), as a DataFrame built
    from the Arrow stream it answers."""
    import pyarrow as pa

    body = json.dumps({"query": query, "timeout_s": timeout_s}).encode()
    headers = {**JSON_HEADERS, "Accept": ARROW_STREAM}
    response = connection.open("POST", SQL_PATH, body, headers, timeout_s + _TRANSFER_S)
    try:
        table = pa.ipc.open_stream(response).read_all()
        # Arrow stops at its end-of-stream mark; the chunked body's last, empty chunk would
        # otherwise be left on the kept-alive connection for the next answer to trip on.
        response.read()
    except (OSError, pa.ArrowInvalid) as exc:
        connection.close()
        raise ServerError(
            f"the server {connection.url} broke off the answer to an sql() query: {exc}"
        ) from None
    finally:
        response.close()
    return _as_duckdb_frames_it(table)


def _as_duckdb_frames_it(table: pa.Table) -> pd.DataFrame:
    # DuckDB's own conversion, so a column has the dtype sql() on a local store gives it (a
    # BIGINT with NULLs is Int64 there, float64 through pyarrow's to_pandas).
    import duckdb

    with duckdb.connect() as con:
        frame: pd.DataFrame = con.from_arrow(table).df()
    return frame


def request_body(kind: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """The JSON a call sends: the kind, the operation's name, its arguments."""
    document = {
        "kind": kind,
        "operation": name,
        "args": [codec.encode(value) for value in args],
        "kwargs": {key: codec.encode(value) for key, value in kwargs.items()},
    }
    return json.dumps(document, allow_nan=False, separators=(",", ":")).encode()
