"""The scikit-learn flavor: estimators and pipelines, as MLflow's ``sklearn`` flavor.

Its MLmodel names ``mlflow.sklearn`` as the loader, so MLflow and its tools load these models
without nbtrack; nbtrack maps that name to the loader below, never importing it.

A model is saved in skops' format, as MLflow 3 saves it, when skops holds it with the types it
trusts by default: reading a skops file runs no code of the file's choosing. Any other model (a
class defined in a notebook, a tree ensemble, or no skops installed) is cloudpickled, as MLflow
does when asked for cloudpickle.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidValueError
from nbtrack.models import pickles, skops_payloads
from nbtrack.models.flavors import Method, Predictor, check_predict_fn
from nbtrack.models.integrity import ModelFiles

PICKLED = "model.pkl"
# The formats MLflow's sklearn flavor writes, all of which nbtrack reads.
_FORMATS = (skops_payloads.SERIALIZATION, *pickles.READABLE)
# The methods MLflow lets python_function.predict_fn (pyfunc_predict_fn) name.
PREDICT_FNS = ("predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")


class SklearnFlavor:
    """Saves anything whose class derives from a scikit-learn class."""

    name = "sklearn"
    loader_module = "mlflow.sklearn"
    predict_fns = PREDICT_FNS

    def accepts(self, model: object) -> bool:
        # Read from the class hierarchy: nothing is imported to decide.
        return any(cls.__module__.partition(".")[0] == "sklearn" for cls in type(model).__mro__)

    def save(self, model: object, folder: Path) -> dict[str, dict[str, Any]]:
        data = skops_payloads.dumps(model)
        if data is not None:
            payload, serialization = skops_payloads.PAYLOAD, skops_payloads.SERIALIZATION
            (folder / payload).write_bytes(data)
        else:
            payload, serialization = PICKLED, pickles.SERIALIZATION
            pickles.dump(model, folder / payload)
        return {
            "python_function": {"model_path": payload, "predict_fn": "predict"},
            "sklearn": {
                "pickled_model": payload,
                "serialization_format": serialization,
                "sklearn_version": _imported_sklearn_version(),
                "code": None,
                # MLflow writes the key whatever the format; null trusts skops' defaults only,
                # and a skops payload is written only when they are enough.
                "skops_trusted_types": None,
            },
        }

    def load(self, files: ModelFiles, mlmodel: Mapping[str, Any]) -> Predictor:
        pyfunc = mlmodel["flavors"]["python_function"]
        conf = mlmodel["flavors"].get(self.name) or {}
        payload = conf.get("pickled_model") or pyfunc.get("model_path") or PICKLED
        method = check_predict_fn(self, pyfunc.get("predict_fn") or "predict")
        # MLflow reads a missing format as pickle, the only one it wrote before the key existed.
        serialization = conf.get("serialization_format", "pickle")
        if serialization not in _FORMATS:
            raise InvalidValueError(
                f"the model's payload is in {serialization!r} format; the sklearn flavor reads "
                f"{', '.join(_FORMATS)}"
            )
        if serialization == skops_payloads.SERIALIZATION:
            model = skops_payloads.load(files, payload, conf.get("skops_trusted_types"))
        else:
            model = pickles.load(files, payload, serialization)
        return Method(model, check_predict_fn(self, method, model))

    def requirements(self) -> list[str]:
        # Both serializers: the list is the flavor's, not the payload's. skops is pinned only
        # where it is installed, which is where a skops payload can be written.
        return ["scikit-learn", "skops", "cloudpickle", "scipy"]


FLAVOR = SklearnFlavor()


def _imported_sklearn_version() -> str:
    # The scikit-learn that fitted and saved the model, without a metadata lookup (a scan of
    # site-packages, ~0.5 ms a model). A model of scikit-learn's classes has it imported.
    import sklearn

    return str(sklearn.__version__)
