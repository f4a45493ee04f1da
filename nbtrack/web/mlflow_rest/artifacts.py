"""The ``mlflow-artifacts`` proxy: MLflow's client uploads, downloads and lists a run's
artifacts through the server (``/api/2.0/mlflow-artifacts/artifacts/<path>``).

Paths are relative to the store's artifact folder, as the ``mlflow-artifacts:/`` URIs of the
server's runs say: ``<experiment>/<run>/artifacts/<file>``. Uploads land only in the artifact
folder of a run of this store that is not deleted (never in the registry's copies), are streamed
to a temporary file within ``max_size`` bytes and then renamed into place; a path with ``..``,
a leading ``/`` or a link out of the folder is refused with 400 before anything is read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.mlflow_compat.service import TrackingService
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.tracking.artifact_paths import inside, relative_parts, visible_entries
from nbtrack.tracking.atomic_files import make_folder

PREFIX = "/api/2.0/mlflow-artifacts/artifacts"
DEFAULT_MAX_SIZE = 2 * 1024**3


class TooLarge(InvalidValueError):
    """An upload beyond the server's limit (413)."""


class ArtifactProxy:
    """Upload, download and list under the artifact folder of ``service``'s store."""

    def __init__(self, service: TrackingService, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.service = service
        self.root = (service.store.folder / ARTIFACTS_FOLDER).resolve()
        self.max_size = max_size

    def _target(self, path: str) -> tuple[tuple[str, ...], Path]:
        parts = relative_parts(path, "artifact path")
        return parts, inside(self.root, parts, path, "artifact path")

    async def upload(self, request: Request, path: str) -> dict[str, Any]:
        parts, target = self._target(path)
        await run_in_threadpool(self._check_run_folder, parts, target)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_size:
            raise TooLarge(f"the artifact is {declared} bytes; this server takes {self.max_size}")
        await run_in_threadpool(make_folder, target.parent)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        size = 0
        try:
            with partial.open("wb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > self.max_size:
                        raise TooLarge(
                            f"the artifact is larger than the {self.max_size} bytes this server "
                            "takes"
                        )
                    out.write(chunk)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return {}

    def _check_run_folder(self, parts: tuple[str, ...], target: Path) -> None:
        # <experiment>/<run id>/artifacts/<file...>: a run of this store, logged to.
        if len(parts) < 4 or parts[2] != "artifacts":
            raise InvalidValueError(
                f"artifact path {'/'.join(parts)!r} is not in a run's artifacts; upload to "
                "<experiment id>/<run id>/artifacts/<file>, the run's artifact URI"
            )
        folder = self.service.run_artifact_folder(parts[1])
        self.service.writer(parts[1])  # refuses a deleted run
        if not target.is_relative_to(folder):
            raise InvalidValueError(f"artifact path {'/'.join(parts)!r} is not in run {parts[1]}")

    def download(self, path: str) -> Response:
        _, target = self._target(path)
        if not target.is_file():
            raise NotFoundError(f"no artifact file at {path!r}")
        return FileResponse(target, media_type="application/octet-stream")

    def list(self, path: str | None) -> dict[str, Any]:
        if path:
            _, folder = self._target(path)
        else:
            folder = self.root
        if not folder.is_dir():
            return {"files": []}
        files = []
        for name, real in sorted(visible_entries(self.root, folder)):
            entry: dict[str, Any] = {"path": name, "is_dir": real.is_dir()}
            if not entry["is_dir"]:
                entry["file_size"] = real.stat().st_size
            files.append(entry)
        return {"files": files}
