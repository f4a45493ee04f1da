"""Pickled payloads, written with cloudpickle so that they load in another process.

cloudpickle stores classes and functions defined in ``__main__`` (a notebook) by value, where
plain pickle would store a reference that no other process can resolve. Reading needs only
``pickle``: cloudpickle's output is ordinary pickle data.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path

from nbtrack.errors import InvalidValueError
from nbtrack.models.integrity import ModelFiles

SERIALIZATION = "cloudpickle"
# MLflow writes "pickle" too; cloudpickle's output reads the same way.
READABLE = ("cloudpickle", "pickle")


def dump(model: object, path: Path) -> str:
    """Write ``model`` to ``path``; return the cloudpickle version that wrote it."""
    try:
        cloudpickle = importlib.import_module("cloudpickle")
    except ImportError:
        raise InvalidValueError(
            "saving a model needs cloudpickle: pip install cloudpickle"
        ) from None
    try:
        with path.open("wb") as stream:
            cloudpickle.dump(model, stream)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InvalidValueError(
            f"a {type(model).__qualname__} cannot be pickled ({exc}); a model holding open "
            "files, locks or connections must drop them before it is saved"
        ) from None
    # The module that wrote the file, not a metadata lookup (a scan of site-packages).
    return str(cloudpickle.__version__)


def load(files: ModelFiles, name: str, serialization: str) -> object:
    """Unpickle ``name`` from the model's files: only bytes whose hash matched are unpickled."""
    if serialization not in READABLE:
        raise InvalidValueError(
            f"the model's payload is in {serialization!r} format; nbtrack reads "
            f"{', '.join(READABLE)}"
        )
    return pickle.loads(files.read_bytes(name))
