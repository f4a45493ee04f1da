"""The ``mlflow-artifacts`` proxy: MLflow's client uploads, downloads and lists a run's
artifacts through the server (``/api/2.0/mlflow-artifacts/artifacts/<path>``).

Paths are relative to the server's artifact destination, as the ``mlflow-artifacts:/`` URIs of
the server's runs say: ``<experiment>/<run>/artifacts/<file>``. Uploads land only in the
artifact folder of a run of this store that is not deleted (never in the registry's copies),
are streamed into the destination within ``max_size`` bytes and kept only when complete; a path
with ``..``, a leading ``/`` or a link out of the folder is refused with 400 before anything is
read; a run deleted or purged answers 410 (``RunGoneError``), so a client stops sending its
files. The sha256 of what arrived is checked against the client's ``X-Nbtrack-Sha256`` header
when it sends one (MLflow's client does not), recorded, and sent back on download in the same
header so that the client checks it too.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from nbtrack.entities import Run
from nbtrack.errors import InvalidValueError, NotFoundError, RunGoneError
from nbtrack.mlflow_compat.service import TrackingService
from nbtrack.store import runs
from nbtrack.store.markers import MarkerState, marker_state
from nbtrack.store.remote.artifacts import SHA256_HEADER
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.store.store import Store
from nbtrack.tracking.artifact_files import CHUNK, chunks
from nbtrack.tracking.artifact_paths import relative_parts
from nbtrack.tracking.run import artifact_folder
from nbtrack.web.destinations import (
    Destination,
    Upload,
    file_hash,
    open_destination,
    record_hash,
    recorded_hash,
)

PREFIX = "/api/2.0/mlflow-artifacts/artifacts"
DEFAULT_MAX_SIZE = 2 * 1024**3
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COPY = re.compile(r"[0-9a-f]{32}")
# The registry's copies, beside the experiments' folders (model_registry/references.py).
REGISTRY_FOLDER = "registry"


class TooLarge(InvalidValueError):
    """An upload beyond the server's limit (413)."""


