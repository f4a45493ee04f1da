"""The running nbtrack, made importable in a project environment without installing it there.

An entry point logs through nbtrack, so its environment needs nbtrack and what nbtrack needs
(DuckDB above all), and a notebook entry point also needs ipykernel. Installing them into every
environment would download some hundred megabytes, and nbtrack itself may not be on any index.
Instead the environment gets a folder of symbolic links to those packages as this interpreter
has them, named by a ``.pth`` file: it comes after the environment's own folder on ``sys.path``,
so a package the project installs itself (its own pandas, say) wins, and nothing else of this
interpreter (scikit-learn, say) leaks in. The links point at compiled code built for this
Python, which is why an environment is built on this Python's version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

# What an entry point's process imports from here: nbtrack, and the kernel a notebook runs in.
ROOTS = ("nbtrack", "ipykernel")
# nbtrack's own needs when it runs from a checkout that was never installed (no metadata).
UNINSTALLED_NEEDS = ("duckdb", "pandas", "pyarrow", "pyyaml", "cloudpickle")
PTH_FILE = "_nbtrack_host.pth"
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def nbtrack_folder() -> Path:
    """The folder of the nbtrack package that is running (a checkout, or site-packages)."""
    return Path(__file__).resolve().parents[1]


def link(target: Path, site_packages: Path) -> int:
    """Fill ``target`` with links to nbtrack and the packages it needs, and name it in a
    ``.pth`` file of ``site_packages``; returns how many entries were linked."""
    target.mkdir(parents=True, exist_ok=True)
    entries = {"nbtrack": nbtrack_folder()}
    for distribution in _needed():
        for name, source in _top_level(distribution):
            entries.setdefault(name, source)
    for name, source in entries.items():
        link_path = target / name
        if not link_path.exists() and not link_path.is_symlink():
            link_path.symlink_to(source)
    (site_packages / PTH_FILE).write_text(f"{target}\n", encoding="utf-8")
    return len(entries)


def fingerprint() -> list[str]:
    """What the links would point at, as ``name==version``: part of an environment's cache key,
    so that upgrading nbtrack or one of its requirements here builds a fresh environment."""
    return sorted(f"{d.metadata['Name']}=={d.version}" for d in _needed())


def _needed() -> list[metadata.Distribution]:
    roots = ROOTS if _installed("nbtrack") else (*ROOTS, *UNINSTALLED_NEEDS)
    # nbtrack itself is linked as the running copy, wherever it is installed from.
    return [d for d in requirement_closure(roots) if _normal(d.metadata["Name"]) != "nbtrack"]


def requirement_closure(roots: Iterable[str]) -> list[metadata.Distribution]:
    """The installed distributions ``roots`` need, themselves included, without extras."""
    seen: dict[str, metadata.Distribution] = {}
    waiting = list(roots)
    while waiting:
        name = _normal(waiting.pop())
        if name in seen:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # not installed here (a marker for another platform, say)
        seen[name] = distribution
        for requirement in distribution.requires or []:
            if "extra ==" in requirement.partition(";")[2]:
                continue
            match = _NAME.match(requirement)
            if match:
                waiting.append(match.group(1))
    return list(seen.values())


def _top_level(distribution: metadata.Distribution) -> Iterator[tuple[str, Path]]:
    names: set[str] = set()
    for file in distribution.files or []:
        first = file.parts[0]
        if first in ("..", "__pycache__") or first.endswith((".pth", ".data")):
            continue
        names.add(first)
    for name in sorted(names):
        yield name, Path(str(distribution.locate_file(name)))


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
