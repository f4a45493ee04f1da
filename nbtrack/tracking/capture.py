"""What a run records about where it ran. Each capture is optional: it never fails a run."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nbtrack import config

_ADJECTIVES = (
    "amber brave calm clever crisp dapper eager fluent gentle golden honest jolly keen lively "
    "lucid mellow nimble quiet rapid shiny silent steady sunny swift tidy vivid witty zesty"
).split()
_NOUNS = (
    "badger bison crane dolphin falcon ferret gecko heron ibis jaguar koala lemur lynx marten "
    "newt otter panda puffin quokka raven salmon seal sparrow tapir toucan walrus wombat yak"
).split()


def run_name() -> str:
    """A readable name such as ``swift-otter-042`` for a run started without one."""
    pick = random.choice
    return f"{pick(_ADJECTIVES)}-{pick(_NOUNS)}-{random.randrange(1000):03d}"


def source_name() -> str | None:
    """The script being run, as an absolute path; None in an interactive session."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not isinstance(path, str):
        return None
    return config.resolved_path(path)


def execution_marker() -> int | None:
    """The IPython cell execution this call belongs to; None outside IPython.

    IPython is looked up, never imported: a script does not pay for it.
    """
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:
        return None
    shell = ipython_module.get_ipython()
    count = getattr(shell, "execution_count", None)
    return count if isinstance(count, int) else None


# Where a folder's repository keeps its git files, and their common folder, as found by a
# walk up the tree (a stat or two per level, each run's start). Only found ones are kept: a
# `git init` after the process started is seen at the next run. A kept one that went away
# is looked for again.
_git_dirs: dict[str, tuple[Path, Path]] = {}


def git_commit(start: Path | None = None) -> str | None:
    """The commit checked out in the git repository around ``start``, read from its files."""
    try:
        around = config.resolved_path(os.fspath(start) if start is not None else ".")
        repository = _repository_of(around)
        if repository is None:
            return None
        git_dir, common, head = repository
        if not head.startswith("ref: "):
            return head or None
        ref = head[len("ref: ") :]
        for folder in (git_dir, common):
            loose = folder / ref
            if loose.is_file():
                return loose.read_text(encoding="utf-8").strip() or None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                sha, _, name = line.partition(" ")
                if name == ref:
                    return sha
    except OSError:
        return None
    return None


def _repository_of(folder: str) -> tuple[Path, Path, str] | None:
    """The git folder, the common folder and the HEAD of the repository around ``folder``
    (resolved)."""
    known = _git_dirs.get(folder)
    if known is not None:
        try:
            return (*known, _head(known[0]))
        except FileNotFoundError:
            _git_dirs.pop(folder, None)  # another thread may have dropped it too
    git_dir = _git_dir(Path(folder))
    if git_dir is None:
        return None
    common = _common_dir(git_dir)
    head = _head(git_dir)
    _git_dirs[folder] = (git_dir, common)
    return git_dir, common, head


def _head(git_dir: Path) -> str:
    return (git_dir / "HEAD").read_text(encoding="utf-8").strip()


def _git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            # A worktree or submodule: ".git" names the real folder.
            text = dot_git.read_text(encoding="utf-8").strip()
            if text.startswith("gitdir: "):
                return (folder / text[len("gitdir: ") :]).resolve()
    return None


def _common_dir(git_dir: Path) -> Path:
    common = git_dir / "commondir"
    if common.is_file():
        return (git_dir / common.read_text(encoding="utf-8").strip()).resolve()
    return git_dir


_KEY_PACKAGES = {
    "numpy": "numpy",
    "pandas": "pandas",
    "sklearn": "scikit-learn",
    "scipy": "scipy",
    "torch": "torch",
    "tensorflow": "tensorflow",
    "jax": "jax",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "transformers": "transformers",
    "polars": "polars",
}


def environment_tags() -> dict[str, str]:
    """Python and the versions of key packages this process has imported."""
    from nbtrack._version import __version__

    packages = [f"nbtrack=={__version__}"]
    for module_name, package in _KEY_PACKAGES.items():
        module = sys.modules.get(module_name)
        version = getattr(module, "__version__", None)
        if isinstance(version, str):
            packages.append(f"{package}=={version}")
    return {
        "nbtrack.python": sys.version.split()[0],
        "nbtrack.packages": " ".join(packages),
    }


# A sweep starts hundreds of runs a second: one ``git status`` answers all the runs started
# while it runs and within this many seconds after it.
DIRTY_REUSE_S = 2.0
_dirty_lock = threading.Lock()
_dirty_waiting: dict[Path, list[Callable[[bool], None]]] = {}
_dirty_known: dict[Path, tuple[float, bool | None]] = {}


def git_dirty_later(record: Callable[[bool], None]) -> None:
    """Find git's dirty flag in a thread and hand it to ``record``: ``git status`` takes
    milliseconds to seconds, which a run's start must not wait for."""
    folder = Path.cwd()
    with _dirty_lock:
        known = _dirty_known.get(folder)
        fresh = known is not None and time.monotonic() - known[0] < DIRTY_REUSE_S
        if not fresh:
            waiting = _dirty_waiting.setdefault(folder, [])
            waiting.append(record)
            if len(waiting) == 1:
                threading.Thread(
                    target=_look_dirty, args=(folder,), name="nbtrack-git-status", daemon=True
                ).start()
            return
    assert known is not None
    if known[1] is not None:
        record(known[1])


def _look_dirty(folder: Path) -> None:
    dirty = git_dirty(folder)
    with _dirty_lock:
        _dirty_known[folder] = (time.monotonic(), dirty)
        waiting = _dirty_waiting.pop(folder, [])
    if dirty is not None:
        for record in waiting:
            record(dirty)


def _reset_after_fork() -> None:
    # A look-up in flight at fork time never finishes in the child.
    global _dirty_lock
    _dirty_lock = threading.Lock()
    _dirty_waiting.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


def git_dirty(start: Path | None = None) -> bool | None:
    """Whether tracked files differ from the commit; None outside git or without git."""
    folder = (start or Path.cwd()).resolve()
    try:
        if _git_dir(folder) is None:
            return None
        done = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None
