"""Autolog for scikit-learn: every estimator's ``fit`` (``fit_predict``, ``fit_transform``)
logs a run, and its predictions and scores become post-training metrics.

Imported only when autolog is turned on (it imports scikit-learn). ``enable`` wraps the methods
where scikit-learn defines them (so subclasses that inherit them are covered), the metric
functions of ``sklearn.metrics``, and the names a user already imported from it; ``disable``
puts every one back.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeVar

from nbtrack.autologging import guard, options, post_training, runs, worker
from nbtrack.autologging.options import AutologOptions, note
from nbtrack.autologging.patching import Patches, is_ours
from nbtrack.autologging.sklearn_logging import log_params_and_tags, log_training, params_of
from nbtrack.autologging.sklearn_search import is_search, log_search
from nbtrack.autologging.snapshot import FitSnapshot
from nbtrack.tracking.run import ActiveRun

FIT_METHODS = ("fit", "fit_predict", "fit_transform")
PREDICT_METHODS = ("predict", "predict_proba", "predict_log_proba")
# The functions of sklearn.metrics that return one number about predictions (MLflow's rule).
_METRIC_SUFFIXES = ("_score", "_error", "_loss")

_patches = Patches()
T = TypeVar("T")


def enable(chosen: AutologOptions) -> None:
    """Wrap scikit-learn (once; the options are read at each call)."""
    disable()
    for owner in _estimator_classes():
        for name in FIT_METHODS:
            _patches.replace(owner, name, _wrap_fit)
        if chosen.log_post_training_metrics:
            for name in PREDICT_METHODS:
                _patches.replace(owner, name, post_training.wrap_predict)
            _patches.replace(owner, "score", post_training.wrap_score)
    if chosen.log_post_training_metrics:
        _wrap_metrics()


def disable() -> None:
    _patches.undo()
    post_training.forget_all()
    # Names the user imported from sklearn.metrics while autolog was on hold our wrappers.
    for namespace in _user_namespaces():
        for name, value in list(namespace.items()):
            if is_ours(value):
                namespace[name] = value.__wrapped__


def _estimator_classes() -> Iterator[type]:
    """Every class of scikit-learn's estimators' ancestry that is scikit-learn's own (mixins
    and ``BaseSearchCV`` included: they define the ``fit`` and ``score`` their children use)."""
    from sklearn.utils import all_estimators

    seen: set[type] = set()
    for _, estimator in all_estimators():
        for owner in estimator.__mro__:
            if owner not in seen and owner.__module__.startswith("sklearn."):
                seen.add(owner)
                yield owner


def _wrap_metrics() -> None:
    import sklearn.metrics

    originals = {}
    for name in sklearn.metrics.__all__:
        function = getattr(sklearn.metrics, name, None)
        metric = inspect.isfunction(function) and name.endswith(_METRIC_SUFFIXES)
        if metric and _patches.replace(sklearn.metrics, name, post_training.wrap_metric):
            originals[function] = getattr(sklearn.metrics, name)
    # A name bound before autolog was turned on (from sklearn.metrics import accuracy_score)
    # still holds the original: MLflow misses those calls.
    for namespace in _user_namespaces():
        for name, value in list(namespace.items()):
            wrapped = originals.get(value) if _hashable(value) else None
            if wrapped is not None:
                _patches.rebind(namespace, name, wrapped)


def _user_namespaces() -> Iterator[MutableMapping[str, Any]]:
    main = sys.modules.get("__main__")
    spaces = [] if main is None else [vars(main)]
    ipython = sys.modules.get("IPython")
    shell = None if ipython is None else ipython.get_ipython()
    if shell is not None and all(shell.user_ns is not space for space in spaces):
        spaces.append(shell.user_ns)
    yield from spaces


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _wrap_fit(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        chosen = options.current()
        if chosen is None or guard.inside() or _called_by_scikit_learn():
            return original(self, *args, **kwargs)
        return _logged_fit(self, original, args, kwargs, chosen)

    return fit


def _called_by_scikit_learn() -> bool:
    """Whether scikit-learn's own code called this fit: a fold of ``cross_val_score`` (however
    it was imported, and in the worker threads it may fit in), the ``LabelEncoder`` a scorer
    fits, a step of a meta-estimator. Only a fit the user's code calls is a run."""
    caller = sys._getframe(2)
    return str(caller.f_globals.get("__name__", "")).startswith("sklearn.")


def _logged_fit(
    estimator: Any,
    original: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    chosen: AutologOptions,
) -> Any:
    """The fit, and what it logs: params and tags (taken before the fit, so a failed fit's run
    still says what was tried), a search's candidates, then the rest in autolog's worker."""
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    weight = kwargs.get("sample_weight")
    params = _safely(params_of, estimator) or {}
    run, own = runs.fit_run()
    try:
        with guard.handling(fit=True):
            result = original(estimator, *args, **kwargs)
            if is_search(estimator):
                _safely(log_search, run, estimator, chosen.max_tuning_runs)
    except BaseException as exc:
        _safely(log_params_and_tags, run, params, type(estimator))
        if own:
            run.end_after(exc)
        raise
    fitted = _Fitted(run, own, params, chosen, type(estimator))
    snapshot = FitSnapshot.take(estimator, X, y, weight)
    if snapshot is not None and own:
        run.end_later()  # ended by the worker, as of now
    # An estimator that does not pickle, or no thread to be had (the interpreter is exiting):
    # logged now, as it is.
    if snapshot is None or not worker.submit(run, functools.partial(fitted.log_snapshot, snapshot)):
        fitted.log(estimator, X, y, weight)
    post_training.remember(estimator, run)
    best = getattr(estimator, "best_estimator_", None)
    if best is not None:
        post_training.remember(best, run)
    return result


@dataclass(frozen=True)
class _Fitted:
    """A fit that returned, and what is left to log about it (in the worker, or at once)."""

    run: ActiveRun
    own: bool  # autolog opened the run: it ends it once this is logged
    params: dict[str, Any]
    chosen: AutologOptions
    kind: type

    def log_snapshot(self, snapshot: FitSnapshot) -> None:
        self.log(_safely(snapshot.estimator), snapshot.X, snapshot.y, snapshot.weight)

    def log(self, estimator: Any, X: Any, y: Any, weight: Any) -> None:
        """Params, tags, training metrics, picture, model; then the end of a run autolog
        opened (FINISHED: the fit returned). Params and tags even if the model is lost."""
        try:
            _safely(log_params_and_tags, self.run, self.params, self.kind)
            if estimator is not None:
                _safely(log_training, self.run, estimator, X, y, weight, self.chosen)
        finally:
            if self.own:
                self.run.end()


def _safely(step: Callable[..., T], *args: Any) -> T | None:
    """Autolog never breaks a fit: what it cannot log is said, and the fit goes on."""
    try:
        return step(*args)
    except Exception as exc:
        note(f"{getattr(step, '__name__', step)} failed: {type(exc).__name__}: {exc}")
        return None
