"""The python flavor: any object with ``predict``, or a plain function of the input.

Payloads are cloudpickled, so a class or function written in a notebook loads in another
process. ``_load_pyfunc`` lets MLflow load these models too, where nbtrack is installed.
``python_function.predict_fn`` may name another public method of the object
(``pyfunc_predict_fn``); MLflow calls that one too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nbtrack.models import pickles
from nbtrack.models.flavors import PUBLIC_METHODS, Method, Predictor, check_predict_fn
from nbtrack.models.integrity import ModelFiles
from nbtrack.models.mlmodel import MLMODEL, parse_mlmodel

PAYLOAD = "model.pkl"


class PythonFlavor:
    """Saves objects with a ``predict`` method and functions ``f(data) -> predictions``."""

    name = "python"
    loader_module = "nbtrack.models.python"
    predict_fns = PUBLIC_METHODS

    def accepts(self, model: object) -> bool:
        # A class is callable and has predict, but predicting needs an instance.
        if isinstance(model, type):
            return False
        return callable(getattr(model, "predict", None)) or callable(model)

    def save(self, model: object, folder: Path) -> dict[str, dict[str, Any]]:
        cloudpickle_version = pickles.dump(model, folder / PAYLOAD)
        return {
            "python_function": {"model_path": PAYLOAD},
            self.name: {
                "pickled_model": PAYLOAD,
                "serialization_format": pickles.SERIALIZATION,
                "cloudpickle_version": cloudpickle_version,
            },
        }

    def load(self, files: ModelFiles, mlmodel: Mapping[str, Any]) -> Predictor:
        model, method = self.read(files, mlmodel)
        return as_predictor(model) if method == "predict" else Method(model, method)

    def read(self, files: ModelFiles, mlmodel: Mapping[str, Any]) -> tuple[object, str]:
        """The unpickled object and the method ``predict_fn`` chose, which it has."""
        conf = mlmodel["flavors"].get(self.name) or {}
        payload = conf.get("pickled_model", PAYLOAD)
        method = mlmodel["flavors"]["python_function"].get("predict_fn") or "predict"
        # Checked before unpickling: the name comes from a file.
        check_predict_fn(self, method)
        model = pickles.load(files, payload, conf.get("serialization_format", "cloudpickle"))
        if method != "predict":
            check_predict_fn(self, method, model)
        return model, method

    def requirements(self) -> list[str]:
        return ["cloudpickle", "nbtrack"]


def as_predictor(model: object) -> Predictor:
    """``model`` itself if it has ``predict``; a function wrapped so that it has."""
    if callable(getattr(model, "predict", None)):
        return model  # type: ignore[return-value]  # checked just above
    if callable(model):
        return _Function(model)
    raise TypeError(f"{type(model).__qualname__} has no predict method and is not callable")


class _Function:
    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def predict(self, data: Any, /) -> Any:
        return self.function(data)


def _load_pyfunc(path: str) -> object:
    """MLflow's entry point: ``mlflow.pyfunc.load_model`` calls it with the model directory.

    MLflow has no payload hashes; it loads under its own rule, as for its flavors: no
    unpickling when ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` is false (read by MLflow's code).
    """
    variables = importlib.import_module("mlflow.environment_variables")
    if not variables.MLFLOW_ALLOW_PICKLE_DESERIALIZATION.get():
        raise PermissionError(
            "loading this model unpickles it; set MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true if "
            "you trust its origin, or load it with nbtrack, which checks its recorded hashes"
        )
    folder = Path(path)
    folder = folder.parent if folder.is_file() else folder
    mlmodel = parse_mlmodel((folder / MLMODEL).read_text("utf-8"), str(folder))
    model, method = FLAVOR.read(ModelFiles(folder, expected=None), mlmodel)
    # MLflow calls the predict_fn method of what this returns.
    return as_predictor(model) if method == "predict" else model


FLAVOR = PythonFlavor()
