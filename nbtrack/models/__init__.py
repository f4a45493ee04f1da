"""Models on disk: MLflow's directory format, flavors, signatures. No store, no tracking.

==================  ==========================================================
``format``          ``save_model`` / ``load_model``: the directory and MLmodel
``flavors``         the flavor protocol and registry (entry points ``nbtrack.flavors``)
``sklearn``         scikit-learn estimators, loadable by MLflow as ``mlflow.sklearn``
``skops_payloads``  skops files: read with the model's trusted-types list, nothing more
``pickles``         cloudpickle payloads: the python flavor, and what skops cannot hold
``python``          any object with ``predict``, or a function, cloudpickled
``signatures``      ``Signature``, ``infer_signature``
``enforcement``     ``enforce``: input brought to the signature (``tensors``, ``conversions``)
``params``          ``ParamSpec``: inference params a signature declares, and a prediction's
                    checked against them (``enforce_params``, ``check_params``)
``integrity``       payload hashes, checked before anything is deserialized
==================  ==========================================================

Importing this package loads none of pandas, numpy, cloudpickle, skops, PyYAML or scikit-learn.
"""

from nbtrack.models.flavors import Flavor, register
from nbtrack.models.format import SavedModel, load_model, save_model
from nbtrack.models.params import ParamSpec
from nbtrack.models.pyfunc import PyFuncModel
from nbtrack.models.signatures import ColSpec, Signature, TensorSpec, infer_signature

__all__ = [
    "ColSpec",
    "Flavor",
    "ParamSpec",
    "PyFuncModel",
    "SavedModel",
    "Signature",
    "TensorSpec",
    "infer_signature",
    "load_model",
    "register",
    "save_model",
]
