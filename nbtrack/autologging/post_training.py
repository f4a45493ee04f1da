"""Post-training metrics: ``accuracy_score(y_test, model.predict(X_test))`` on a model fitted
under autolog becomes the metric ``accuracy_score_X_test`` of that model's run.

A prediction of such a model is remembered (by identity, while it lives) with its run and the
name of the variable it was predicted from; a metric function that is handed one of them logs
its result there. ``model.score(X_test, y_test)`` logs ``<Class>_score_X_test``. The names are
MLflow's. A metric is logged only while the model's run is open (a ``%%track`` cell, a ``with``
block, or the run reopened with ``start_run(run_id=...)``): never into a run that has ended.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

from nbtrack.autologging import guard, options
from nbtrack.autologging.options import note
from nbtrack.errors import NbtrackError
from nbtrack.tracking import lifecycle
from nbtrack.tracking.run import ActiveRun

UNKNOWN_DATASET = "unknown_dataset"
# Frames of these packages are the call's plumbing, not where the user named the dataset.
_PLUMBING = ("sklearn.", "nbtrack.autologging", "functools")

_model_runs: weakref.WeakKeyDictionary[Any, ActiveRun] = weakref.WeakKeyDictionary()
# id(prediction) -> (a weak reference to it, its model's run, the dataset's variable name)
_predictions: dict[int, tuple[weakref.ref[Any], ActiveRun, str]] = {}
_told_ended: set[str] = set()


def remember(model: object, run: ActiveRun) -> None:
    """``model`` was fitted in ``run``: its predictions and scores are measured there."""
    # An estimator that cannot be weakly referenced gets no post-training metrics.
    with contextlib.suppress(TypeError):
        _model_runs[model] = run


def forget_all() -> None:
    _model_runs.clear()
    _predictions.clear()


def wrap_predict(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def predict(self: Any, *args: Any, **kwargs: Any) -> Any:
        if guard.inside() or options.current() is None:
            return original(self, *args, **kwargs)
        with guard.handling():
            result = original(self, *args, **kwargs)
        run = _run_of(self)
        if run is not None:
            _remember_prediction(result, run, _dataset_name(_first(args, kwargs, "X")))
        return result

    return predict


def wrap_score(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def score(self: Any, *args: Any, **kwargs: Any) -> Any:
        if guard.inside() or options.current() is None:
            return original(self, *args, **kwargs)
        with guard.handling():
            value = original(self, *args, **kwargs)
        run = _run_of(self)
        if run is not None:
            dataset = _dataset_name(_first(args, kwargs, "X"))
            _log(run, f"{type(self).__name__}_score_{dataset}", value)
        return value

    return score


def wrap_metric(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def metric(*args: Any, **kwargs: Any) -> Any:
        if guard.inside() or options.current() is None:
            return original(*args, **kwargs)
        with guard.handling():
            value = original(*args, **kwargs)
        for argument in (*args, *kwargs.values()):
            known = _predictions.get(id(argument))
            if known is not None and known[0]() is argument:
                _log(known[1], f"{original.__name__}_{known[2]}", value)
                break
        return value

    return metric


def _run_of(model: object) -> ActiveRun | None:
    try:
        return _model_runs.get(model)
    except TypeError:
        return None


def _first(args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> object:
    return args[0] if args else kwargs.get(name)


def _remember_prediction(result: object, run: ActiveRun, dataset: str) -> None:
    key = id(result)
    try:
        # The id is forgotten with the object: a new object reusing it is not this prediction.
        ref = weakref.ref(result, lambda _: _predictions.pop(key, None))
    except TypeError:
        return  # a plain list or tuple cannot be followed
    _predictions[key] = (ref, run, dataset)


def _dataset_name(dataset: object) -> str:
    """The name the user's code gave ``dataset``: in the calling frame's locals, then its
    globals (a notebook's variables); names IPython makes for outputs (``_``, ``_3``) last."""
    if dataset is None:
        return UNKNOWN_DATASET
    frame = _user_frame()
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            names = [name for name, value in scope.items() if value is dataset]
            if names:
                return sorted(names, key=lambda name: (name.startswith("_"), name))[0]
        frame = frame.f_back
    return UNKNOWN_DATASET


def _user_frame() -> FrameType | None:
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(_PLUMBING):
        frame = frame.f_back
    return frame


def _log(run: ActiveRun, key: str, value: object) -> None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return  # a report or a matrix, not one number
    if math.isnan(number) and not isinstance(value, float):
        return
    target = run if not run.closing else _reopened(run)
    if target is None:
        if run.id not in _told_ended:
            _told_ended.add(run.id)
            note(
                f"{key} not logged: the model's run {run.name!r} has ended; measure the model "
                "in the same %%track cell or `with` block, or reopen the run with "
                f"nbtrack.start_run(run_id={run.id!r})"
            )
        return
    try:
        target.log_metric(key, number)
    except NbtrackError as exc:
        note(f"{key} not logged: {exc}")


def _reopened(run: ActiveRun) -> ActiveRun | None:
    active = lifecycle.active_run()
    return active if active is not None and active.id == run.id else None
