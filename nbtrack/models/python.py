"""The python flavor: any object with ``predict``, or a plain function of the input.

Payloads are cloudpickled, so a class or function written in a notebook loads in another
process. ``_load_pyfunc`` lets MLflow load these models too, where nbtrack is installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nbtrack.models import pickles
from nbtrack.models.flavors import Predictor
from nbtrack.models.integrity import ModelFiles
from nbtrack.models.mlmodel import MLMODEL, parse_mlmodel

PAYLOAD = "model.pkl"


class PythonFlavor:
    """Saves objects with a ``predict`` method and functions ``f(data) -> predictions``."""

    name = "python"
    loader_module = "nbtrack.models.python"

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
        conf = mlmodel["flavors"].get(self.name) or {}
        payload = conf.get("pickled_model", PAYLOAD)
        model = pickles.load(files, payload, conf.get("serialization_format", "cloudpickle"))
        return as_predictor(model)

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


def _load_pyfunc(path: str) -> Predictor:
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
    return FLAVOR.load(ModelFiles(folder, expected=None), mlmodel)


FLAVOR = PythonFlavor()
