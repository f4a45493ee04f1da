"""Artifacts: the files a run keeps in its own folder, ``<store folder>/nbtrack-artifacts/...``.

Writers go to the active run; readers take any run of the current store by id. Paths are
checked by ``artifact_paths``, files written whole by ``atomic_files``, the user's own files
and folders checked and walked by ``local_files``, and dicts made plain by ``plain_data``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.store.current import current_store
from nbtrack.tracking import _current
from nbtrack.tracking.artifact_paths import (
    existing,
    file_parts,
    inside,
    relative_parts,
    visible_entries,
)
from nbtrack.tracking.atomic_files import write_atomically
from nbtrack.tracking.local_files import copy_tree, local_file, local_folder, local_tree
from nbtrack.tracking.plain_data import as_plain_data, yaml_module
from nbtrack.tracking.remote_artifacts import (
    download,
    keep,
    keep_folder,
    listing,
    read_bytes,
    server_store,
)
from nbtrack.tracking.run import ActiveRun, get_run
from nbtrack.tracking.validation import check_name

_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class FileInfo:
    """One entry of a run's artifacts.

    ``path`` is relative to the run's artifact folder, with ``/`` between parts;
    ``file_size`` is in bytes, None for a folder.
    """

    path: str
    is_dir: bool
    file_size: int | None = None


# -- writing to the active run -------------------------------------------------------------------


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy a local file into the active run's artifacts, under ``artifact_path`` if given.

    Examples
    --------
    >>> nbtrack.log_artifact("confusion.csv", artifact_path="eval")  # doctest: +SKIP
    """
    source = local_file(local_path)
    base = () if artifact_path is None else relative_parts(artifact_path, "artifact_path")
    relative = base + relative_parts(source.name, f"the name of the local file {str(source)!r}")
    root = _active_root()
    target = inside(root, relative, "/".join(relative), "artifact")
    keep(target, partial(shutil.copyfile, source))


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy the contents of a local folder, sub-folders included, into the active run's artifacts.

    Every destination is checked before the first file is copied.

    Examples
    --------
    >>> nbtrack.log_artifacts("outputs/", artifact_path="outputs")  # doctest: +SKIP
    """
    source = local_folder(local_dir)
    root = _active_root()
    base = () if artifact_path is None else relative_parts(artifact_path, "artifact_path")
    folders: list[Path] = [inside(root, base, "/".join(base), "artifact_path")] if base else []
    files: list[tuple[Path, Path]] = []
    for relative, local, is_dir in local_tree(source, root):
        parts = base + relative_parts(relative, f"the name of the local file {str(local)!r}")
        target = inside(root, parts, "/".join(parts), "artifact")
        if is_dir:
            folders.append(target)
        else:
            files.append((local, target))
    for folder in folders:
        keep_folder(folder)
    for local, target in files:
        keep(target, partial(shutil.copyfile, local))


def log_text(text: str, artifact_file: str) -> None:
    """Save ``text`` as the UTF-8 file ``artifact_file`` of the active run.

    Examples
    --------
    >>> nbtrack.log_text(report, "eval/report.md")  # doctest: +SKIP
    """
    write_text(_current.get_run(), text, artifact_file)


def write_text(run: ActiveRun, text: str, artifact_file: str) -> None:
    """``log_text`` into ``run``, active or not (autolog's worker logs to a fit's run)."""
    if not isinstance(text, str):
        raise InvalidValueError(
            f"log_text takes a str, got {type(text).__name__}; for bytes or a file on disk "
            "use log_artifact"
        )
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidValueError(
            f"log_text: the text is not valid unicode ({exc.reason} at position {exc.start})"
        ) from None
    target = inside(
        run.artifact_dir_for_writing(), file_parts(artifact_file), artifact_file, "artifact_file"
    )
    keep(target, lambda tmp: tmp.write_bytes(data))


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> None:
    """Save a dict as JSON, or as YAML when ``artifact_file`` ends in ``.yaml`` or ``.yml``.

    Values may be str, numbers, bools, None, lists, tuples, dicts and numpy values.

    Examples
    --------
    >>> nbtrack.log_dict({"layers": [64, 32], "dropout": 0.1}, "config.yaml")  # doctest: +SKIP
    """
    if not isinstance(dictionary, Mapping):
        raise InvalidValueError(
            f"log_dict takes a dict, got {type(dictionary).__name__}: {dictionary!r:.80}"
        )
    parts = file_parts(artifact_file)
    plain = as_plain_data(dictionary, "", frozenset())
    if _suffix(parts) in _YAML_SUFFIXES:
        text = yaml_module(artifact_file).safe_dump(
            plain, sort_keys=False, allow_unicode=True, default_flow_style=False
        )
    else:
        text = json.dumps(plain, indent=2, ensure_ascii=False) + "\n"
    data = text.encode("utf-8")
    _write_file(parts, artifact_file, lambda tmp: tmp.write_bytes(data))


def log_figure(figure: Any, artifact_file: str) -> None:
    """Save a matplotlib figure or an Altair chart; the extension of ``artifact_file`` says how.

    matplotlib: any format its canvas saves (png, svg, pdf, ...). Altair: html and json always;
    png, svg and pdf with ``vl-convert-python`` installed.

    Examples
    --------
    >>> nbtrack.log_figure(fig, "plots/loss.png")  # doctest: +SKIP
    """
    kind = f"{type(figure).__module__}.{type(figure).__qualname__}"
    parts = file_parts(artifact_file)
    extension = _suffix(parts).lstrip(".")
    # Never imported here: checking the module name keeps matplotlib and Altair unloaded.
    if kind.startswith("matplotlib.") and hasattr(figure, "savefig"):
        formats = sorted(figure.canvas.get_supported_filetypes())
        if extension not in formats:
            raise InvalidValueError(
                f"log_figure: matplotlib cannot save {artifact_file!r} as {extension!r}; "
                f"end the name in one of: {', '.join('.' + name for name in formats)}"
            )
        _write_file(parts, artifact_file, lambda tmp: figure.savefig(tmp, format=extension))
    elif kind.startswith("altair.") and hasattr(figure, "save"):
        options = _altair_options(artifact_file, extension)
        _write_file(
            parts, artifact_file, lambda tmp: figure.save(str(tmp), format=extension, **options)
        )
    else:
        hint = " (pass the axes' .figure)" if kind.startswith("matplotlib.") else ""
        raise InvalidValueError(
            f"log_figure takes a matplotlib Figure or an Altair chart, got {kind}{hint}"
        )


def _altair_options(artifact_file: str, extension: str) -> dict[str, Any]:
    converter = importlib.util.find_spec("vl_convert") is not None
    if extension == "json":
        return {}
    if extension == "html":
        # With vl-convert the page carries Vega's JavaScript itself and opens offline.
        return {"inline": True} if converter else {}
    if extension in ("png", "svg", "pdf"):
        if not converter:
            raise InvalidValueError(
                f"log_figure: saving an Altair chart as .{extension} ({artifact_file!r}) needs "
                "vl-convert-python: pip install vl-convert-python, or log it as .html"
            )
        return {}
    raise InvalidValueError(
        f"log_figure: an Altair chart cannot be saved as {artifact_file!r}; end the name in "
        ".html, .json, .png, .svg or .pdf"
    )


# -- reading any run by id -----------------------------------------------------------------------


def list_artifacts(run_id: str, path: str | None = None) -> list[FileInfo]:
    """The files and folders directly under ``path`` (the top level by default), sorted.

    Listing a file gives that one file. A run that logged nothing has an empty list.

    Examples
    --------
    >>> [f.path for f in nbtrack.list_artifacts(run.id, "plots")]  # doctest: +SKIP
    ['plots/loss.png', 'plots/roc.svg']
    """
    server = server_store()
    if server is not None:
        asked = () if path is None else relative_parts(path, "path")
        found = listing(server, check_name(run_id, "run_id"), asked)
        return sorted((FileInfo(*entry) for entry in found), key=lambda info: info.path)
    root = _run_root(run_id)
    if path is None:
        if not root.is_dir():
            return []
        parts: tuple[str, ...] = ()
        folder = root
    else:
        parts = relative_parts(path, "path")
        folder = existing(root, parts, path, run_id)
        if not folder.is_dir():
            return [FileInfo(path="/".join(parts), is_dir=False, file_size=folder.stat().st_size)]
    infos = []
    for name, real in visible_entries(root, folder):
        is_dir = real.is_dir()
        infos.append(
            FileInfo(
                path="/".join((*parts, name)),
                is_dir=is_dir,
                file_size=None if is_dir else real.stat().st_size,
            )
        )
    return sorted(infos, key=lambda info: info.path)


def download_artifacts(run_id: str, path: str, dst: str | os.PathLike[str]) -> str:
    """Copy the artifact file or folder ``path`` into the existing folder ``dst``.

    Returns the local path of the copy: ``dst/<last part of path>``.

    Examples
    --------
    >>> nbtrack.download_artifacts(run.id, "model", "/tmp/models")  # doctest: +SKIP
    '/tmp/models/model'
    """
    parts = relative_parts(path, "path")
    destination = Path(os.path.abspath(os.fspath(dst)))
    if destination.exists() and not destination.is_dir():
        raise InvalidValueError(f"download_artifacts: dst {str(destination)!r} is not a folder")
    if not destination.is_dir():
        raise NotFoundError(
            f"download_artifacts: dst {str(destination)!r} does not exist; create it first"
        )
    local = destination / parts[-1]
    server = server_store()
    if server is not None:
        download(server, check_name(run_id, "run_id"), parts, local)
        return str(local)
    root = _run_root(run_id)
    source = existing(root, parts, path, run_id)
    if source.is_dir():
        if local.resolve().is_relative_to(source):
            raise InvalidValueError(
                f"download_artifacts: cannot copy the folder {path!r} into itself ({local})"
            )
        copy_tree(root, source, local, frozenset({source}))
    else:
        write_atomically(local, partial(shutil.copyfile, source))
    return str(local)


def load_text(run_id: str, artifact_file: str) -> str:
    """The text of a UTF-8 artifact file, exactly as logged.

    Examples
    --------
    >>> nbtrack.load_text(run.id, "eval/report.md")  # doctest: +SKIP
    """
    parts = file_parts(artifact_file)
    server = server_store()
    if server is not None:
        data = read_bytes(server, check_name(run_id, "run_id"), parts)
    else:
        data = _local_bytes(run_id, parts, artifact_file)
    try:
        # Bytes decoded by hand: read_text would turn "\r\n" into "\n".
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValueError(
            f"artifact {artifact_file!r} of run {run_id} is not UTF-8 text; copy it with "
            "download_artifacts instead"
        ) from None


def load_dict(run_id: str, artifact_file: str) -> dict[str, Any]:
    """A dict saved by ``log_dict``: YAML for ``.yaml``/``.yml`` files, JSON otherwise.

    Examples
    --------
    >>> nbtrack.load_dict(run.id, "config.yaml")["layers"]  # doctest: +SKIP
    [64, 32]
    """
    text = load_text(run_id, artifact_file)
    if _suffix(file_parts(artifact_file)) in _YAML_SUFFIXES:
        yaml = yaml_module(artifact_file)
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidValueError(
                f"artifact {artifact_file!r} of run {run_id} is not valid YAML: {exc}"
            ) from None
    else:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidValueError(
                f"artifact {artifact_file!r} of run {run_id} is not valid JSON: {exc}"
            ) from None
    if not isinstance(value, dict):
        raise InvalidValueError(
            f"artifact {artifact_file!r} of run {run_id} holds a {type(value).__name__}, not a "
            "dict; read it with load_text"
        )
    return value


# -- the run's folder ----------------------------------------------------------------------------


def _active_root() -> Path:
    # Checked at every write: a run deleted meanwhile (here or in a terminal) gets nothing,
    # and a purged one's folder is not made again.
    return _current.get_run().artifact_dir_for_writing()


def _run_root(run_id: str) -> Path:
    store = current_store()
    return Path(get_run(store, check_name(run_id, "run_id")).artifact_uri).resolve()


def _write_file(parts: tuple[str, ...], artifact_file: str, fill: Callable[[Path], object]) -> None:
    target = inside(_active_root(), parts, artifact_file, "artifact_file")
    keep(target, fill)


def _local_bytes(run_id: str, parts: tuple[str, ...], artifact_file: str) -> bytes:
    target = existing(_run_root(run_id), parts, artifact_file, run_id, "artifact_file")
    if target.is_dir():
        raise InvalidValueError(
            f"artifact {artifact_file!r} of run {run_id} is a folder; see what it holds with "
            f"list_artifacts({run_id!r}, {artifact_file!r})"
        )
    return target.read_bytes()


def _suffix(parts: tuple[str, ...]) -> str:
    return PurePosixPath(parts[-1]).suffix.lower()
