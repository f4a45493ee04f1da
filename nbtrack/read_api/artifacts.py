"""A run's artifacts: the listing, one file's path (never outside the run's folder) and how a
page previews it; tables (CSV, Parquet) are read here into rows.

A file is never served as something a browser would run in the UI's origin: HTML and SVG go
to a sandboxed frame, and every download carries the headers of ``FILE_HEADERS``.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidValueError
from nbtrack.read_api import queries
from nbtrack.store.current import current_store
from nbtrack.tracking.artifact_paths import existing, file_parts, visible_entries
from nbtrack.tracking.run import get_run
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
    """Every file under the run's artifact folder (at most ``MAX_LISTED``), by path."""
    root = _root(run_id)
    files: list[dict[str, Any]] = []
    if root.is_dir():
        _walk(root, root, (), files)
    return {"run_id": run_id, "files": files[:MAX_LISTED], "truncated": len(files) > MAX_LISTED}


def _walk(root: Path, folder: Path, parts: tuple[str, ...], files: list[dict[str, Any]]) -> None:
    for name, real in visible_entries(root, folder):
        if len(files) > MAX_LISTED:
            return
        if real.is_dir():
            _walk(root, real, (*parts, name), files)
        else:
            path = "/".join((*parts, name))
            files.append({"path": path, "size": real.stat().st_size, "kind": kind_of(path)})


def kind_of(path: str) -> str:
    """How a page previews ``path``: image, frame, data, table, text or download."""
    name = path.rsplit("/", 1)[-1].lower()
    if name == "mlmodel":
        return "data"
    return _KINDS.get(Path(name).suffix, "download")


def file_path(run_id: str, query: queries.Query) -> tuple[Path, str]:
    """The file ``path=`` of the run, and the media type to send it with."""
    artifact = queries.required(query, "path", "an artifact file's path within the run")
    parts = file_parts(artifact)
    target = existing(_root(run_id), parts, artifact, run_id, "path")
    if target.is_dir():
        raise InvalidValueError(f"path {artifact!r} of run {run_id} is a folder; name a file")
    kind = kind_of(artifact)
    if kind in _AS_TEXT:
        return target, "text/plain; charset=utf-8"
    guessed = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return target, guessed


def table(run_id: str, query: queries.Query) -> dict[str, Any]:
    """The first ``MAX_TABLE_ROWS`` rows of a CSV, TSV or Parquet artifact."""
    import pandas as pd

    target, _ = file_path(run_id, query)
    suffix = target.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(target).head(MAX_TABLE_ROWS + 1)
    elif suffix in (".csv", ".tsv"):
        sep = "\t" if suffix == ".tsv" else ","
        frame = pd.read_csv(target, sep=sep, nrows=MAX_TABLE_ROWS + 1)
    else:
        raise InvalidValueError(f"{target.name!r} is not a table; give a .csv, .tsv or .parquet")
    shown = frame.head(MAX_TABLE_ROWS)
    return {
        "columns": [str(c) for c in shown.columns],
        "rows": [[display_value(v) for v in row] for row in shown.itertuples(index=False)],
        "truncated": len(frame) > MAX_TABLE_ROWS,
    }


def _root(run_id: str) -> Path:
    found = get_run(current_store(), check_name(run_id, "run_id"))
    return Path(found.artifact_uri).resolve()