class ArtifactProxy:
    """Upload, download and list artifacts in ``destination`` (the store's artifact folder by
    default) for the runs of ``service``'s store."""

    def __init__(
        self,
        service: TrackingService,
        max_size: int = DEFAULT_MAX_SIZE,
        destination: Destination | None = None,
    ) -> None:
        self.service = service
        self.local_root = (service.store.folder / ARTIFACTS_FOLDER).resolve()
        self.destination = destination or open_destination(None, self.local_root)
        self.max_size = max_size
        self._loggable = _LoggableRuns(service.store)

    def _parts(self, path: str) -> tuple[str, ...]:
        parts = relative_parts(path, "artifact path")
        self.destination.check(parts, path)
        return parts

    async def upload(self, request: Request, path: str) -> str:
        """Keep the streamed body at ``path``; the sha256 of what was kept."""
        claimed = claimed_sha256(request.headers.get(SHA256_HEADER))
        parts = await run_in_threadpool(self.writable_file, path)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_size:
            raise TooLarge(f"the artifact is {declared} bytes; this server takes {self.max_size}")
        upload = await run_in_threadpool(self.destination.upload, parts)
        digest, size, pending = hashlib.sha256(), 0, bytearray()
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.max_size:
                    raise TooLarge(
                        f"the artifact is larger than the {self.max_size} bytes this server "
                        "takes; nothing of it was kept"
                    )
                pending += chunk
                # Handed to a thread a megabyte at a time: object storage writes block.
                if len(pending) >= CHUNK:
                    await run_in_threadpool(_write, upload, digest, bytes(pending))
                    pending.clear()
            await run_in_threadpool(_write, upload, digest, bytes(pending))
            received = digest.hexdigest()
            if claimed is not None and claimed != received:
                raise InvalidValueError(
                    f"artifact {path!r}: the sha256 of the {size} bytes received is {received}, "
                    f"not {claimed} as the client sent; nothing was kept"
                )
            await run_in_threadpool(upload.commit)
        except BaseException:
            await run_in_threadpool(upload.discard)
            raise
        await run_in_threadpool(record_hash, self.destination, parts, received, size)
        return received

    def writable_file(self, path: str) -> tuple[str, ...]:
        """A run's file, or a file of a registered copy that is not there yet."""
        parts = self._parts(path)
        if parts and parts[0] == REGISTRY_FOLDER:
            return self.registry_file(parts)
        return self.run_file(path)

    def registry_file(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        """``registry/<32 hex>/<file...>``, which a client registering a model in team mode
        sends; written once: a registered copy never changes (its hashes are in the store)."""
        if len(parts) < 3 or not _COPY.fullmatch(parts[1]):
            raise InvalidValueError(
                f"artifact path {'/'.join(parts)!r} is not in a registered copy; give "
                f"{REGISTRY_FOLDER}/<32 hex digits>/<file>"
            )
        if self.destination.size(parts) is not None:
            raise InvalidValueError(
                f"{'/'.join(parts)!r} is already in the registry, whose copies are written once"
            )
        return parts

    def run_file(self, path: str) -> tuple[str, ...]:
        """The parts of ``path``, refused unless it names a file in the artifacts of a run of
        this store that may be logged to: ``<experiment id>/<run id>/artifacts/<file...>``."""
        parts = self._parts(path)
        if len(parts) < 4 or parts[2] != "artifacts":
            raise InvalidValueError(
                f"artifact path {'/'.join(parts)!r} is not in a run's artifacts; upload to "
                "<experiment id>/<run id>/artifacts/<file>, the run's artifact URI"
            )
        run = self.takes_files(parts[1])
        folder = artifact_folder(self.service.store, run.artifact_uri)
        if folder.relative_to(self.local_root).parts != parts[:3]:
            raise InvalidValueError(f"artifact path {'/'.join(parts)!r} is not in run {parts[1]}")
        return parts

    def takes_files(self, run_id: str) -> Run:
        """The run, refused with ``RunGoneError`` if it is deleted, or not in the store once
        every line this server holds is (purged): its client then stops sending its files.
        One open of the store per upload: it is most of what a small file costs."""
        store = self.service.store
        try:
            try:
                return self._loggable.run(run_id)
            except NotFoundError:
                # Lines the server holds but has not ingested yet may still bring the run.
                store.flush()
                return self._loggable.run(run_id)
        except NotFoundError:
            raise RunGoneError(
                f"run {run_id} is not in this server's store, and no line it holds names it: "
                "it was purged (deleted, then `nbtrack gc`), or never logged here; it takes no "
                "files"
            ) from None
        except InvalidValueError as exc:
            raise RunGoneError(str(exc)) from None

    def verify(self, path: str, claimed: str, size: int) -> None:
        """Check a file a client wrote into the destination itself, and record its hash; a
        file that is not what the client sent, or for a run that is gone, is removed."""
        try:
            parts = self.run_file(path)
        except RunGoneError:
            self.destination.remove(self._parts(path))
            raise
        found = self.destination.size(parts)
        if found is None:
            raise NotFoundError(f"no artifact file at {path!r} in {self.destination.direct_url}")
        received, found = file_hash(self.destination, parts)
        if received != claimed or found != size:
            self.destination.remove(parts)
            raise InvalidValueError(
                f"artifact {path!r}: the destination holds {found} bytes with sha256 {received}, "
                f"not {size} bytes with {claimed} as the client wrote; it was removed"
            )
        record_hash(self.destination, parts, received, size)

    def download(self, path: str) -> Response:
        parts = self._parts(path)
        size = self.destination.size(parts)
        if size is None:
            raise NotFoundError(f"no artifact file at {path!r}")
        sha256 = recorded_hash(self.destination, parts, size)
        if sha256 is None:  # a file the server wrote itself, or one from before hashes
            sha256, size = file_hash(self.destination, parts)
            record_hash(self.destination, parts, sha256, size)
        headers = {SHA256_HEADER: sha256}
        local: Path | None = self.destination.local_path(parts)
        if local is not None:
            return FileResponse(local, media_type="application/octet-stream", headers=headers)
        headers["Content-Length"] = str(size)
        return StreamingResponse(
            iterate_in_threadpool(chunks(self.destination, parts)),
            media_type="application/octet-stream",
            headers=headers,
        )

    def list(self, path: str | None) -> dict[str, Any]:
        parts = self._parts(path) if path else ()
        return {"files": self.destination.listing(parts)}


def claimed_sha256(value: str | None) -> str | None:
    """A client's sha256 header: 64 lower-case hex digits, or absent."""
    return None if value is None else checked_sha256(value, SHA256_HEADER)


def checked_sha256(value: object, what: str) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise InvalidValueError(
            f"{what} {str(value)[:80]!r} is not a sha256; send 64 lower-case hex digits"
        )
    return value


def _write(upload: Upload, digest: Any, data: bytes) -> None:
    if data:
        digest.update(data)
        upload.write(data)


class _LoggableRuns:
    """Runs found loggable, kept while the store stays as it was (its marker, replaced after
    every change by any process, is the same file and nothing waits to be ingested): a client
    sending a spool of files for one run costs one store open, not one per file."""

    MAX_RUNS = 256

    def __init__(self, store: Store) -> None:
        self.store = store
        self._runs: dict[str, tuple[MarkerState, Run]] = {}
        self._lock = threading.Lock()

    def run(self, run_id: str) -> Run:
        # Taken before the read: a change landing meanwhile leaves a state that never returns.
        state = marker_state(self.store.marker)
        with self._lock:
            kept = self._runs.get(run_id)
        if kept is not None and state is not None and kept[0] == state and self.store.settled():
            return kept[1]
        found = self.store.read(runs.loggable_run, run_id)
        if state is not None:
            with self._lock:
                if len(self._runs) >= self.MAX_RUNS:
                    self._runs.clear()
                self._runs[run_id] = (state, found)
        return found
