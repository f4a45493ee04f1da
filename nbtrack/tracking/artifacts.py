"""Artifacts: the files a run keeps in its own folder, ``<store folder>/nbtrack-artifacts/...``.

Writers go to the active run; readers take any run of the current store by id. Every path a
user gives is checked twice: as text (relative, ``/``-separated, no ``..``, no backslash, no
percent-encoded traversal, no NUL) and, once resolved, against the run's resolved folder, so a
symbolic link cannot lead a read or a write outside it. Each file is written under a temporary
name beside its destination and renamed over it, so a crash never leaves half a file under the
real name.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.store.store import current_store
from nbtrack.tracking import _current
from nbtrack.tracking.run import get_run
from nbtrack.tracking.validation import check_name

ACCEPTED = (
    "a relative path with '/' between its parts, such as 'plots/loss.png' "
    "(no leading '/', no '..' parts, no backslashes, no percent-encoded dots or slashes, "
    "no NUL bytes)"
)
PARTIAL_SUFFIX = ".nbtrack-partial"
_YAML_SUFFIXES = (".yaml", ".yml")
_DRIVE = re.compile(r"^[A-Za-z]:")
_LISTED_IN_ERRORS = 20

# The folder of each active run, resolved once: finding it costs a read of the store.


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
    source = _local_file(local_path)
    base = () if artifact_path is None else relative_parts(artifact_path, "artifact_path")
    relative = base + relative_parts(source.name, f"the name of the local file {str(source)!r}")
    root = _active_root()
    target = _inside(root, relative, "/".join(relative), "artifact")
    write_atomically(target, partial(shutil.copyfile, source))


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy the contents of a local folder, sub-folders included, into the active run's artifacts.

    Every destination is checked before the first file is copied.

    Examples
    --------
    >>> nbtrack.log_artifacts("outputs/", artifact_path="outputs")  # doctest: +SKIP
    """
    source = _local_folder(local_dir)
    root = _active_root()
    base = () if artifact_path is None else relative_parts(artifact_path, "artifact_path")
    folders: list[Path] = [_inside(root, base, "/".join(base), "artifact_path")] if base else []
    files: list[tuple[Path, Path]] = []
    for relative, local, is_dir in _local_tree(source, root):
        parts = base + relative_parts(relative, f"the name of the local file {str(local)!r}")
        target = _inside(root, parts, "/".join(parts), "artifact")
        if is_dir:
            folders.append(target)
        else:
            files.append((local, target))
    for folder in folders:
        _make_folder(folder)
    for local, target in files:
        write_atomically(target, partial(shutil.copyfile, local))


