"""Tornado handlers that hand each request to ``read_api``: the lab's host adapter.

Every method is ``@tornado.web.authenticated``: Jupyter's token or login guards them, and its
XSRF check guards the changes (promote, aliases). What ``nbtrack ui`` adds for itself (Host
check, its own token cookie) is Jupyter's job here. Answers that may open DuckDB run in a
worker thread; the long-poll only stats marker files, on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join

from nbtrack.errors import InvalidValueError
from nbtrack.jupyter.active import active_run
from nbtrack.read_api import pages, routes, watch

MAX_BODY = 64 * 1024
# A long-poll answers "unchanged" after this long: proxies drop quiet requests at 30-60 s.
POLL_TIMEOUT_S = 25.0
POLL_INTERVAL_S = 0.1
FILE_CHUNK = 256 * 1024


def handlers(base_url: str) -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    """The routes, below ``base_url``: the same paths as ``nbtrack ui`` serves at ``/``."""
    return [
        (url_path_join(base_url, "nbtrack/api/changes"), ChangesHandler),
        (url_path_join(base_url, "nbtrack/lab/active"), ActiveRunHandler),
        (url_path_join(base_url, "nbtrack/api/(.*)"), ApiHandler),
        (url_path_join(base_url, "nbtrack/ui/(.*)"), PageHandler),
    ]


class ApiHandler(APIHandler):
    """``/nbtrack/api/<path>``: ``routes.answer`` as JSON, or an artifact file."""

    @tornado.web.authenticated
    async def get(self, path: str) -> None:
        await self._answer("GET", path, {})

    @tornado.web.authenticated
    async def post(self, path: str) -> None:
        body = self._json_body()
        if body is not None:
            await self._answer("POST", path, body)

    @tornado.web.authenticated
    async def delete(self, path: str) -> None:
        await self._answer("DELETE", path, {})

    async def _answer(self, method: str, path: str, body: dict[str, Any]) -> None:
        query = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, routes.answer, method, path, query, body)
        for name, value in answer.headers.items():
            self.set_header(name, value)
        self.set_status(answer.status)
        if answer.path is None and answer.chunks is None:
            self.set_header("Cache-Control", "no-store")
            self.finish(json.dumps(answer.data))
            return
        self.set_header("Content-Type", answer.media_type)
        if answer.path is None:
            # Each piece is read in a worker thread: object storage blocks.
            pieces = iter(answer.chunks or ())
            while chunk := await loop.run_in_executor(None, next, pieces, b""):
                self.write(chunk)
                await self.flush()
        else:
            with answer.path.open("rb") as file:
                while chunk := file.read(FILE_CHUNK):
                    self.write(chunk)
                    await self.flush()
        self.finish()

    def _json_body(self) -> dict[str, Any] | None:
        """The request's JSON object; None once a refusal was sent."""
        kind = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        refusal: tuple[int, str] | None = None
        parsed: Any = None
        if kind != "application/json":
            refusal = 415, "send the body as application/json"
        elif len(self.request.body) > MAX_BODY:
            refusal = 413, f"the body is over {MAX_BODY} bytes"
        else:
            try:
                parsed = json.loads(self.request.body or b"{}")
            except ValueError:
                refusal = 400, "the body is not JSON"
        if refusal is None and not isinstance(parsed, dict):
            refusal = 400, "the body must be a JSON object"
        if refusal is not None:
            self.set_status(refusal[0])
            self.finish(json.dumps({"error": refusal[1]}))
            return None
        return dict(parsed)


class ChangesHandler(APIHandler):
    """``?since=V``: answers ``{"version": ...}`` as soon as the store's version is not V."""

    _gone = False

    def on_connection_close(self) -> None:
        # A closed tab stops its wait at once instead of statting markers for 25 s more.
        self._gone = True

    @tornado.web.authenticated
    async def get(self) -> None:
        since = self.get_query_argument("since", "")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POLL_TIMEOUT_S
        now = watch.version()
        while now == since and loop.time() < deadline and not self._gone:
            await asyncio.sleep(POLL_INTERVAL_S)
            now = watch.version()
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"version": now, "changed": now != since}))


class ActiveRunHandler(APIHandler):
    """``?kernel=ID``: ``{"run": ...}``, the run that kernel is running, or null."""

    @tornado.web.authenticated
    async def get(self) -> None:
        kernel = self.get_query_argument("kernel", "")
        loop = asyncio.get_running_loop()
        self.set_header("Cache-Control", "no-store")
        try:
            found = await loop.run_in_executor(None, active_run, kernel)
        except InvalidValueError as exc:
            self.set_status(400)
            self.finish(json.dumps({"error": str(exc)}))
            return
        self.finish(json.dumps({"run": found}))


class PageHandler(JupyterHandler):
    """``/nbtrack/ui/<file>``: the UI's page files, with their own security headers."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, pages.page_file, name)
        if found is None:
            raise tornado.web.HTTPError(404, "no such page file")
        content, media_type = found
        # Reading the token sets Jupyter's _xsrf cookie, which the pages send back as
        # X-XSRFToken on a change: opened in a tab of its own, no lab page has set it yet.
        _ = self.xsrf_token
        self.set_header("Content-Type", media_type)
        for header, value in pages.PAGE_HEADERS.items():
            self.set_header(header, value)
        self.finish(content)
