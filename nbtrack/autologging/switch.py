"""``nbtrack.autolog()``: turning autolog on and off, for every framework installed."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from nbtrack.autologging import options
from nbtrack.autologging.options import AutologOptions
from nbtrack.errors import InvalidValueError

# The framework's import name -> the module that autologs it.
FRAMEWORKS = {"sklearn": "nbtrack.autologging.sklearn"}


def autolog(
    disable: bool = False,
    log_models: bool = True,
    log_input_examples: bool = False,
    log_post_training_metrics: bool = True,
    max_tuning_runs: int | None = 5,
    silent: bool = False,
) -> None:
    """Log every ``fit`` of scikit-learn as a run, without a line of logging code.

    A fit logs its params (``get_params(deep=True)``), the tags ``estimator_name`` and
    ``estimator_class``, training metrics (from one ``predict``/``predict_proba``, nothing
    refitted), a confusion-matrix picture for classifiers and the fitted model with its
    signature (``log_models``; an input example with ``log_input_examples``). Inside an open
    run or a ``%%track`` cell it logs into that run (a later fit there becomes a child run);
    with none open it gets a run of its own, ended when ``fit`` returns (FAILED if it raises).
    Afterwards ``accuracy_score(y_test, model.predict(X_test))`` and ``model.score(X_test,
    y_test)`` log ``accuracy_score_X_test`` / ``<Class>_score_X_test`` on the model's run
    while that run is open (``log_post_training_metrics``). A grid or randomized search logs
    its best params, ``best_cv_score``, ``cv_results.csv`` and its best ``max_tuning_runs``
    candidates as child runs (None: all). A framework that is not installed is skipped;
    ``silent`` hides autolog's own notes. ``disable=True`` puts everything back as it was.

    Examples
    --------
    >>> nbtrack.autolog()  # doctest: +SKIP
    >>> model = LogisticRegression().fit(X_train, y_train)  # a run of its own  # doctest: +SKIP
    """
    for name, value in [
        ("disable", disable),
        ("log_models", log_models),
        ("log_input_examples", log_input_examples),
        ("log_post_training_metrics", log_post_training_metrics),
        ("silent", silent),
    ]:
        if not isinstance(value, bool):
            raise InvalidValueError(f"autolog: {name}={value!r} must be True or False")
    whole = isinstance(max_tuning_runs, int) and not isinstance(max_tuning_runs, bool)
    if max_tuning_runs is not None and (not whole or max_tuning_runs < 0):
        raise InvalidValueError(
            f"autolog: max_tuning_runs={max_tuning_runs!r} must be a whole number >= 0, or None "
            "for every candidate"
        )
    for module in FRAMEWORKS.values():
        loaded = sys.modules.get(module)  # never imported: nothing of it to undo
        if loaded is not None:
            loaded.disable()
    if disable:
        options.set_current(None)
        return
    chosen = AutologOptions(
        log_models, log_input_examples, log_post_training_metrics, max_tuning_runs, silent
    )
    options.set_current(chosen)
    for module in _installed():
        importlib.import_module(module).enable(chosen)


def is_enabled() -> bool:
    return options.current() is not None


@contextmanager
def enabled_while() -> Iterator[None]:
    """Autolog on for a block (``%%track --autolog``), then as it was before."""
    if is_enabled():
        yield
        return
    autolog()
    try:
        yield
    finally:
        autolog(disable=True)


def _installed() -> list[str]:
    # find_spec looks for the framework without importing it: turning autolog off, or on in
    # an environment without it, imports nothing.
    return [module for name, module in FRAMEWORKS.items() if importlib.util.find_spec(name)]