def log_text(text: str, artifact_file: str) -> None:
    """Save ``text`` as the UTF-8 file ``artifact_file`` of the active run.

    Examples
    --------
    >>> nbtrack.log_text(report, "eval/report.md")  # doctest: +SKIP
    """
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
    _write_file(_file_parts(artifact_file), artifact_file, lambda tmp: tmp.write_bytes(data))


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
    parts = _file_parts(artifact_file)
    plain = _plain(dictionary, "", frozenset())
    if _suffix(parts) in _YAML_SUFFIXES:
        text = _yaml(artifact_file).safe_dump(
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
    parts = _file_parts(artifact_file)
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
    root = _run_root(run_id)
    if path is None:
        if not root.is_dir():
            return []
        parts: tuple[str, ...] = ()
        folder = root
    else:
        parts = relative_parts(path, "path")
        folder = _existing(root, parts, path, run_id)
        if not folder.is_dir():
            return [FileInfo(path="/".join(parts), is_dir=False, file_size=folder.stat().st_size)]
    infos = []
    for name, real in _entries(root, folder):
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
    root = _run_root(run_id)
    source = _existing(root, parts, path, run_id)
    local = destination / parts[-1]
    if source.is_dir():
        if local.resolve().is_relative_to(source):
            raise InvalidValueError(
                f"download_artifacts: cannot copy the folder {path!r} into itself ({local})"
            )
        _copy_tree(root, source, local, frozenset({source}))
    else:
        write_atomically(local, partial(shutil.copyfile, source))
    return str(local)


def load_text(run_id: str, artifact_file: str) -> str:
    """The text of a UTF-8 artifact file, exactly as logged.

    Examples
    --------
    >>> nbtrack.load_text(run.id, "eval/report.md")  # doctest: +SKIP
    """
    parts = _file_parts(artifact_file)
    root = _run_root(run_id)
    target = _existing(root, parts, artifact_file, run_id, "artifact_file")
    if target.is_dir():
        raise InvalidValueError(
            f"artifact {artifact_file!r} of run {run_id} is a folder; see what it holds with "
            f"list_artifacts({run_id!r}, {artifact_file!r})"
        )
    try:
        # Bytes decoded by hand: read_text would turn "\r\n" into "\n".
        return target.read_bytes().decode("utf-8")
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
    if _suffix(_file_parts(artifact_file)) in _YAML_SUFFIXES:
        yaml = _yaml(artifact_file)
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


# -- paths ---------------------------------------------------------------------------------------


def relative_parts(value: object, what: str) -> tuple[str, ...]:
    """The parts of a user's artifact path, refused unless it is plainly relative."""
    if not isinstance(value, str):
        raise InvalidValueError(
            f"{what} must be a str, got {type(value).__name__}: {value!r:.80}; give {ACCEPTED}"
        )
    problem = _problem(value)
    if problem is None:
        decoded = _percent_decoded(value)
        if decoded != value and _problem(decoded) is not None:
            problem = f"it decodes to {decoded!r}"
    parts = tuple(part for part in value.split("/") if part not in ("", "."))
    if problem is None and not parts:
        problem = "it names no file or folder"
    if problem is not None:
        raise InvalidValueError(f"{what} {value!r} is not accepted: {problem}; give {ACCEPTED}")
    return parts


def _problem(value: str) -> str | None:
    if not value:
        return "it is empty"
    if "\x00" in value:
        return "it contains a NUL byte"
    if "\\" in value:
        return "it contains a backslash"
    if value.startswith("/") or _DRIVE.match(value):
        return "it is absolute"
    if ".." in value.split("/"):
        return "it has a '..' part"
    try:
        value.encode()
    except UnicodeEncodeError:
        return "it is not valid unicode"
    return None


def _percent_decoded(value: str) -> str:
    # Decoded until stable, so "%252e%252e" cannot smuggle ".." past a single decoding.
    for _ in range(5):
        decoded = unquote(value) if "%" in value else value
        if decoded == value:
            break
        value = decoded
    return value


def _file_parts(artifact_file: str) -> tuple[str, ...]:
    parts = relative_parts(artifact_file, "artifact_file")
    if artifact_file.endswith("/"):
        raise InvalidValueError(
            f"artifact_file {artifact_file!r} ends in '/'; name a file, such as "
            f"{artifact_file}data.json"
        )
    return parts


def _suffix(parts: tuple[str, ...]) -> str:
    return PurePosixPath(parts[-1]).suffix.lower()


def _inside(root: Path, parts: tuple[str, ...], value: str, what: str) -> Path:
    """``root/parts`` resolved, refused if a symbolic link leads it out of ``root``."""
    target = _resolved(root.joinpath(*parts))
    if target is None:
        raise InvalidValueError(
            f"{what} {value!r} is not accepted: it goes round a loop of symbolic links"
        )
    if not target.is_relative_to(root):
        raise InvalidValueError(
            f"{what} {value!r} is not accepted: a symbolic link leads it outside the run's "
            f"artifact folder (to {target}); give a path that stays inside {root}"
        )
    return target


def _resolved(path: Path) -> Path | None:
    """``path`` with every link followed, or None for a loop of links."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a loop, 3.13 OSError
        return None


def _existing(
    root: Path, parts: tuple[str, ...], value: str, run_id: str, what: str = "path"
) -> Path:
    target = _inside(root, parts, value, what)
    if target.exists():
        return target
    level: tuple[str, ...] = ()
    for part in parts[:-1]:
        candidate = _resolved(root.joinpath(*level, part))
        if candidate is None or not (candidate.is_dir() and candidate.is_relative_to(root)):
            break
        level += (part,)
    folder = root.joinpath(*level).resolve()
    names = [
        name + ("/" if real.is_dir() else "")
        for name, real in (_entries(root, folder) if folder.is_dir() else [])
    ]
    where = f"in {'/'.join(level)!r}" if level else "at the top level"
    if not names:
        found = "nothing is there" if level else "the run has no artifacts"
    else:
        shown = sorted(names)[:_LISTED_IN_ERRORS]
        more = f" (and {len(names) - len(shown)} more)" if len(names) > len(shown) else ""
        found = "there is: " + ", ".join(shown) + more
    raise NotFoundError(f"run {run_id} has no artifact {value!r}; {where} {found}")


def _entries(root: Path, folder: Path) -> list[tuple[str, Path]]:
    """Names in ``folder`` with their resolved paths, leaving out half-written files and links
    that lead outside ``root`` (what they point at is not the run's to show)."""
    entries = []
    with os.scandir(folder) as scan:
        for entry in scan:
            if entry.name.startswith(".") and entry.name.endswith(PARTIAL_SUFFIX):
                continue
            real = _resolved(Path(entry.path))
            if real is not None and real.is_relative_to(root) and real.exists():
                entries.append((entry.name, real))
    return entries


# -- runs and local files ------------------------------------------------------------------------


def _active_root() -> Path:
    return _current.get_run().artifact_dir


def _run_root(run_id: str) -> Path:
    store = current_store()
    return Path(get_run(store, check_name(run_id, "run_id")).artifact_uri).resolve()


def _local_path(value: str | os.PathLike[str], what: str) -> Path:
    try:
        path = Path(os.fspath(value))
    except TypeError:
        raise InvalidValueError(
            f"{what} must be a path (str or os.PathLike), got {type(value).__name__}"
        ) from None
    if not str(path) or "\x00" in str(path):
        raise InvalidValueError(f"{what} {str(path)!r} is not a file path")
    if not path.exists():
        raise NotFoundError(f"{what} {str(path)!r} does not exist (looked from {Path.cwd()})")
    return path


def _local_file(local_path: str | os.PathLike[str]) -> Path:
    path = _local_path(local_path, "local file")
    if path.is_dir():
        raise InvalidValueError(
            f"{str(path)!r} is a folder; log a folder with log_artifacts({str(path)!r})"
        )
    if not path.is_file():
        raise InvalidValueError(f"{str(path)!r} is not a regular file (a pipe, socket or device)")
    return path


def _local_folder(local_dir: str | os.PathLike[str]) -> Path:
    path = _local_path(local_dir, "local folder")
    if not path.is_dir():
        raise InvalidValueError(
            f"{str(path)!r} is a file, not a folder; log one file with log_artifact({str(path)!r})"
        )
    return path


def _local_tree(source: Path, root: Path) -> list[tuple[str, Path, bool]]:
    """Every file and empty folder under ``source`` as (relative posix path, path, is_dir).

    Linked folders are followed, but never back into one of their own parents, nor into the
    run's artifact folder (logging a parent folder must not copy the run into itself).
    """
    found: list[tuple[str, Path, bool]] = []
    above: dict[str, frozenset[Path]] = {str(source): frozenset({source.resolve()})}
    for folder, dirnames, filenames in os.walk(source, followlinks=True):
        parents = above.pop(folder)
        relative = Path(folder).relative_to(source)
        kept = []
        for name in sorted(dirnames):
            real = Path(folder, name).resolve()
            if real not in parents and real != root:
                kept.append(name)
                above[os.path.join(folder, name)] = parents | {real}
        dirnames[:] = kept
        for name in sorted(filenames):
            local = Path(folder, name)
            if not local.is_file():
                raise InvalidValueError(
                    f"log_artifacts: {str(local)!r} is not a regular file (a broken link, pipe "
                    "or device); nothing was logged"
                )
            found.append(((relative / name).as_posix(), local, False))
        if not kept and not filenames and folder != str(source):
            found.append((relative.as_posix(), Path(folder), True))
    return found


def _copy_tree(root: Path, folder: Path, local: Path, parents: frozenset[Path]) -> None:
    _make_folder(local)
    for name, real in _entries(root, folder):
        if real.is_dir():
            if real not in parents:
                _copy_tree(root, real, local / name, parents | {real})
        else:
            write_atomically(local / name, partial(shutil.copyfile, real))


# -- writing files -------------------------------------------------------------------------------


def _write_file(parts: tuple[str, ...], artifact_file: str, fill: Callable[[Path], object]) -> None:
    target = _inside(_active_root(), parts, artifact_file, "artifact_file")
    write_atomically(target, fill)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidValueError(
            f"cannot make the folder {str(folder)!r}: a file of that name is in the way"
        ) from None


def write_atomically(target: Path, fill: Callable[[Path], object]) -> None:
    """Let ``fill`` write a new file beside ``target``, then rename it to ``target``."""
    if target.is_dir():
        raise InvalidValueError(
            f"cannot write the file {str(target)!r}: a folder of that name is in the way"
        )
    _make_folder(target.parent)
    # Short enough that a 255-byte file name still leaves room for the temporary one.
    temporary = target.parent / f".{target.name[:100]}.{secrets.token_hex(6)}{PARTIAL_SUFFIX}"
    # O_EXCL: never an existing file or link; mode 0o666 lets the umask decide, as for any file.
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        fill(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# -- values --------------------------------------------------------------------------------------


def _plain(value: Any, where: str, parents: frozenset[int]) -> Any:
    """``value`` as plain JSON/YAML data, or an error saying where it cannot be."""
    if value is None:
        return None
    # Subclasses (numpy floats, IntEnum, ...) become their base type: YAML's safe dumper
    # knows only the exact types. str.__str__, as str() of a (str, Enum) gives "Cls.NAME".
    if isinstance(value, str):
        return str.__str__(value)
    for base in (bool, int, float):
        if isinstance(value, base):
            return base(value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        # numpy scalars and arrays, the values a training loop most often hands over.
        return _plain(value.tolist(), where, parents)
    if isinstance(value, Mapping | list | tuple):
        if id(value) in parents:
            raise InvalidValueError(f"log_dict: the value at {where or 'the top'} contains itself")
        inner = parents | {id(value)}
        if isinstance(value, Mapping):
            plain = {}
            for key, item in value.items():
                if key is not None and not isinstance(key, (str, bool, int, float)):
                    raise InvalidValueError(
                        f"log_dict: key {key!r} at {where or 'the top'} is a "
                        f"{type(key).__name__}; keys are str, numbers, bools or None"
                    )
                plain[_plain(key, where, inner)] = _plain(item, f"{where}[{key!r}]", inner)
            return plain
        return [_plain(item, f"{where}[{index}]", inner) for index, item in enumerate(value)]
    raise InvalidValueError(
        f"log_dict: the value at {where or 'the top'} is a {type(value).__name__} "
        f"({value!r:.60}), which JSON and YAML cannot hold; give str, numbers, bools, None, "
        "lists or dicts"
    )


def _yaml(artifact_file: str) -> Any:
    try:
        # import_module, not import: PyYAML's type stubs are an optional install.
        return importlib.import_module("yaml")
    except ImportError:
        raise InvalidValueError(
            f"{artifact_file!r} is a YAML file, which needs PyYAML: pip install pyyaml, or use "
            "a .json name"
        ) from None
