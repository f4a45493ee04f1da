"""Payloads in skops' format: scikit-learn models stored as data, read back without unpickling.

A skops file is a zip of JSON and arrays. Reading it rebuilds only the types skops trusts
(scikit-learn's, numpy's, scipy's...) and the ones the caller names; it refuses any other
type. nbtrack names exactly the model's own list, ``skops_trusted_types`` in MLmodel, as MLflow
does, and never trusts everything. skops is optional and imported only when a model is saved
or loaded.
"""

from __future__ import annotations

import importlib
import zipfile
from collections.abc import Sequence
from typing import Any

from nbtrack.errors import InvalidValueError
from nbtrack.models.integrity import ModelFiles

SERIALIZATION = "skops"
PAYLOAD = "model.skops"


def dumps(model: object) -> bytes | None:
    """``model`` in skops' format, or None when skops cannot hold it with its default trust.

    None when skops is not installed, cannot write the model, or would read it back only by
    trusting a type it does not trust by default (a class defined in a notebook, a tree's node
    storage): such a model is pickled instead, as before skops.
    """
    try:
        skops_io = _skops_io()
    except ImportError:
        return None
    try:
        data: bytes = skops_io.dumps(model)
        if skops_io.get_untrusted_types(data=data):
            return None
        # Read back as MLflow does when it saves: a file skops writes but cannot read is no use.
        skops_io.loads(data, trusted=None)
    except Exception:
        # skops raises TypeError, its UnsupportedTypeException, AttributeError... for objects it
        # cannot hold; each means the same here: cloudpickle, which holds any object, takes it.
        return None
    return data


def load(files: ModelFiles, name: str, trusted_types: object) -> object:
    """Read ``name`` with skops, trusting beyond skops' defaults only ``trusted_types``.

    ``trusted_types`` is MLmodel's ``skops_trusted_types``: a list of type names, or None. The
    bytes read are the ones whose hash ``files`` checked.
    """
    allowed = _type_names(trusted_types)
    try:
        skops_io = _skops_io()
    except ImportError:
        raise InvalidValueError(
            f"loading this model needs skops, which reads its payload {name}: pip install skops"
        ) from None
    data = files.read_bytes(name)
    try:
        found: list[str] = skops_io.get_untrusted_types(data=data)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        # ValueError includes broken JSON in the zip, and empty data.
        raise InvalidValueError(
            f"refusing to load: {name} is not a skops file skops can read "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if refused := [type_name for type_name in found if type_name not in allowed]:
        listed = ", ".join(allowed) if allowed else "none"
        raise InvalidValueError(
            f"refusing to load: {name} holds types skops does not trust: {', '.join(refused)}; "
            "a type loads only when the model's MLmodel lists it under "
            f"flavors.sklearn.skops_trusted_types (which lists {listed}): add one there only "
            "if you trust where the model came from"
        )
    return skops_io.loads(data, trusted=allowed)


def _type_names(trusted_types: object) -> list[str]:
    if trusted_types is None:
        return []
    if isinstance(trusted_types, Sequence) and not isinstance(trusted_types, str):
        names = list(trusted_types)
        if all(isinstance(name, str) for name in names):
            return names
    raise InvalidValueError(
        f"MLmodel's skops_trusted_types is {trusted_types!r}; it may be a list of type names, "
        "such as ['mypackage.MyEstimator'], or null"
    )


def _skops_io() -> Any:
    # import_module, not import: skops ships no type information, and stays optional.
    return importlib.import_module("skops.io")
