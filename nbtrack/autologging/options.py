"""What ``autolog()`` was asked for: the one piece of autolog's global state."""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("nbtrack.autolog")


@dataclass(frozen=True)
class AutologOptions:
    """The arguments of ``nbtrack.autolog``, checked."""

    log_models: bool = True
    log_input_examples: bool = False
    log_post_training_metrics: bool = True
    max_tuning_runs: int | None = 5
    silent: bool = False


_current: AutologOptions | None = None


def current() -> AutologOptions | None:
    """The options autolog runs with, or None while it is off."""
    return _current


def set_current(options: AutologOptions | None) -> None:
    global _current
    _current = options


def note(message: str) -> None:
    """Tell the user something autolog did not log, unless autolog was asked to be silent."""
    options = _current
    if options is None or not options.silent:
        log.warning("nbtrack autolog: %s", message)
