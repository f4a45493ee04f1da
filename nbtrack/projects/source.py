"""Where a project comes from, as its run's tags: the git remote (or the folder), the commit,
and whether the working tree differs from it. Each is optional: outside git only the folder."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from nbtrack.tracking import capture

SOURCE_TAG = "nbtrack.project.source"
COMMIT_TAG = "nbtrack.project.git.commit"
DIRTY_TAG = "nbtrack.project.git.dirty"


def source_tags(folder: Path) -> dict[str, str]:
    tags = {SOURCE_TAG: str(folder)}
    commit = capture.git_commit(folder)
    if commit is None:
        return tags
    tags[COMMIT_TAG] = commit
    dirty = capture.git_dirty(folder)
    if dirty is not None:
        tags[DIRTY_TAG] = str(dirty).lower()
    remote = _git(folder, "config", "--get", "remote.origin.url")
    top = _git(folder, "rev-parse", "--show-toplevel")
    if remote:
        # MLflow's way to name a project in a sub-folder of a repository: URL#sub/folder.
        inner = folder.resolve()
        if top and inner.is_relative_to(Path(top).resolve()):
            inner = inner.relative_to(Path(top).resolve())
        sub = f"#{inner.as_posix()}" if inner.parts and not inner.is_absolute() else ""
        tags[SOURCE_TAG] = without_credentials(remote) + sub
    return tags


def without_credentials(url: str) -> str:
    """A remote URL without the user and password an https URL may carry (a token, often)."""
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url  # scp-like git@host:org/repo names a user, never a secret
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
