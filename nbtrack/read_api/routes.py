"""Which function answers which request below ``/nbtrack/api/``: the one table both hosts use.

A host passes the method, the path after the prefix (decoded), the query as a mapping and
the JSON body; it gets an ``Answer`` back (data to send as JSON, or a file to stream) and
turns it into its own response. Errors become a status and a one-line message, never a
traceback.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidValueError, NbtrackError, NotFoundError, StoreBusyError
from nbtrack.read_api import artifacts, compare, queries, registry, runs, watch

log = logging.getLogger("nbtrack.ui")

PREFIX = "/nbtrack/api/"
Body = Mapping[str, Any]
Handler = Callable[[re.Match[str], queries.Query, Body], "Answer | dict[str, Any]"]

# Answers that read the store are computed one at a time: DuckDB is opened briefly for each,
# and a second reader at the same moment would only wait for the first one's lock.
_reading = threading.Lock()
_cache = watch.AnswerCache()


@dataclass(frozen=True)
class Answer:
    """What to send: ``data`` as JSON, or a file as ``media_type``: the local file ``path``,
    or the ``chunks`` of one kept elsewhere (object storage)."""

    status: int = 200
    data: Any = None
    path: Path | None = None
    chunks: Iterator[bytes] | None = None
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def answer(method: str, path: str, query: queries.Query, body: Body | None = None) -> Answer:
    """The answer to ``method path?query`` (``path`` relative to ``PREFIX``)."""
    for verb, pattern, handler, cached in _ROUTES:
        found = pattern.fullmatch(path.strip("/"))
        if found is None or verb != method:
            continue
        try:
            return _run(handler, found, query, body or {}, cached)
        except NotFoundError as exc:
            return _error(404, str(exc))
        except InvalidValueError as exc:
            return _error(400, str(exc))
        except StoreBusyError as exc:
            return _error(503, str(exc))
        except NbtrackError as exc:
            return _error(500, str(exc))
        except Exception:
            log.exception("nbtrack ui: %s %s failed", method, path)
            return _error(500, "the answer could not be made; the server's log has the reason")
    if any(pattern.fullmatch(path.strip("/")) for _, pattern, _, _ in _ROUTES):
        return _error(405, f"{method} is not accepted here")
    return _error(404, f"no API endpoint {PREFIX}{path.strip('/')}")


def _run(
    handler: Handler, found: re.Match[str], query: queries.Query, body: Body, cached: bool
) -> Answer:
    def compute() -> Answer:
        with _reading:
            made = handler(found, query, body)
        return made if isinstance(made, Answer) else Answer(data=made)

    if not cached:
        return compute()
    key = (found.re.pattern, found.groups(), tuple(sorted(query.items())))
    return _cache.get(key, compute)


def clear_cache() -> None:
    """Forget every cached answer (a store switched with ``set_tracking_uri``)."""
    _cache.clear()
    runs.clear_cache()


def _error(status: int, message: str) -> Answer:
    return Answer(status=status, data={"error": message})


def _file(found: re.Match[str], query: queries.Query, body: Body) -> Answer:
    file = artifacts.artifact_file(found["run"], query)
    headers = dict(artifacts.FILE_HEADERS)
    local = file.local_path
    if local is not None:
        return Answer(path=local, media_type=file.media_type, headers=headers)
    return Answer(chunks=file.chunks(), media_type=file.media_type, headers=headers)


def _version(found: re.Match[str], query: queries.Query, body: Body) -> dict[str, Any]:
    return {"version": watch.version()}


_RUN = r"(?P<run>[0-9a-f]{32})"
_NAME = r"(?P<name>[^/]+)"
Route = tuple[str, re.Pattern[str], Handler, bool]


def _route(verb: str, pattern: str, handler: Handler, cached: bool = True) -> Route:
    return verb, re.compile(pattern), handler, cached


_ROUTES: list[Route] = [
    _route("GET", "version", _version, cached=False),
    _route("GET", "experiments", lambda m, q, b: runs.experiments(q)),
    _route("GET", "runs", lambda m, q, b: runs.runs_page(q)),
    _route("GET", "columns", lambda m, q, b: runs.columns(q)),
    _route("GET", f"runs/{_RUN}", lambda m, q, b: runs.run(m["run"])),
    # Files arrive without the store's markers moving (on a server, after the lines that made
    # their run): what lists or reads them is never cached by marker state.
    _route("GET", f"runs/{_RUN}/artifacts", lambda m, q, b: artifacts.listing(m["run"]), False),
    _route("GET", f"runs/{_RUN}/artifacts/file", _file, cached=False),
    _route(
        "GET", f"runs/{_RUN}/artifacts/table", lambda m, q, b: artifacts.table(m["run"], q), False
    ),
    _route("GET", "history", lambda m, q, b: runs.history(q)),
    _route("GET", "compare", lambda m, q, b: compare.compare(q)),
    _route("GET", "models", lambda m, q, b: registry.models()),
    _route("GET", f"models/{_NAME}", lambda m, q, b: registry.model(m["name"])),
    _route(
        "POST",
        f"models/{_NAME}/aliases",
        lambda m, q, b: registry.set_alias(m["name"], b),
        cached=False,
    ),
    _route(
        "DELETE",
        f"models/{_NAME}/aliases/(?P<alias>[^/]+)",
        lambda m, q, b: registry.delete_alias(m["name"], m["alias"]),
        cached=False,
    ),
]
