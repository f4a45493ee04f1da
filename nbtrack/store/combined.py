"""Reads that take several store functions in one open, as the layers above ask them.

Each was a closure at its call site (``def query(con): ...; store.read(query)``); as
module-level operations with explicit parameters they run the same way on a store file and,
through ``store/remote/calls.py``, on an `nbtrack server`. One connection each, so what they
read together is consistent (a page of runs and its total, a run and its parent).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.entities import Experiment, ModelVersion, Run
from nbtrack.store import experiments, registry, run_pages, runs, search
from nbtrack.store.remote.operations import remote_operation
from nbtrack.store.runs import ResumeState

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

# A compiled filter or order: fixed SQL text with ``?`` placeholders, and the values bound.
Sql = tuple[str, list[Any]]


@remote_operation("read")
def search_runs_in(
    con: duckdb.DuckDBPyConnection,
    experiment_names: Sequence[str],
    where: Sql,
    order: Sql,
    max_results: int | None,
    include_deleted: bool,
    artifacts_root: str,
    with_min_max: bool = False,
) -> pd.DataFrame:
    """``search.search_runs`` over the experiments named (names or ids)."""
    ids = [experiments.get_experiment(con, str(name)).id for name in experiment_names]
    return search.search_runs(
        con, ids, where, order, max_results, include_deleted, artifacts_root, with_min_max
    )


@remote_operation("read")
def page_of_experiment_runs(
    con: duckdb.DuckDBPyConnection,
    experiment: str,
    where: Sql,
    order: Sql,
    page: int,
    page_size: int,
    artifacts_root: str,
) -> tuple[int, int, pd.DataFrame]:
    """The total of ``experiment``'s runs matching ``where``, the page shown (``page``, or the
    last one when it is past the end), and that page's runs in ``search_runs``' frame."""
    ids = [experiments.get_experiment(con, experiment).id]
    total, chosen = run_pages.page_of_runs(
        con, ids, where, order, page_size, (page - 1) * page_size, artifacts_root
    )
    last = min(page, max(1, -(-total // page_size)))
    if last != page:
        _, chosen = run_pages.page_of_runs(
            con, ids, where, order, page_size, (last - 1) * page_size, artifacts_root
        )
    frame = search.search_runs(
        con, ids, (run_pages.BY_IDS, [chosen]), order, None, False, artifacts_root
    )
    return total, last, frame


@remote_operation("read")
def experiment_run_keys(con: duckdb.DuckDBPyConnection, experiment: str) -> list[str]:
    """Every column ``experiment``'s runs could show."""
    return run_pages.run_keys(con, [experiments.get_experiment(con, experiment).id])


@remote_operation("read")
def run_and_relations(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> tuple[Run, str | None, dict[str, str] | None]:
    """The run, its experiment's name and its parent (id, name, status)."""
    found = runs.get_run(con, run_id)
    names = {e.id: e.name for e in experiments.list_experiments(con, include_deleted=True)}
    parent = None
    if found.parent_run_id is not None:
        above = runs.get_run(con, found.parent_run_id)
        parent = {"id": above.id, "name": above.name, "status": above.status}
    return found, names.get(found.experiment_id), parent


@remote_operation("read")
def experiments_with_run_counts(
    con: duckdb.DuckDBPyConnection, include_deleted: bool
) -> tuple[list[Experiment], dict[str, int]]:
    """Every experiment, and how many runs each holds."""
    every = experiments.list_experiments(con, include_deleted)
    return every, dict(experiments.run_counts(con))


@remote_operation("read")
def experiment_name_and_run_counts(
    con: duckdb.DuckDBPyConnection, wanted: str
) -> tuple[str, list[tuple[str, int]]]:
    """The name of the experiment ``wanted`` names (itself if there is none), and the run
    counts of every experiment."""
    found = experiments.find_experiment(con, wanted)
    return (wanted if found is None else found.name), experiments.run_counts(con)


@remote_operation("read")
def resume_state_and_experiment(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> tuple[ResumeState, str]:
    """What a process needs to log into ``run_id``, and its experiment's name."""
    state = runs.resume_state(con, run_id)
    return state, experiments.get_experiment(con, state.run.experiment_id).name


@remote_operation("read")
def resolve_model_reference(
    con: duckdb.DuckDBPyConnection, name: str, kind: str, ref: str | int
) -> tuple[ModelVersion, dict[str, str]]:
    """The version a parsed ``models:/`` URI names (``kind``: version, latest or alias) and
    its files' hashes."""
    if kind == "version":
        assert isinstance(ref, int)
        version = registry.get_model_version(con, name, ref)
    elif kind == "latest":
        version = registry.latest_model_version(con, name)
    else:
        version = registry.aliased_model_version(con, name, str(ref))
    return version, registry.model_version_files(con, name, version.version)
