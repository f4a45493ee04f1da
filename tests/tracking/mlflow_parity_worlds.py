"""The runs of tests/tracking/test_mlflow_search_parity.py, logged into nbtrack and into MLflow.

Each scenario is an experiment of runs, written as MLflow's own tests write theirs; both stores
get the same runs in the same order, with the same names, params, metric points (value and
step), tags, statuses and users. Times cannot be copied: nbtrack takes them from the clock, so
MLflow's come from a counter that moves on with every run, point and end, and both stores see
them in the same order. What a filter says about ids, times or artifact folders is written per
store (``World.values``).
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack import config
from nbtrack.errors import InvalidValueError
from nbtrack.store import store as store_module
from nbtrack.tracking import _current, manage

REFUSED = "refused"
Answer = tuple[str, ...] | str

# MLflow's clock, in milliseconds: one tick per run start, metric point and run end.
T0 = 1_700_000_000_000


@dataclass(frozen=True)
class RunSpec:
    name: str
    params: Mapping[str, object] = field(default_factory=dict)
    # key -> (value, step) points in the order they are logged
    metrics: Mapping[str, Sequence[tuple[float, int]]] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    status: str = "FINISHED"  # RUNNING: left open
    user: str = "ana"
    # ended again, after every run of its scenario started, in this order
    end_rank: int | None = None
    deleted: bool = False
    renamed_to: str | None = None


def _points(*values: float) -> list[tuple[float, int]]:
    return [(value, 0) for value in values]


_PARSE_RUNS = [
    RunSpec(
        "p0",
        params={
            "m": "tf",
            "cat dog": "pets",
            "model": "LinearRegression",
            "model_class": "LR",
            "p.a.r.a.m": "a",
            "lr": "0.01",
            "b": "val",
        },
        metrics={
            "acc": _points(0.94),
            "XYZ": _points(3),
            "legit name": _points(0.243),
            "X-Y-Z": _points(3),
            "rmse": _points(0.5),
            "a": _points(0.1),
            "accuracy.2.0": _points(6),
            "spacey name": _points(6),
        },
        tags={"version": "commit-hash", "source_name": "a notebook", "t.a.g": "a"},
    ),
    RunSpec(
        "p1",
        params={
            "m": "LR",
            "cat dog": "pets",
            "model": "LR",
            "model_class": "LR",
            "p.a.r.a.m": "b",
            "b": "other",
        },
        metrics={
            "acc": _points(0.99),
            "XYZ": _points(4),
            "legit name": _points(0.5),
            "X-Y-Z": _points(2),
            "rmse": _points(2),
            "a": _points(0.05),
            "accuracy.2.0": _points(4),
            "spacey name": _points(5),
        },
        tags={"version": "v2", "t.a.g": "b", "a": "x"},
        status="FAILED",
    ),
    RunSpec(
        "p2",
        params={"m": "L'Hosp", "model": "LR", "p.a.r.a.m": "a", "lr": "0.1"},
        metrics={"acc": _points(0.5), "XYZ": _points(3), "rmse": _points(0.9)},
        tags={"source_name": "a notebook"},
        status="RUNNING",
    ),
]

_NAN_VALUES = ["nan", "inf", "-inf", "-1000", "0", "1000", "None"]

SCENARIOS: dict[str, list[RunSpec]] = {
    # test_search_utils.py: test_correct_filtering, test_correct_sorting
    "utils": [
        RunSpec("u0", {"my_param": "A"}, {"key1": [(121, 0)]}, status="FAILED", user="user-id"),
        RunSpec("u1", {"my_param": "A"}, {"key1": [(123, 0)]}, {"tag1": "C"}, user="user-id"),
        RunSpec("u2", {"my_param": "B"}, {"key1": [(125, 0)]}, {"tag1": "D"}, status="FAILED"),
    ],
    # test_search_utils.py: test_filter, test_correct_quote_trimming and the refusals
    "parse": _PARSE_RUNS,
    # test_search_utils.py: test_filter_runs_by_start_time / _by_user_id / _by_end_time
    # and test_space_order_by_search_runs
    "times": [
        RunSpec("t_a", metrics={"Mean Square Error": _points(0.3)}, user="user-id"),
        RunSpec("t_b", metrics={"Mean Square Error": _points(0.1)}, user="user-id2"),
        RunSpec("t_c", metrics={"Mean Square Error": _points(0.2)}, user="user-id"),
    ],
    # test_search_utils.py: test_order_by_metric_with_nans_infs_nones
    "nans": [
        RunSpec(f"n{text}", metrics={} if text == "None" else {"x": [(float(text), 1)]})
        for text in _NAN_VALUES
    ],
    # test_search_utils.py: test_filter_runs_by_tag_and_param_is_null
    "nulls": [
        RunSpec("run1", tags={"env": "prod"}),
        RunSpec("run2", params={"lr": "0.01"}),
    ],
    # test_sqlalchemy_store.py: test_order_by_metric_tag_param
    "order_mtp": [
        RunSpec(
            f"{first}/{second}",
            params={"metric": second},
            metrics={} if first is None else {"x": [(float(first), 0)], "y": [(float(second), 0)]},
            tags={"metric": second},
            user="MrDuck",
        )
        for first, second in zip(
            [None, "nan", "inf", "-inf", "-1000", "0", "0", "1000"],
            ["1", "2", "3", "4", "5", "6", "7", "8"],
            strict=True,
        )
    ],
    # test_sqlalchemy_store.py: test_order_by_attributes (end times in this order; None open)
    "order_attrs": [
        RunSpec("234", end_rank=2),
        RunSpec("None", status="RUNNING"),
        RunSpec("456", end_rank=3),
        RunSpec("-123", end_rank=0),
        RunSpec("789", end_rank=4),
        RunSpec("123", end_rank=1),
    ],
    # test_sqlalchemy_store.py: test_search_vanilla
    "vanilla": [RunSpec("v0", deleted=True), RunSpec("v1"), RunSpec("v2")],
    # test_sqlalchemy_store.py: test_search_params
    "params": [
        RunSpec("sp1", {"generic_param": "p_val", "generic_2": "some value", "p_a": "abc"}),
        RunSpec("sp2", {"generic_param": "p_val", "generic_2": "another value", "p_b": "ABC"}),
    ],
    # test_sqlalchemy_store.py: test_search_tags
    "tags": [
        RunSpec("st1", tags={"generic_tag": "p_val", "generic_2": "some value", "p_a": "abc"}),
        RunSpec("st2", tags={"generic_tag": "p_val", "generic_2": "another value", "p_b": "ABC"}),
    ],
    # test_sqlalchemy_store.py: test_search_metrics; m_b's times became steps, which nbtrack
    # can set: (3.0, 2), (4.0, 8), (8.0, 3) has the latest value 4.0 in both
    "metrics": [
        RunSpec(
            "sm1", metrics={"common": _points(1.0), "measure_a": _points(1.0), "m_a": _points(2.0)}
        ),
        RunSpec(
            "sm2",
            metrics={
                "common": _points(1.0),
                "measure_a": _points(200.0, 400.0),
                "m_b": [(3.0, 2), (4.0, 8), (8.0, 3)],
            },
        ),
    ],
    # test_sqlalchemy_store.py: test_search_attrs (two experiments)
    "attrs_1": [RunSpec("r1", status="RUNNING")],
    "attrs_2": [RunSpec("r2", status="FAILED")],
    # test_sqlalchemy_store.py: test_search_full
    "full": [
        RunSpec(
            "sf1",
            {"generic_param": "p_val", "p_a": "abc"},
            {"common": _points(1.0), "m_a": _points(2.0)},
        ),
        RunSpec(
            "sf2",
            {"generic_param": "p_val", "p_b": "ABC"},
            {"common": _points(1.0), "m_b": [(3.0, 2), (4.0, 8), (8.0, 3)]},
        ),
    ],
    # test_sqlalchemy_store.py: test_search_with_max_results (12 runs, not 1,200)
    "max_results": [RunSpec(f"mr{i:02}") for i in range(12)],
    # test_sqlalchemy_store.py: test_search_runs_run_name (run_name1 renamed as in the test)
    "run_name": [
        RunSpec("run_name1", renamed_to="new_run_name1"),
        RunSpec("run_name2"),
    ],
    # test_sqlalchemy_store.py: test_search_runs_run_id
    "run_id": [RunSpec("ri1"), RunSpec("ri2")],
    # test_sqlalchemy_store.py: test_search_runs_start_time_alias
    "alias": [RunSpec("name1"), RunSpec("name2")],
    # test_sqlalchemy_store.py: test_search_runs_keep_all_runs_when_sorting
    "keep_all": [RunSpec("k1", tags={"t1": "1", "t2": "1"}), RunSpec("k2", tags={"t2": "1"})],
    # test_sqlalchemy_store.py: test_search_runs_correctly_filters_large_data (40 runs, not
    # 1,000) and test_search_runs_returns_expected_results_with_large_experiment
    "large": [
        RunSpec(
            f"L{i:02}",
            params={"pkey_0": f"pval_{(i + 1) % 11}", "pkey_1": "x"},
            metrics={"mkey_0": [(float(i), 300)], "mkey_1": [(1.0, 3)]},
            tags={"tkey_0": f"tval_{i % 10}"},
        )
        for i in range(40)
    ],
    # Params that read as numbers, for the order nbtrack gives them.
    "numeric_params": [
        RunSpec("np9", {"p": "9"}),
        RunSpec("np10", {"p": "10"}),
        RunSpec("np_abc", {"p": "abc"}),
    ],
}


@dataclass
class World:
    """One store holding every scenario, and how to ask it."""

    search: Callable[[Sequence[str], str | None, Sequence[str], int | None, bool], Answer]
    ids: dict[str, str] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)
    ends: dict[str, int] = field(default_factory=dict)
    uris: dict[str, str] = field(default_factory=dict)
    experiments: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """What a filter template may name: ``{id[ri1]}``, ``{start[t_a]}``, ``{uri[r1]}``."""
        return {
            "id": self.ids,
            "ID": {name: run_id.upper() for name, run_id in self.ids.items()},
            "tail": {name: run_id[-16:] for name, run_id in self.ids.items()},
            "TAIL": {name: run_id[-16:].upper() for name, run_id in self.ids.items()},
            "start": self.starts,
            "end": self.ends,
            "uri": self.uris,
            "URI": {name: uri.upper() for name, uri in self.uris.items()},
            "exp": self.experiments,
        }


# -- nbtrack ----------------------------------------------------------------------------------


@contextmanager
def nbtrack_world(folder: Path) -> Iterator[World]:
    """Every scenario in an nbtrack store in ``folder``; the store set as the current one."""
    open_runs = []
    with pytest.MonkeyPatch.context() as patch:
        nbtrack.set_tracking_uri(folder / "nbtrack.duckdb")
        world = World(search=_nbtrack_search)
        try:
            for scenario, specs in SCENARIOS.items():
                world.experiments[scenario] = nbtrack.set_experiment(scenario).id
                for spec in specs:
                    open_runs += _nbtrack_run(world, scenario, spec, patch)
                for spec in _by_end_rank(specs):
                    # Reopened and ended again: its end time now follows the rank.
                    time.sleep(0.002)
                    with nbtrack.start_run(run_id=world.ids[spec.name]):
                        pass
                for spec in specs:
                    if spec.deleted:
                        nbtrack.delete_run(world.ids[spec.name])
            for name, run_id in world.ids.items():
                run = nbtrack.get_run(run_id)
                world.starts[name] = int(run.start_time.timestamp() * 1000)
                if run.end_time is not None:
                    world.ends[name] = int(run.end_time.timestamp() * 1000)
                world.uris[name] = run.artifact_uri
            yield world
        finally:
            for run in open_runs:
                run.end()
            store_module.close_all()
            config.set_tracking_uri(None)
            _current.choose_experiment(None)
            _current._last_started = None


def _nbtrack_run(
    world: World, scenario: str, spec: RunSpec, patch: pytest.MonkeyPatch
) -> list[Any]:
    # Start times one millisecond apart at least, as MLflow's filters see them.
    time.sleep(0.002)
    patch.setenv("LOGNAME", spec.user)  # the user nbtrack records, as getpass reads it
    run = nbtrack.start_run(name=spec.name, experiment=scenario, tags=dict(spec.tags))
    run.log_params(dict(spec.params))
    for key, points in spec.metrics.items():
        for value, step in points:
            run.log_metric(key, value, step=step)
    name = spec.renamed_to or spec.name
    world.ids[name] = run.id
    if spec.renamed_to is not None:
        manage.rename_run(run.id, spec.renamed_to)
    if spec.status == "RUNNING":
        # Left open, but no longer the active run: the next run is not its child.
        _current.remove(run)
        return [run]
    run.end(spec.status)
    return []


def _nbtrack_search(
    scenarios: Sequence[str],
    filter_text: str | None,
    order_by: Sequence[str],
    max_results: int | None,
    all_runs: bool,
) -> Answer:
    try:
        frame = nbtrack.search_runs(
            experiment=list(scenarios),
            filter=filter_text,
            order_by=list(order_by),
            max_results=max_results,
            include_deleted=all_runs,
        )
    except InvalidValueError:
        return REFUSED
    return tuple(frame["run_name"])


# -- MLflow -----------------------------------------------------------------------------------


@contextmanager
def quiet() -> Iterator[None]:
    """MLflow and SQLAlchemy warn about their own deprecations; that is not what is tested."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextmanager
