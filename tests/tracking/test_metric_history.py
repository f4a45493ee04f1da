"""``get_metric_history``: MLflow's order, and a thinned history for charts."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbtrack


def test_points_come_back_in_step_order_whatever_order_they_were_logged_in(
    store_path: Path,
) -> None:
    with nbtrack.start_run() as run:
        for step in (3, 0, 2, 1, 4):
            nbtrack.log_metric("loss", step / 10, step=step)
    history = nbtrack.get_metric_history(run.id, "loss")
    assert history["step"].tolist() == [0, 1, 2, 3, 4]
    assert history["value"].tolist() == [0.0, 0.1, 0.2, 0.3, 0.4]


def test_points_of_one_step_keep_the_order_they_were_logged_in(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        for value in (5.0, 6.0, 7.0):
            nbtrack.log_metric("loss", value, step=1)
        nbtrack.log_metric("loss", 1.0, step=0)
    assert nbtrack.get_metric_history(run.id, "loss")["value"].tolist() == [1.0, 5.0, 6.0, 7.0]


def test_the_columns_are_compact_numpy_types(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("loss", 0.5)
    history = nbtrack.get_metric_history(run.id, "loss")
    assert {column: str(dtype) for column, dtype in history.dtypes.items()} == {
        "step": "int64",
        "value": "float64",
        "timestamp": "datetime64[us, UTC]",
    }


def test_max_points_keeps_every_nth_point_and_the_last(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        for step in range(1000):
            nbtrack.log_metric("loss", float(step), step=step)
    thinned = nbtrack.get_metric_history(run.id, "loss", max_points=100)
    steps = thinned["step"].tolist()
    assert len(steps) <= 101
    assert steps[0] == 0 and steps[-1] == 999
    assert steps == sorted(steps)
    assert steps[:3] == [0, 10, 20]
    short = nbtrack.get_metric_history(run.id, "loss", max_points=5000)
    assert len(short) == 1000


@pytest.mark.parametrize("bad", [0, 1, -5, 2.5, True, "100"])
def test_a_bad_max_points_is_refused_naming_it(store_path: Path, bad: object) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("loss", 0.5)
    with pytest.raises(nbtrack.InvalidValueError, match="max_points") as excinfo:
        nbtrack.get_metric_history(run.id, "loss", max_points=bad)  # type: ignore[arg-type]
    assert repr(bad) in str(excinfo.value)
