"""Atomic files: each file is written under a temporary name beside its destination and renamed
over it, so a crash never leaves half a file under the real name.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from nbtrack.errors import InvalidValueError

# The temporary name ends in this, so that listings can leave half-written files out.
PARTIAL_SUFFIX = ".nbtrack-partial"


def make_folder(folder: Path) -> None:
    """``folder`` and its parents, made where missing."""
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
    make_folder(target.parent)
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
