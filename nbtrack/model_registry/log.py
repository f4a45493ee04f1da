"""``log_model`` that can also register what it logged (the registry sits above tracking)."""

from __future__ import annotations

import dataclasses
from typing import Any

from nbtrack.model_registry.versions import register_model
from nbtrack.tracking import models as _tracking_models
from nbtrack.tracking.models import ModelInfo


def log_model(
    model: Any,
    artifact_path: str = "model",
    input_example: Any = None,
    signature: Any = None,
    registered_model_name: str | None = None,
    pyfunc_predict_fn: str | None = None,
) -> ModelInfo:
    """Save ``model`` in MLflow's format under the active run and record its payload hashes;
    with ``registered_model_name``, also register it as that model's next version.

    scikit-learn estimators and pipelines are saved so that MLflow loads them too; any other
    object with ``predict`` (or a plain function) is saved with cloudpickle. A signature is
    inferred from ``input_example`` and the model's output when none is given.
    ``pyfunc_predict_fn`` chooses the method that ``predict`` of the loaded model calls, and so
    what ``nbtrack serve`` answers: ``"predict_proba"``, ``"predict_log_proba"``,
    ``"predict_joint_log_proba"`` or ``"score"`` for scikit-learn (MLflow's list), any public
    method for other objects.

    Examples
    --------
    >>> info = nbtrack.log_model(pipeline, "model", registered_model_name="churn")  # doctest: +SKIP
    >>> info.registered_model_version  # doctest: +SKIP
    1
    >>> nbtrack.log_model(classifier, "model", pyfunc_predict_fn="predict_proba")  # doctest: +SKIP
    """
    info = _tracking_models.log_model(
        model, artifact_path, input_example, signature, pyfunc_predict_fn
    )
    if registered_model_name is None:
        return info
    version = register_model(info.model_uri, registered_model_name)
    return dataclasses.replace(info, registered_model_version=version.version)
