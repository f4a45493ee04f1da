"""A run's artifacts: the listing, one file (never outside the run's files, wherever they are
kept: ``tracking/artifact_files.py``) and how a page previews it; tables (CSV, Parquet) are
read here into rows.

A file is never served as something a browser would run in the UI's origin: HTML and SVG go
to a sandboxed frame, and every download carries the headers of ``FILE_HEADERS``.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.read_api import queries
from nbtrack.store import runs
from nbtrack.store.current import current_store
from nbtrack.tracking.artifact_files import ArtifactFiles, chunks, run_files
from nbtrack.tracking.artifact_paths import file_parts
from nbtrack.tracking.run_table import display_value
from nbtrack.tracking.validation import check_name

MAX_LISTED = 2000
MAX_TABLE_ROWS = 200
# Every artifact response: no script of it runs in the UI's origin, its type is not guessed.
FILE_HEADERS = {
    "Content-Security-Policy": "sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_KINDS = {
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"), "image"),
    **dict.fromkeys((".html", ".htm", ".svg"), "frame"),
    **dict.fromkeys((".json", ".yaml", ".yml", ".mlmodel"), "data"),
    **dict.fromkeys((".csv", ".tsv", ".parquet"), "table"),
    **dict.fromkeys(
        (".txt", ".py", ".md", ".log", ".cfg", ".toml", ".ini", ".sql", ".sh", ".r"), "text"
    ),
}
# Served as plain text whatever they hold: a browser then shows them and runs nothing.
_AS_TEXT = {"data", "text", "table"}


def listing(run_id: str) -> dict[str, Any]:
    """Every file under the run's artifacts (at most ``MAX_LISTED``), by path."""
    files: list[dict[str, Any]] = []
    _walk(_files(run_id), (), files)
    return {"run_id": run_id, "files": files[:MAX_LISTED], "truncated": len(files) > MAX_LISTED}


def _walk(where: ArtifactFiles, parts: tuple[str, ...], files: list[dict[str, Any]]) -> None:
    for entry in where.listing(parts):
        if len(files) > MAX_LISTED:
            return
        named = (*parts, entry["path"])
        if entry["is_dir"]:
            _walk(where, named, files)
        else:
            path = "/".join(named)
            files.append({"path": path, "size": entry["file_size"], "kind": kind_of(path)})


def kind_of(path: str) -> str:
    """How a page previews ``path``: image, frame, data, table, text or download."""
    name = path.rsplit("/", 1)[-1].lower()
    if name == "mlmodel":
        return "data"
    return _KINDS.get(Path(name).suffix, "download")


@dataclass(frozen=True)
class ArtifactFile:
    """One file of a run, where it is kept, and the media type to send it with."""

    files: ArtifactFiles
    parts: tuple[str, ...]
    media_type: str

    @property
    def local_path(self) -> Path | None:
        return self.files.local_path(self.parts)

    def chunks(self) -> Iterator[bytes]:
        return chunks(self.files, self.parts)


def artifact_file(run_id: str, query: queries.Query) -> ArtifactFile:
    """The file ``path=`` of the run (never outside the run's files) and its media type."""
    artifact = queries.required(query, "path", "an artifact file's path within the run")
    parts = file_parts(artifact)
    files = _files(run_id)
    if files.size(parts) is None:
        if files.listing(parts):
            raise InvalidValueError(f"path {artifact!r} of run {run_id} is a folder; name a file")
        raise NotFoundError(f"run {run_id} has no artifact {artifact!r}")
    kind = kind_of(artifact)
    if kind in _AS_TEXT:
        return ArtifactFile(files, parts, "text/plain; charset=utf-8")
    guessed = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    return ArtifactFile(files, parts, guessed)


def table(run_id: str, query: queries.Query) -> dict[str, Any]:
    """The first ``MAX_TABLE_ROWS`` rows of a CSV, TSV or Parquet artifact."""
    import pandas as pd

    found = artifact_file(run_id, query)
    name = found.parts[-1]
    suffix = Path(name).suffix.lower()
    if suffix not in (".parquet", ".csv", ".tsv"):
        raise InvalidValueError(f"{name!r} is not a table; give a .csv, .tsv or .parquet")
    with found.files.open(found.parts) as source:
        if suffix == ".parquet":
            frame = pd.read_parquet(source).head(MAX_TABLE_ROWS + 1)
        else:
            sep = "\t" if suffix == ".tsv" else ","
            frame = pd.read_csv(source, sep=sep, nrows=MAX_TABLE_ROWS + 1)
    shown = frame.head(MAX_TABLE_ROWS)
    return {
        "columns": [str(c) for c in shown.columns],
        "rows": [[display_value(v) for v in row] for row in shown.itertuples(index=False)],
        "truncated": len(frame) > MAX_TABLE_ROWS,
    }


def _files(run_id: str) -> ArtifactFiles:
    store = current_store()
    found = store.read(runs.get_run, check_name(run_id, "run_id"))
    return run_files(store, found.artifact_uri)
