"""Two runs' artifacts side by side: images shown, text previewed, the rest listed.

Pure reading of the runs' artifact folders: nothing is executed or unpickled, files outside a
run's folder (symlinks pointing out) are skipped, and every size is capped so a run with a
large artifact cannot make the notebook heavy.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Final

from nbtrack.entities import Run

MAX_FILES: Final = 40
MAX_IMAGE_BYTES: Final = 1_000_000
MAX_TEXT_BYTES: Final = 4_000
MAX_TEXT_LINES: Final = 30
IMAGE_TYPES: Final = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    # Shown through <img>, where a browser runs no script an SVG may hold.
    ".svg": "image/svg+xml",
}
TEXT_SUFFIXES: Final = {
    ".txt", ".md", ".json", ".yaml", ".yml", ".csv", ".tsv", ".log", ".py", ".toml", ".ini",
    ".cfg", ".html", ".xml", ".sql", ".sh",
}  # fmt: skip
TEXT_NAMES: Final = {"MLmodel", "requirements.txt", "LICENSE", "README"}
_CELL: Final = "padding: 4px 8px; vertical-align: top; text-align: left"
_PRE: Final = (
    "margin: 0; max-height: 16em; overflow: auto; white-space: pre-wrap; "
    "font-family: var(--jp-code-font-family, monospace); font-size: 12px"
)


def side_by_side(run_a: Run, run_b: Run) -> str:
    """HTML: a row per artifact path either run has, run A's file left and run B's right."""
    files_a, files_b = _files(run_a), _files(run_b)
    paths = sorted(set(files_a) | set(files_b))
    if not paths:
        return _section("artifacts", "<i>neither run logged an artifact</i>")
    shown = paths[:MAX_FILES]
    rows = []
    for path in shown:
        a, b = files_a.get(path), files_b.get(path)
        same = a is not None and b is not None and _same_bytes(a, b)
        badge = ' <span style="opacity: .6">(same in both)</span>' if same else ""
        rows.append(
            f'<tr><th style="{_CELL}; white-space: nowrap">'
            f"<code>{html.escape(path)}</code>{badge}</th>"
            f'<td style="{_CELL}">{_preview(a)}</td><td style="{_CELL}">{_preview(b)}</td></tr>'
        )
    more = len(paths) - len(shown)
    tail = f"<div><i>{more} more file(s) not shown</i></div>" if more else ""
    head = (
        f'<tr><th style="{_CELL}">file</th><th style="{_CELL}">{html.escape(_name(run_a))}</th>'
        f'<th style="{_CELL}">{html.escape(_name(run_b))}</th></tr>'
    )
    table = f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>{tail}"
    return _section("artifacts", table)


def _files(run: Run) -> dict[str, Path]:
    """The run's artifact files by their path relative to its folder, inside it only."""
    root = Path(run.artifact_uri)
    if not root.is_dir():
        return {}
    real_root = root.resolve()
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if len(found) > MAX_FILES * 4:
            break
        real = path.resolve()
        if not real.is_relative_to(real_root) or not real.is_file():
            continue
        found[path.relative_to(root).as_posix()] = real
    return found


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _preview(path: Path | None) -> str:
    if path is None:
        return '<span style="opacity: .5">—</span>'
    try:
        size = path.stat().st_size
    except OSError:
        return "<i>unreadable</i>"
    kind = IMAGE_TYPES.get(path.suffix.lower())
    if kind is not None:
        if size > MAX_IMAGE_BYTES:
            return f"<i>image of {_size(size)}, too large to show here</i>"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return (
            f'<img src="data:{kind};base64,{data}" alt="{html.escape(path.name)}" '
            'style="max-width: 360px; max-height: 280px">'
        )
    if path.suffix.lower() in TEXT_SUFFIXES or path.name in TEXT_NAMES:
        with path.open("rb") as file:
            head = file.read(MAX_TEXT_BYTES)
        text = head.decode("utf-8", errors="replace")
        lines = text.splitlines()
        cut = size > MAX_TEXT_BYTES or len(lines) > MAX_TEXT_LINES
        shown = "\n".join(lines[:MAX_TEXT_LINES])
        note = f'<div style="opacity: .6">… {_size(size)} in all</div>' if cut else ""
        return f'<pre style="{_PRE}">{html.escape(shown)}</pre>{note}'
    return f"<i>{_size(size)}</i>"


def _size(n: int) -> str:
    if n < 1000:
        return f"{n:,} bytes"
    scaled, unit = n / 1000, "KB"
    for bigger in ("MB", "GB"):
        if scaled < 1000:
            break
        scaled, unit = scaled / 1000, bigger
    return f"{scaled:.1f} {unit}"


def _name(run: Run) -> str:
    return f"{run.name or run.id[:8]} ({run.id[:8]})"


def _section(title: str, body: str) -> str:
    return (
        f'<div style="margin-top: 10px"><div style="font-weight: 600; margin-bottom: 4px">'
        f"{html.escape(title)}</div>{body}</div>"
    )
