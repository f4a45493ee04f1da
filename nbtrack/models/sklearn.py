"""The scikit-learn flavor: estimators and pipelines, as MLflow's ``sklearn`` flavor.

Its MLmodel names ``mlflow.sklearn`` as the loader, so MLflow and its tools load these models
without nbtrack; nbtrack maps that name to the loader below, never importing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidValueError
from nbtrack.models import pickles
from nbtrack.models.flavors import Predictor
from nbtrack.models.integrity import ModelFiles

PAYLOAD = "model.pkl"
# The methods MLflow lets python_function.predict_fn name.
_PREDICT_FNS = ("predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")


class SklearnFlavor:
    """Saves anything whose class derives from a scikit-learn class."""

    name = "sklearn"
    loader_module = "mlflow.sklearn"

    def accepts(self, model: object) -> bool:
        # Read from the class hierarchy: nothing is imported to decide.
        return any(cls.__module__.partition(".")[0] == "sklearn" for cls in type(model).__mro__)

    def save(self, model: object, folder: Path) -> dict[str, dict[str, Any]]:
        pickles.dump(model, folder / PAYLOAD)
        return {
            "python_function": {"model_path": PAYLOAD, "predict_fn": "predict"},
            "sklearn": {
                "pickled_model": PAYLOAD,
                "serialization_format": pickles.SERIALIZATION,
                "sklearn_version": version("scikit-learn"),
                "code": None,
            },
        }

    def load(self, files: ModelFiles, mlmodel: Mapping[str, Any]) -> Predictor:
        pyfunc = mlmodel["flavors"]["python_function"]
        conf = mlmodel["flavors"].get(self.name) or {}
        payload = conf.get("pickled_model") or pyfunc.get("model_path") or PAYLOAD
        method = pyfunc.get("predict_fn") or "predict"
        if method not in _PREDICT_FNS:
            raise InvalidValueError(
                f"MLmodel names predict_fn {method!r}; it may be one of {', '.join(_PREDICT_FNS)}"
            )
        model = pickles.load(files, payload, conf.get("serialization_format", "pickle"))
        return _Method(model, method)

    def requirements(self) -> list[str]:
        return ["scikit-learn", "cloudpickle", "scipy"]


class _Method:
    """The estimator with the method MLmodel chose as its ``predict``."""

    def __init__(self, model: object, method: str) -> None:
        self.model = model
        self._method = getattr(model, method)

    def predict(self, data: Any, /) -> Any:
        return self._method(data)


FLAVOR = SklearnFlavor()
