"""Saving a model to a directory in MLflow's layout, and loading it back safely.

A saved model directory::

    MLmodel                     flavors, loader, signature, input example info
    model.skops / model.pkl     the payload, as the flavor writes it
    requirements.txt            pinned packages; python_env.yaml and conda.yaml build on it
    input_example.json          when an example was given (and serving_input_example.json)

``save_model`` returns the SHA-256 of every file; the caller records them, and ``load_model``
refuses a directory that does not match them before anything in it is deserialized.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbtrack._version import __version__
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.models.environment import pinned, write_environment
from nbtrack.models.examples import write_input_example
from nbtrack.models.flavors import check_predict_fn, flavor_for, flavor_loading, flavor_named
from nbtrack.models.integrity import ModelFiles, hash_files
from nbtrack.models.mlmodel import MLMODEL, dump_yaml, loader_module, parse_mlmodel
from nbtrack.models.pyfunc import PyFuncModel
from nbtrack.models.signatures import Signature, as_signature, infer_signature

# PyFuncModel is what load_model returns, so it can be imported from here too.
__all__ = ["PyFuncModel", "SavedModel", "load_model", "save_model"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class SavedModel:
    """A model directory just written: ``payload_files`` maps each file to its SHA-256."""

    path: Path
    flavor: str
    payload_files: dict[str, str]
    signature: Signature | None
    model_uuid: str


def save_model(
    model: object,
    path: PathLike,
    *,
    flavor: str | None = None,
    input_example: object = None,
    signature: Signature | Mapping[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    pyfunc_predict_fn: str | None = None,
) -> SavedModel:
    """Write ``model`` to the new (or empty) folder ``path``.

    The flavor is found from the model unless named. ``signature`` is a ``Signature``, an
    MLmodel ``signature`` dict or MLflow's ModelSignature; without one, it is inferred from
    ``input_example`` and the model's predictions on it. ``pyfunc_predict_fn`` names the method
    that ``predict`` of the loaded model calls (``predict_proba``, ...; MLflow's name, written
    as ``python_function.predict_fn``): scikit-learn models take MLflow's list, other objects
    any public method they have.

    Examples
    --------
    >>> saved = save_model(classifier, "model", input_example=X[:2])  # doctest: +SKIP
    >>> saved.payload_files["model.skops"]  # doctest: +SKIP
    '3f1c...'
    """
    target = Path(path)
    chosen = flavor_named(flavor) if flavor is not None else flavor_for(model)
    if not chosen.accepts(model):
        raise InvalidValueError(
            f"the {chosen.name} flavor cannot save a {type(model).__qualname__}"
        )
    method = "predict" if pyfunc_predict_fn is None else pyfunc_predict_fn
    # A plain function has no predict attribute, yet is served by its default.
    check_predict_fn(chosen, method, model if method != "predict" else None)
    if signature is not None:
        signature = as_signature(signature)
    elif input_example is not None:
        signature = _infer(model, input_example, method)
    model_uuid = uuid.uuid4().hex
    with _new_folder(target) as folder:
        flavors = chosen.save(model, folder)
        pyfunc = flavors.setdefault("python_function", {})
        # The flavor's own loader, always: load_model finds the flavor by this name.
        pyfunc["loader_module"] = chosen.loader_module
        if pyfunc_predict_fn is not None:
            pyfunc["predict_fn"] = method
        pyfunc["python_version"] = platform.python_version()
        pyfunc["env"] = write_environment(folder, pinned(chosen.requirements()))
        mlmodel: dict[str, object] = {"flavors": flavors, "model_uuid": model_uuid}
        if input_example is not None:
            mlmodel["saved_input_example_info"] = write_input_example(input_example, folder)
        if signature is not None:
            mlmodel["signature"] = signature.to_mlmodel()
        mlmodel |= {"run_id": run_id, "artifact_path": artifact_path}
        mlmodel["model_size_bytes"] = sum(
            f.stat().st_size for f in folder.rglob("*") if f.is_file()
        )
        mlmodel["utc_time_created"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        # mlflow_version is left out (MLflow reads its absence as "unknown"); this is ours.
        mlmodel["nbtrack_version"] = __version__
        content = {key: value for key, value in mlmodel.items() if value is not None}
        (folder / MLMODEL).write_text(dump_yaml(content), "utf-8")
        hashes = hash_files(folder)
    return SavedModel(target, chosen.name, hashes, signature, model_uuid)


def load_model(
    path: PathLike,
    *,
    expected_hashes: Mapping[str, str] | None = None,
    trusted: bool = False,
) -> PyFuncModel:
    """Load the model directory ``path``, after checking it is the one that was saved.

    ``expected_hashes`` are the ``payload_files`` recorded at save: every file must match
    them. A directory with no record loads only with ``trusted=True``, since loading it may
    unpickle it, which runs code, and its MLmodel names the types skops may rebuild. Recorded
    hashes are checked even then.

    Examples
    --------
    >>> model = load_model("model", expected_hashes=saved.payload_files)  # doctest: +SKIP
    >>> model.predict(df)  # doctest: +SKIP
    """
    folder = Path(path)
    if not (folder / MLMODEL).is_file():
        raise NotFoundError(f"no model at {str(folder)!r}: it has no {MLMODEL} file")
    if expected_hashes is None and not trusted:
        raise InvalidValueError(
            f"refusing to load {str(folder)!r}: this model directory is not recorded in the "
            "store; load it with trusted=True if you trust its origin (loading may unpickle "
            "it, which runs code)"
        )
    files = ModelFiles(folder, expected_hashes)
    files.verify()
    try:
        text = files.read_bytes(MLMODEL).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValueError(f"{str(folder)!r}: MLmodel is not UTF-8 text") from None
    mlmodel = parse_mlmodel(text, str(folder))
    flavor = flavor_loading(loader_module(mlmodel))
    entry = mlmodel.get("signature")
    signature = Signature.from_mlmodel(entry) if isinstance(entry, dict) else None
    return PyFuncModel(flavor.load(files, mlmodel), mlmodel, flavor.name, signature)


def _infer(model: object, example: object, method: str) -> Signature:
    from nbtrack.models.inputs import as_model_input

    inputs = infer_signature(example).inputs
    # The outputs of the method served, not of predict: predict_proba returns probabilities.
    predict: Any = getattr(model, method, model)
    try:
        return infer_signature(example, predict(as_model_input(example, "input_example")))
    except Exception as exc:
        # The example still describes the input; only the output stays unknown.
        warnings.warn(
            f"signature without outputs: predicting on input_example failed: {exc}", stacklevel=3
        )
        return Signature(inputs=inputs)


@contextmanager
def _new_folder(target: Path) -> Iterator[Path]:
    """A folder to fill, which becomes ``target`` in one rename when the block succeeds.

    Readers never see half a model, and a failed save leaves nothing behind. The rename
    replaces an empty ``target`` and fails on a non-empty one, even if another process
    filled it meanwhile. Nothing is fsynced: after a power cut a file may come back short,
    and then its hash no longer matches the record, so the model is refused rather than
    loaded damaged; the journal, which holds what was logged, is no safer than the OS either.
    """
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise InvalidValueError(
            f"cannot save a model to {str(target)!r}: it exists and is not an empty folder; "
            "give a new folder"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Made with mkdir, not mkdtemp, so the model folder gets the usual permissions.
    building = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    building.mkdir()
    try:
        yield building
        try:
            os.replace(building, target)
        except OSError as exc:
            raise InvalidValueError(
                f"cannot save a model to {str(target)!r}: {exc.strerror}; give a new folder"
            ) from None
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
