"""Models in runs: ``log_model`` saves one beside the run's artifacts and records its payload
hashes in the store; ``load_model`` checks them before anything is unpickled."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from nbtrack.errors import InvalidValueError
from nbtrack.store import payloads, records
from nbtrack.store.current import current_store
from nbtrack.store.schema import ARTIFACTS_FOLDER
from nbtrack.store.store import Store
from nbtrack.tracking import _current
from nbtrack.tracking.artifact_paths import relative_parts
from nbtrack.tracking.remote_artifacts import fetched, send_folder
from nbtrack.tracking.run import ActiveRun, get_run

if TYPE_CHECKING:
    from nbtrack.models.format import PyFuncModel

RUNS_SCHEME = "runs:/"
ACCEPTED_URIS = "runs:/<run_id>/<path> or the path of a local model folder"


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` returns: where the model is and what it is."""

    model_uri: str
    run_id: str
    artifact_path: str
    flavor: str
    model_uuid: str
    signature: dict[str, Any] | None
    registered_model_version: int | None = None

    def __repr__(self) -> str:
        # One line: the signature's JSON is for MLmodel files, not for a notebook cell.
        parts = [self.model_uri, self.flavor]
        if self.registered_model_version is not None:
            parts.append(f"registered version {self.registered_model_version}")
        if self.signature:
            parts += [
                f"{side}: {schema_summary(self.signature.get(side))}"
                for side in ("inputs", "outputs")
                if self.signature.get(side)
            ]
        return f"<ModelInfo {' · '.join(parts)}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def schema_summary(schema: object, limit: int = 4) -> str:
    """One side of a signature in a few words: ``4 columns (x1 double, x2 long, ...)`` or
    ``tensor float64 (-1, 4)``. ``schema`` is MLmodel's JSON text of specs (or its list)."""
    try:
        specs = json.loads(schema) if isinstance(schema, str) else schema
    except ValueError:
        return "unreadable"
    if not isinstance(specs, list) or not all(isinstance(spec, dict) for spec in specs):
        return "unreadable"
    if len(specs) == 1 and specs[0].get("type") == "tensor":
        tensor = specs[0].get("tensor-spec") or {}
        shape = tuple(tensor.get("shape") or ())
        return f"tensor {tensor.get('dtype', '?')} {shape}".replace(",)", ")")
    columns = [" ".join(str(spec[k]) for k in ("name", "type") if spec.get(k)) for spec in specs]
    shown = columns[:limit] + ([f"… {len(columns) - limit} more"] if len(columns) > limit else [])
    return f"{len(columns)} column{'' if len(columns) == 1 else 's'} ({', '.join(shown)})"


def log_model(
    model: Any,
    artifact_path: str = "model",
    input_example: Any = None,
    signature: Any = None,
    pyfunc_predict_fn: str | None = None,
) -> ModelInfo:
    """Save ``model`` in MLflow's format under the active run and record its payload hashes.

    scikit-learn estimators and pipelines are saved so that MLflow loads them too; any other
    object with ``predict`` (or a plain function) is saved with cloudpickle. A signature is
    inferred from ``input_example`` and the model's output when none is given.
    ``pyfunc_predict_fn`` chooses the method the loaded (and served) model's ``predict`` calls,
    such as ``"predict_proba"``, as in MLflow.

    Examples
    --------
    >>> info = nbtrack.log_model(pipeline, "model", input_example=X_train[:5])  # doctest: +SKIP
    >>> nbtrack.load_model(info.model_uri).predict(X_test)  # doctest: +SKIP
    """
    return save_to_run(
        _current.get_run(), model, artifact_path, input_example, signature, pyfunc_predict_fn
    )