def mlflow_world(folder: Path) -> Iterator[World]:
    """Every scenario in MLflow's SQLite store in ``folder``, written through MLflow's store
    API as MLflow's own tests write theirs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        with quiet():
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            store = SqlAlchemyStore(
                f"sqlite:///{folder / 'mlflow.db'}", (folder / "mlflow-artifacts").as_uri()
            )
            world = _mlflow_runs(store)
        yield world
        store.engine.dispose()


def _mlflow_runs(store: Any) -> World:
    from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
    from mlflow.exceptions import MlflowException

    def search(
        scenarios: Sequence[str],
        filter_text: str | None,
        order_by: Sequence[str],
        max_results: int | None,
        all_runs: bool,
    ) -> Answer:
        with quiet():
            try:
                found = store.search_runs(
                    [world.experiments[s] for s in scenarios],
                    filter_text,
                    ViewType.ALL if all_runs else ViewType.ACTIVE_ONLY,
                    max_results=1000 if max_results is None else max_results,
                    order_by=list(order_by),
                )
            except MlflowException:
                return REFUSED
        return tuple(run.info.run_name for run in found)

    world = World(search=search)
    clock = itertools.count(T0, 10)
    for scenario, specs in SCENARIOS.items():
        experiment_id = store.create_experiment(scenario)
        world.experiments[scenario] = experiment_id
        for spec in specs:
            run_id = store.create_run(
                experiment_id,
                user_id=spec.user,
                start_time=next(clock),
                tags=[RunTag(key, value) for key, value in spec.tags.items()],
                run_name=spec.name,
            ).info.run_id
            for key, value in spec.params.items():
                store.log_param(run_id, Param(key, str(value)))
            for key, points in spec.metrics.items():
                for value, step in points:
                    store.log_metric(run_id, Metric(key, value, next(clock), step))
            if spec.status != "RUNNING":
                store.update_run_info(run_id, RunStatus.from_string(spec.status), next(clock), None)
            if spec.renamed_to is not None:
                store.update_run_info(run_id, None, None, spec.renamed_to)
            world.ids[spec.renamed_to or spec.name] = run_id
        for spec in _by_end_rank(specs):
            store.update_run_info(world.ids[spec.name], RunStatus.FINISHED, next(clock), None)
        for spec in specs:
            if spec.deleted:
                store.delete_run(world.ids[spec.name])
    for name, run_id in world.ids.items():
        info = store.get_run(run_id).info
        world.starts[name] = info.start_time
        if info.end_time is not None:
            world.ends[name] = info.end_time
        world.uris[name] = info.artifact_uri
    return world


def _by_end_rank(specs: Sequence[RunSpec]) -> list[RunSpec]:
    return sorted((s for s in specs if s.end_rank is not None), key=lambda s: s.end_rank or 0)
