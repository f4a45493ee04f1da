"""Experiments: find, list, create and delete or restore them.

Each function takes an open connection; values are bound, never written into the SQL.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from nbtrack.entities import Experiment, from_micros
from nbtrack.errors import AlreadyExistsError, InvalidValueError, NotFoundError
from nbtrack.store.remote.operations import remote_operation
from nbtrack.store.schema import ARTIFACTS_FOLDER

if TYPE_CHECKING:
    import duckdb

_EXPERIMENT_COLUMNS = "experiment_id, name, lifecycle_stage, created_at, artifact_location"


def _experiment(row: tuple[Any, ...]) -> Experiment:
    experiment_id, name, stage, created_at, location = row
    created = from_micros(created_at)
    assert created is not None
    return Experiment(experiment_id, name, stage, created, location)


@remote_operation("read")
def find_experiment(con: duckdb.DuckDBPyConnection, name_or_id: str) -> Experiment | None:
    """The experiment with this name, else with this id, else None."""
    for column in ("name", "experiment_id"):
        row = con.execute(
            f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE {column} = ?",  # noqa: S608
            [name_or_id],
        ).fetchone()
        if row is not None:
            return _experiment(row)
    return None


@remote_operation("read")
def get_experiment(con: duckdb.DuckDBPyConnection, name_or_id: str) -> Experiment:
    found = find_experiment(con, name_or_id)
    if found is None:
        names = [
            name for (name,) in con.execute("SELECT name FROM experiments ORDER BY name").fetchall()
        ]
        raise NotFoundError(
            f"no experiment named {name_or_id!r} (nor with that id); existing: {names}"
        )
    return found


@remote_operation("read")
def list_experiments(
    con: duckdb.DuckDBPyConnection, include_deleted: bool = False
) -> list[Experiment]:
    rows = con.execute(
        f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments "  # noqa: S608
        "WHERE ? OR lifecycle_stage = 'active' ORDER BY CAST(experiment_id AS BIGINT)",
        [include_deleted],
    ).fetchall()
    return [_experiment(row) for row in rows]


@remote_operation("write")
def create_experiment(con: duckdb.DuckDBPyConnection, name: str) -> Experiment:
    if find_experiment(con, name) is not None:
        raise AlreadyExistsError(f"an experiment named {name!r} exists already")
    return _insert_experiment(con, name)


@remote_operation("write")
def get_or_create_experiment(con: duckdb.DuckDBPyConnection, name: str) -> Experiment:
    row = con.execute(
        f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE name = ?",  # noqa: S608
        [name],
    ).fetchone()
    return _experiment(row) if row is not None else _insert_experiment(con, name)


def _insert_experiment(con: duckdb.DuckDBPyConnection, name: str) -> Experiment:
    # Under the file lock: two kernels asking for the same new name get one experiment.
    (next_id,) = con.execute(
        "SELECT coalesce(max(CAST(experiment_id AS BIGINT)), 0) + 1 FROM experiments"
    ).fetchone() or (1,)
    experiment_id = str(next_id)
    now = time.time_ns() // 1000
    location = f"{ARTIFACTS_FOLDER}/{experiment_id}"
    con.execute(
        "INSERT INTO experiments VALUES (?, ?, 'active', ?, ?, ?)",
        [experiment_id, name, location, now, now],
    )
    return _experiment((experiment_id, name, "active", now, location))


@remote_operation("write")
def experiment_for_runs(con: duckdb.DuckDBPyConnection, name_or_id: str) -> Experiment:
    """The experiment new runs go to: by name, else by id, else a new one by that name."""
    experiment = find_experiment(con, name_or_id) or _insert_experiment(con, name_or_id)
    if experiment.deleted:
        raise InvalidValueError(
            f"experiment {experiment.name!r} is deleted; restore it or use another experiment"
        )
    return experiment


@remote_operation("write_stages")
def set_experiment_stage(con: duckdb.DuckDBPyConnection, name_or_id: str, stage: str) -> Experiment:
    experiment = get_experiment(con, name_or_id)
    con.execute(
        "UPDATE experiments SET lifecycle_stage = ?, updated_at = ? WHERE experiment_id = ?",
        [stage, time.time_ns() // 1000, experiment.id],
    )
    return get_experiment(con, experiment.id)


@remote_operation("read")
def run_counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """(name, number of runs) of each active experiment, deleted runs left out; most runs
    first, then by name. Experiments without runs are listed with 0."""
    rows = con.execute(
        "SELECT e.name, count(r.run_id) AS n FROM experiments e "
        "LEFT JOIN runs r ON r.experiment_id = e.experiment_id AND r.lifecycle_stage = 'active' "
        "WHERE e.lifecycle_stage = 'active' GROUP BY e.name ORDER BY n DESC, e.name"
    ).fetchall()
    return [(name, int(count)) for name, count in rows]


@remote_operation("write")
def rename_experiment(con: duckdb.DuckDBPyConnection, name_or_id: str, new_name: str) -> Experiment:
    """Give an experiment another name, which no other experiment may have."""
    experiment = get_experiment(con, name_or_id)
    other = find_experiment(con, new_name)
    if other is not None and other.id != experiment.id:
        raise AlreadyExistsError(f"an experiment named {new_name!r} exists already")
    con.execute(
        "UPDATE experiments SET name = ?, updated_at = ? WHERE experiment_id = ?",
        [new_name, time.time_ns() // 1000, experiment.id],
    )
    return get_experiment(con, experiment.id)
