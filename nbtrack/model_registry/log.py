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
) -> ModelInfo:
    """Save ``model`` in MLflow's format under the active run and record its payload hashes;
    with ``registered_model_name``, also register it as that model's next version.

    scikit-learn estimators and pipelines are saved so that MLflow loads them too; any other
    object with ``predict`` (or a plain function) is saved with cloudpickle. A signature is
    inferred from ``input_example`` and the model's output when none is given.

    Examples
    --------
    >>> info = nbtrack.log_model(pipeline, "model", registered_model_name="churn")  # doctest: +SKIP
    >>> info.registered_model_version  # doctest: +SKIP
    1
    """
    info = _tracking_models.log_model(model, artifact_path, input_example, signature)
    if registered_model_name is None:
        return info
    version = register_model(info.model_uri, registered_model_name)
    return dataclasses.replace(info, registered_model_version=version.version)
