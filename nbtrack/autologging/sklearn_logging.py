"""What one scikit-learn fit logs: params, tags, training metrics, the model and a picture.

Everything here runs after the fit succeeded, in autolog's worker (``worker.py``) on a snapshot
of the fit (params are taken before it, so a failed fit's run still says what was tried), and
costs what a ``predict`` and a ``predict_proba`` on the training rows cost, plus writing the
model: nothing is refitted, no metric function is called twice. Everything names the run it
writes to: the worker has no active run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nbtrack.autologging import figures, sklearn_metrics
from nbtrack.autologging.options import AutologOptions, note
from nbtrack.errors import InvalidValueError
from nbtrack.tracking import artifacts, models
from nbtrack.tracking.run import ActiveRun

ESTIMATOR_NAME_TAG = "estimator_name"
ESTIMATOR_CLASS_TAG = "estimator_class"
MODEL_PATH = "model"
# MLflow truncates long param values to this many characters; so do we.
_MAX_PARAM_TEXT = 6000
_EXAMPLE_ROWS = 5


def params_of(estimator: Any) -> dict[str, Any]:
    """``get_params(deep=True)``, nested keys as ``step__param``, estimators by class name:
    taken before the fit, as the user set them."""
    return {key: param_value(value) for key, value in estimator.get_params(deep=True).items()}


def log_params_and_tags(run: ActiveRun, params: Mapping[str, Any], kind: type) -> None:
    """The estimator's params (from ``params_of``) and the tags naming its class."""
    log_params_kept(run, params)
    run.set_tags(
        {
            ESTIMATOR_NAME_TAG: kind.__name__,
            ESTIMATOR_CLASS_TAG: f"{kind.__module__}.{kind.__qualname__}",
        }
    )


def log_params_kept(run: ActiveRun, params: Mapping[str, Any]) -> None:
    """Log ``params``; a key the run already holds with another value keeps it (the user's
    own ``log_param`` or a cell's literal wins) and is said once."""
    known = run.param_keys()
    run.log_params({key: value for key, value in params.items() if key not in known})
    for key in known & params.keys():
        try:
            run.log_param(key, params[key])
        except InvalidValueError:
            note(f"param {key!r} kept as the run already holds it, not {params[key]!r}")


def param_value(value: object) -> object:
    """A param as a person reads it: numbers, strings, bools and lists of them as they are,
    an estimator by its class name, a function by its name, anything else as its text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value).__name__
    if isinstance(value, (list, tuple)):
        items = [param_value(item) for item in value]
        return items if all(not isinstance(item, dict) for item in items) else str(items)
    name = getattr(value, "__qualname__", None)
    text = name if callable(value) and isinstance(name, str) else str(value)
    return text if len(text) <= _MAX_PARAM_TEXT else text[: _MAX_PARAM_TEXT - 1] + "…"


def log_training(
    run: ActiveRun, estimator: Any, X: Any, y: Any, weight: Any, options: AutologOptions
) -> None:
    """Training metrics, the confusion-matrix picture and the model of a fitted estimator."""
    from sklearn import config_context

    # The rows are the ones fit just accepted, so scikit-learn's check that every value is
    # finite (~0.25 ms per call on 30,000 x 20, a third of a predict) would find nothing new.
    # Its config is per thread: the user's own calls keep the check.
    with config_context(assume_finite=True):
        predictions = _predict(estimator, X)
        metrics, table = _training_metrics(estimator, X, y, weight, predictions)
    if metrics:
        run.log_metrics(metrics)
    if table is not None and len(table.labels) > 1:
        artifacts.write_text(run, figures.confusion_svg(table), figures.FILE)
    model = getattr(estimator, "best_estimator_", estimator)
    if options.log_models:
        _log_model(run, model, X, predictions, options.log_input_examples)


def _predict(estimator: Any, X: Any) -> Any:
    if X is None or not hasattr(estimator, "predict"):
        return None
    try:
        return estimator.predict(X)
    except Exception as exc:  # a transformer-only pipeline, a model that cannot predict here
        note(f"no training metrics: {type(estimator).__name__}.predict failed: {exc}")
        return None


def _training_metrics(
    estimator: Any, X: Any, y: Any, weight: Any, predictions: Any
) -> tuple[dict[str, float], sklearn_metrics.Confusion | None]:
    from sklearn.base import is_classifier, is_regressor

    if y is None or predictions is None:
        return {}, None
    weights = None if weight is None else np.asarray(weight, dtype=np.float64)
    metrics: dict[str, float] = {}
    table = None
    if is_classifier(estimator) and np.ndim(y) == 1:
        classes = getattr(estimator, "classes_", None)
        table = sklearn_metrics.confusion(y, predictions, weights, classes)
        metrics |= sklearn_metrics.classifier_metrics(table)
        metrics |= _probability_metrics(estimator, X, y, weights)
        default = f"{sklearn_metrics.PREFIX}accuracy_score"
    elif is_regressor(estimator):
        metrics |= sklearn_metrics.regressor_metrics(y, predictions, weights)
        default = f"{sklearn_metrics.PREFIX}r2_score"
    else:
        default = None
    score = _training_score(estimator, X, y, weight, metrics.get(default or ""))
    if score is not None:
        metrics["training_score"] = score
    return metrics, table


def _probability_metrics(estimator: Any, X: Any, y: Any, weights: Any) -> dict[str, float]:
    classes = getattr(estimator, "classes_", None)
    if classes is None or not hasattr(estimator, "predict_proba"):
        return {}
    try:
        proba = np.asarray(estimator.predict_proba(X))
    except Exception:
        return {}  # e.g. SVC without probability=True
    return sklearn_metrics.probability_metrics(y, proba, np.asarray(classes), weights)


def _training_score(
    estimator: Any, X: Any, y: Any, weight: Any, computed: float | None
) -> float | None:
    """``estimator.score`` on the training rows: taken from the metrics when ``score`` is
    scikit-learn's default (accuracy, R²), else called once; none for models without it."""
    if computed is not None and _default_score(estimator):
        return computed
    if not hasattr(estimator, "score"):
        return None
    try:
        extra = {} if weight is None else {"sample_weight": weight}
        return float(estimator.score(X, y, **extra))
    except Exception as exc:
        note(f"no training_score: {type(estimator).__name__}.score failed: {exc}")
        return None


def _default_score(estimator: Any) -> bool:
    from sklearn.base import ClassifierMixin, RegressorMixin
    from sklearn.pipeline import Pipeline

    while isinstance(estimator, Pipeline):
        estimator = estimator._final_estimator
    scorer = getattr(type(estimator), "score", None)
    defaults = (ClassifierMixin.score, RegressorMixin.score)
    return any(scorer is own or getattr(scorer, "__wrapped__", None) is own for own in defaults)


def _log_model(run: ActiveRun, model: Any, X: Any, predictions: Any, with_example: bool) -> None:
    example = _head(X)
    signature = None
    if example is not None:
        from nbtrack.models.signatures import infer_signature

        try:
            output = None if predictions is None else predictions[:_EXAMPLE_ROWS]
            signature = infer_signature(example, output)
        except InvalidValueError as exc:
            note(f"model logged without a signature: {exc}")
    models.save_to_run(
        run, model, MODEL_PATH, input_example=example if with_example else None, signature=signature
    )


def _head(X: Any) -> Any:
    if X is None or hasattr(X, "tocsr"):
        return None  # a sparse matrix has no example MLflow's format can hold
    if hasattr(X, "iloc"):
        return X.iloc[:_EXAMPLE_ROWS]
    return np.asarray(X)[:_EXAMPLE_ROWS]