def save_to_run(
    run: ActiveRun,
    model: Any,
    artifact_path: str = "model",
    input_example: Any = None,
    signature: Any = None,
    pyfunc_predict_fn: str | None = None,
) -> ModelInfo:
    """``log_model`` into ``run``, active or not (autolog's worker logs to a fit's run)."""
    from nbtrack.models.format import save_model

    relative = _artifact_path(artifact_path)
    # Before anything is saved: a deleted or purged run gets no model folder.
    folder = run.artifact_dir_for_writing()
    target = folder.joinpath(*PurePosixPath(relative).parts)
    if not target.resolve().is_relative_to(folder):
        raise InvalidValueError(f"artifact_path {artifact_path!r} leaves the run's folder")
    saved = save_model(
        model,
        target,
        input_example=input_example,
        signature=signature,
        run_id=run.id,
        pyfunc_predict_fn=pyfunc_predict_fn,
    )
    _record_payloads(run, relative, saved.model_uuid, saved.payload_files)
    send_folder(target)
    return ModelInfo(
        model_uri=f"{RUNS_SCHEME}{run.id}/{relative}",
        run_id=run.id,
        artifact_path=relative,
        flavor=saved.flavor,
        model_uuid=saved.model_uuid,
        signature=None if saved.signature is None else saved.signature.to_mlmodel(),
    )


def _record_payloads(
    run: ActiveRun, relative: str, model_uuid: str, hashes: dict[str, str]
) -> None:
    """The payload hashes as one journal record of the run's own store (the current one may
    have changed since: autolog logs later), ingested with the run's other records.

    Not a synchronous write: that opened the store, ingested everything pending and
    checkpointed for each model (about 30 ms of CPU, the largest part of an autologged fit's
    model). Nothing loads the model before the record is in: every read, ``load_model`` and
    registering included, ingests the journals first, and the record is in the journal
    before this returns, so a crash right after loses it no more than a metric.
    """
    journal = run.store.journal
    at = time.time_ns() // 1000
    journal.append(
        records.model_line(run.id, relative, model_uuid, hashes, at, journal.next_counter())
    )


def load_model(model_uri: str | Path, trusted: bool = False) -> PyFuncModel:
    """Load a model with ``.predict(DataFrame)``: ``runs:/<run_id>/<path>`` or a local folder.

    A model recorded in the store loads only if its payload files still have the hashes
    recorded when it was saved, checked before anything is unpickled. A folder the store
    has no record of loads only with ``trusted=True``: unpickling runs code.
    """
    from nbtrack.models.format import load_model as load_folder

    store = current_store()
    if isinstance(model_uri, str) and model_uri.startswith(RUNS_SCHEME):
        run_id, _, relative = model_uri[len(RUNS_SCHEME) :].partition("/")
        relative = _artifact_path(relative or "model")
        folder = get_run(store, run_id).artifact_uri
        path = Path(folder).joinpath(*PurePosixPath(relative).parts)
        hashes = store.read(payloads.model_payloads, run_id, relative)
    elif isinstance(model_uri, (str, Path)) and ":/" not in str(model_uri):
        path = Path(model_uri).expanduser().resolve()
        hashes = recorded_model(store, path)[1]
    else:
        raise InvalidValueError(f"model URI {model_uri!r} is not accepted; give {ACCEPTED_URIS}")
    with fetched(path) as local:
        if not local.is_dir():
            raise InvalidValueError(f"no model folder at {model_uri!r} ({path})")
        return load_folder(local, expected_hashes=hashes or None, trusted=trusted)


def recorded_model(store: Store, folder: Path) -> tuple[str | None, dict[str, str]]:
    """The run and recorded hashes of a folder that is some run's model, else (None, {})."""
    artifacts_root = (store.folder / ARTIFACTS_FOLDER).resolve()
    if not folder.is_relative_to(artifacts_root):
        return None, {}
    parts = folder.relative_to(artifacts_root).parts
    # <experiment>/<run id>/artifacts/<artifact path...>
    if len(parts) < 4 or parts[2] != "artifacts":
        return None, {}
    return parts[1], store.read(payloads.model_payloads, parts[1], "/".join(parts[3:]))


def _artifact_path(value: object) -> str:
    return "/".join(relative_parts(value, "artifact_path"))
