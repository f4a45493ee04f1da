"""``POST /nbtrack/store/v1/sql``: ``nbtrack.sql()`` run by the server, answered as Arrow.

The body is ``{"query": "...", "timeout_s": 10}``. The query runs as ``sql()`` runs it on a
local store (read-only, no file access, stopped at its time limit), with the server's own
limits on top: the time limit is the client's or the server's, whichever is less, and an
answer over the server's row limit is refused with an error saying so — never cut short. The
store is read, and its connection closed, before the first byte is sent: a slow client never
holds the store. The rows then go out as an Arrow IPC stream, a batch at a time.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from nbtrack.errors import InvalidValueError
from nbtrack.http.errors import JSON, error_body
from nbtrack.store.remote.calls import ARROW_STREAM, SQL_PATH
from nbtrack.store.search import SQL_MAX_TIMEOUT_S
from nbtrack.store.sql_arrow import BATCH_ROWS
from nbtrack.store.store import Store
from nbtrack.web.store_api.calls import read_body, store_error_response
from nbtrack.web.store_api.machine import browser_refusal

if TYPE_CHECKING:
    import pyarrow as pa

# A query text is small; this is far above any a person writes.
MAX_QUERY_BODY = 1024 * 1024


@dataclass(frozen=True)
class SqlLimits:
    """What one ``sql()`` through this server may take: seconds, and rows answered."""

    max_timeout_s: float = SQL_MAX_TIMEOUT_S
    max_rows: int = 1_000_000


DEFAULT_SQL_LIMITS: Final = SqlLimits()


def sql_limits(max_rows: int, max_timeout_s: float | None) -> SqlLimits:
    """Limits from ``nbtrack server``'s options, checked: InvalidValueError naming the bad one."""
    if max_rows < 1:
        raise InvalidValueError(f"--sql-max-rows must be 1 or more, got {max_rows}")
    if max_timeout_s is None:
        return SqlLimits(max_rows=max_rows)
    if not 0 < max_timeout_s <= SQL_MAX_TIMEOUT_S:
        raise InvalidValueError(
            f"--sql-timeout must be above 0 and at most {SQL_MAX_TIMEOUT_S:g} seconds (writes "
            f"wait while a query runs), got {max_timeout_s:g}"
        )
    return SqlLimits(max_timeout_s, max_rows)


def sql_route(store: Store, limits: SqlLimits) -> Route:
    """The route that runs clients' ``sql()`` on ``store`` within ``limits``."""

    async def endpoint(request: Request) -> Response:
        refusal = browser_refusal(request)
        if refusal is not None:
            return Response(error_body(403, refusal), 403, media_type=JSON)
        try:
            query, timeout_s = _parse(await read_body(request, MAX_QUERY_BODY))
            table = await run_in_threadpool(_run, store, query, timeout_s, limits)
        except Exception as exc:
            return store_error_response(exc)
        return StreamingResponse(
            arrow_stream(table),
            media_type=ARROW_STREAM,
            headers={"x-nbtrack-rows": str(table.num_rows)},
        )

    return Route(SQL_PATH, endpoint, methods=["POST"])


def _parse(body: bytes) -> tuple[str, float]:
    try:
        document: Any = json.loads(body)
    except ValueError:
        raise InvalidValueError("the body of an sql call is not JSON") from None
    if not isinstance(document, dict) or set(document) != {"query", "timeout_s"}:
        raise InvalidValueError("an sql call is a JSON object with exactly query and timeout_s")
    query, timeout_s = document["query"], document["timeout_s"]
    if not isinstance(query, str) or not query.strip():
        raise InvalidValueError(f"sql() takes a non-empty SQL string, got {query!r}")
    if (
        isinstance(timeout_s, bool)
        or not isinstance(timeout_s, numbers.Real)
        or not float(timeout_s) > 0
    ):
        raise InvalidValueError(
            f"sql()'s timeout is a number of seconds above 0, got {timeout_s!r}"
        )
    return query, float(timeout_s)


def _run(store: Store, query: str, timeout_s: float, limits: SqlLimits) -> pa.Table:
    allowed = min(timeout_s, limits.max_timeout_s)
    try:
        return store.sql_arrow(query, allowed, limits.max_rows)
    except InvalidValueError as exc:
        if allowed < timeout_s and "time limit" in str(exc):
            raise InvalidValueError(
                f"{exc} (this server allows a query at most {limits.max_timeout_s:g} s: "
                "nbtrack server --sql-timeout)"
            ) from None
        raise


def arrow_stream(table: pa.Table) -> Iterator[bytes]:
    """``table`` as the bytes of one Arrow IPC stream: the schema, then a batch at a time."""
    import pyarrow as pa

    sink = _Chunks()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        yield sink.take()
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            writer.write_batch(batch)
            yield sink.take()
    yield sink.take()


class _Chunks:
    """A file-like sink whose written bytes are taken out piece by piece."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        taken, self._parts = b"".join(self._parts), []
        return taken
