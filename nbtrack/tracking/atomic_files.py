"""Atomic files: each file is written under a temporary name beside its destination and renamed
over it, so a crash never leaves half a file under the real name.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from nbtrack.errors import InvalidValueError

# The temporary name ends in this, so that listings can leave half-written files out.
PARTIAL_SUFFIX = ".nbtrack-partial"
# The start of the file's own name kept in the temporary one, in bytes: short enough that
# beside a 255-byte name the temporary name still fits in 255 bytes.
_NAME_KEPT_BYTES = 100
# The longest a temporary name gets: ".", the kept start, ".", 12 hex digits, the suffix.
TEMPORARY_NAME_BYTES = 1 + _NAME_KEPT_BYTES + 1 + 12 + len(PARTIAL_SUFFIX)


def make_folder(folder: Path) -> None:
    """``folder`` and its parents, made where missing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidValueError(
            f"cannot make the folder {str(folder)!r}: a file of that name is in the way"
        ) from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise _too_long(folder) from None
        raise


def write_atomically(target: Path, fill: Callable[[Path], object]) -> None:
    """Let ``fill`` write a new file beside ``target``, then rename it to ``target``."""
    if target.is_dir():
        raise InvalidValueError(
            f"cannot write the file {str(target)!r}: a folder of that name is in the way"
        )
    make_folder(target.parent)
    # Cut by bytes, not characters: 100 characters of UTF-8 can take 400 bytes.
    kept = target.name.encode()[:_NAME_KEPT_BYTES].decode(errors="ignore")
    temporary = target.parent / f".{kept}.{secrets.token_hex(6)}{PARTIAL_SUFFIX}"
    # O_EXCL: never an existing file or link; mode 0o666 lets the umask decide, as for any file.
    try:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise _too_long(target) from None
        raise
    try:
        fill(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _too_long(path: Path) -> InvalidValueError:
    """A path the file system refuses as too long comes from the caller's input (a download's
    destination, say), so it is an InvalidValueError, not an OSError from deep inside."""
    text = str(path)
    shown = text if len(text) <= 80 else text[:40] + "..." + text[-37:]
    return InvalidValueError(
        f"cannot write {shown!r}: the file system refuses the path as too long "
        f"({len(os.fsencode(text))} bytes); choose a shorter destination or artifact path"
    )
