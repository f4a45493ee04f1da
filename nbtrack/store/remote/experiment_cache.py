"""Experiments as the server sends them, and the ones a project's processes have used.

A new run needs its experiment's id, and a process must be able to start runs while the server
is away: the experiments the server named are remembered in the spool folder
(``experiments.json``, by name and by id), so any later process of the project starts runs in
them offline. Only a brand-new experiment has to wait for the server, which makes it under its
lock (two clients must not make two experiments of one name).
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from nbtrack.entities import Experiment

FILE_NAME = "experiments.json"


def experiment_to_json(experiment: Experiment) -> dict[str, str]:
    """An experiment as the server answers it and the spool remembers it."""
    return {
        "id": experiment.id,
        "name": experiment.name,
        "lifecycle_stage": experiment.lifecycle_stage,
        "created_at": experiment.created_at.isoformat(),
        "artifact_location": experiment.artifact_location,
    }


def experiment_from_json(value: Any) -> Experiment:
    """The inverse of ``experiment_to_json``; raises ValueError on anything else."""
    try:
        return Experiment(
            str(value["id"]),
            str(value["name"]),
            str(value["lifecycle_stage"]),
            datetime.fromisoformat(value["created_at"]),
            str(value["artifact_location"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not an experiment: {value!r}") from exc


def remembered(spool_folder: Path) -> dict[str, Experiment]:
    """The experiments remembered in ``spool_folder``, by name and by id."""
    try:
        found = json.loads((spool_folder / FILE_NAME).read_text(encoding="utf-8"))
        return {key: experiment_from_json(value) for key, value in found.items()}
    except (OSError, ValueError, AttributeError):
        return {}


def remember(spool_folder: Path, experiment: Experiment, asked_as: str) -> None:
    """Add ``experiment`` (asked for as ``asked_as``: a name or an id). A folder that cannot
    be written only costs the offline start of runs, never the run itself."""
    known = remembered(spool_folder)
    known[asked_as] = known[experiment.name] = known[experiment.id] = experiment
    target = spool_folder / FILE_NAME
    staging = spool_folder / f".{FILE_NAME}.{os.getpid()}"
    with contextlib.suppress(OSError):
        spool_folder.mkdir(parents=True, exist_ok=True)
        staging.write_text(json.dumps({key: experiment_to_json(e) for key, e in known.items()}))
        os.replace(staging, target)
