"""The server's side of team mode's write path: clients' journal bytes in, mirrors ingested.

``POST /nbtrack/store/v1/journals/{journal}/segments/{segment}?offset=N`` with whole NDJSON
lines (``Content-Type: application/x-ndjson``) writes them into the mirror at that offset and
answers ``{"held": bytes, "complete": bool, "stages": state}`` once they are on disk
(``store/mirrors.py``); an empty body only asks how far the mirror is. ``POST
.../journals/{journal}/end`` with ``{"dead": bool, "heartbeat_us": int}`` ends a journal.
``POST .../experiments/for-runs`` with ``{"name": ...}`` is the one synchronous write a new run
needs: its experiment, found or made under the store's lock (``experiment_for_runs``).
``stages`` is the store's stages marker, so a client learns of deleted runs from the answers it
gets anyway, not from a request per log call.

These routes are for nbtrack's own client, never a browser: like every store route they are
exempt from the UI's CSRF check and refuse what a page could make a browser send
(``machine.browser_refusal``), and they still pass the guard (Host, and the token off
loopback). Each takes exactly one content type.

Each write wakes one ingesting thread, which moves mirrors into the store within
``INGEST_DELAY_S`` — batched, as a client's flusher batches its own journal.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nbtrack.errors import InvalidValueError, NbtrackError, StoreError
from nbtrack.http.errors import JSON, error_body
from nbtrack.store import experiments, mirrors
from nbtrack.store.gateway import StoreInUse
from nbtrack.store.remote.calls import PREFIX
from nbtrack.store.remote.experiment_cache import experiment_to_json
from nbtrack.store.store import get_store
from nbtrack.tracking.validation import check_name
from nbtrack.web.mlflow_rest.artifacts import TooLarge
from nbtrack.web.mlflow_rest.routes import error_response
from nbtrack.web.store_api.machine import browser_refusal

log = logging.getLogger("nbtrack.server")

NDJSON = "application/x-ndjson"
# A client sends at most 4 MiB of lines per request.
MAX_BODY = 16 * 1024 * 1024
INGEST_DELAY_S = 0.05
PRUNE_EVERY_S = 3600.0


class MirrorIngester:
    """One daemon thread ingesting the store's mirrors shortly after each write, and pruning
    them (``mirrors.prune``) at the start and every ``PRUNE_EVERY_S``."""

    def __init__(self, store_path: Path, quiet_s: float = mirrors.DEFAULT_QUIET_S) -> None:
        self.store = get_store(store_path)
        self.quiet_s = quiet_s
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nbtrack-mirrors", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _prune(self) -> None:
        try:
            pruned = mirrors.prune(self.store.path, self.quiet_s)
        except OSError as exc:
            log.warning("nbtrack server: could not prune clients' mirrors: %s", exc)
            return
        if pruned.ended:
            log.info("nbtrack server: ended %d silent client(s)", len(pruned.ended))
            self._wake.set()

    def _loop(self) -> None:
        pause = INGEST_DELAY_S
        self._prune()
        pruned_at = time.monotonic()
        while True:
            if not self._wake.wait(timeout=PRUNE_EVERY_S):
                self._prune()
                pruned_at = time.monotonic()
                continue
            if time.monotonic() - pruned_at > PRUNE_EVERY_S:
                self._prune()
                pruned_at = time.monotonic()
            # Lines arriving from several clients meanwhile go in with one transaction.
            time.sleep(pause)
            self._wake.clear()
            try:
                self.store.flush(deadline_s=5.0, background=True)
                pause = INGEST_DELAY_S
            except StoreInUse:
                self._wake.set()  # a reader is ingesting; come back for what it missed
            except StoreError as exc:
                # The mirrors stay on disk; ingested by the next wake or the next read.
                pause = min(pause * 2, 5.0)
                self._wake.set()
                log.warning("nbtrack server: could not ingest clients' journals: %s", exc)


def journal_routes(store_path: Path, quiet_s: float = mirrors.DEFAULT_QUIET_S) -> list[BaseRoute]:
    ingester = MirrorIngester(store_path, quiet_s)
    stages = ingester.store.stages_state

    def answer(held: mirrors.Held) -> Response:
        body = {"held": held.bytes, "complete": held.complete, "stages": stages()}
        return Response(json.dumps(body), media_type=JSON)

    async def segment(request: Request) -> Response:
        try:
            _require_type(request, NDJSON)
            data = await _body(request)
            journal = request.path_params["journal"]
            number = request.path_params["segment"]
            offset = _offset(request.query_params.get("offset"))
            held = await run_in_threadpool(
                mirrors.receive, store_path, journal, number, offset, data
            )
        except Exception as exc:
            return _answer_error(exc)
        if data:
            ingester.wake()
        return answer(held)

    async def end(request: Request) -> Response:
        try:
            _require_type(request, JSON)
            fields = json.loads(await _body(request) or b"{}")
            if not isinstance(fields, dict) or not isinstance(fields.get("dead"), bool):
                raise InvalidValueError('the body must be {"dead": true|false, "heartbeat_us": N}')
            await run_in_threadpool(
                lambda: mirrors.end(
                    store_path,
                    request.path_params["journal"],
                    dead=fields["dead"],
                    heartbeat_us=fields.get("heartbeat_us"),  # type: ignore[arg-type]
                )
            )
        except (ValueError, NbtrackError) as exc:
            return _answer_error(exc if isinstance(exc, NbtrackError) else _not_json())
        except Exception as exc:
            return _answer_error(exc)
        ingester.wake()
        return answer(mirrors.Held(0, complete=True))

    async def experiment(request: Request) -> Response:
        try:
            _require_type(request, JSON)
            fields = json.loads(await _body(request) or b"{}")
            name = fields.get("name") if isinstance(fields, dict) else None
            if not isinstance(name, str):
                raise InvalidValueError('the body must be {"name": "<experiment name or id>"}')
            checked = check_name(name, "experiment")
            found = await run_in_threadpool(
                ingester.store.write, experiments.experiment_for_runs, checked
            )
        except ValueError as exc:
            return _answer_error(exc if isinstance(exc, NbtrackError) else _not_json())
        except Exception as exc:
            return _answer_error(exc)
        return Response(json.dumps(experiment_to_json(found)), media_type=JSON)

    return [
        Route(f"{PREFIX}/journals/{{journal}}/segments/{{segment:int}}", segment, methods=["POST"]),
        Route(f"{PREFIX}/journals/{{journal}}/end", end, methods=["POST"]),
        Route(f"{PREFIX}/experiments/for-runs", experiment, methods=["POST"]),
    ]


class Refused(InvalidValueError):
    """A request that looks like a browser's."""


def _answer_error(exc: Exception) -> Response:
    if isinstance(exc, Refused):
        return Response(error_body(403, str(exc)), 403, media_type=JSON)
    return error_response(exc)


def _not_json() -> InvalidValueError:
    return InvalidValueError("the request body is not JSON")


def _require_type(request: Request, expected: str) -> None:
    refusal = browser_refusal(request)
    if refusal is not None:
        raise Refused(refusal)
    given = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if given != expected:
        raise InvalidValueError(
            f"Content-Type {given or '(none)'!r} is not accepted here; send {expected}"
        )


async def _body(request: Request) -> bytes:
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY:
            raise TooLarge(f"the request body is over {MAX_BODY} bytes; send at most that much")
    return bytes(received)


def _offset(value: str | None) -> int:
    try:
        return int(value) if value is not None else -1
    except ValueError:
        raise InvalidValueError(f"offset {value!r} is not a byte offset: 0 or more") from None
