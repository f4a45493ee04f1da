"""A run from start to end: how it ends, runs inside runs, reopening, experiments, steps."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nbtrack
from nbtrack.entities import Run
from nbtrack.tracking.lifecycle import open_run


def _train() -> None:
    raise ValueError("loss exploded at epoch 3")


# -- how a run ends -------------------------------------------------------------------------------


def test_leaving_the_with_block_finishes_the_run_with_an_end_time(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        assert run.status == "RUNNING"
        assert run.end_time is None

    got = nbtrack.get_run(run.id)
    assert got.status == "FINISHED"
    assert got.end_time is not None
    assert got.end_time >= got.start_time
    assert got.error is None
    assert run.ended


def test_an_exception_fails_the_run_keeps_the_traceback_and_is_reraised(
    store_path: Path,
) -> None:
    with pytest.raises(ValueError, match="loss exploded"), nbtrack.start_run() as run:
        nbtrack.log_metric("loss", 1.0)
        _train()

    got = nbtrack.get_run(run.id)
    assert got.status == "FAILED"
    assert got.end_time is not None
    assert got.error is not None
    assert "Traceback (most recent call last)" in got.error
    assert "_train" in got.error
    assert "ValueError: loss exploded at epoch 3" in got.error
    assert got.metrics == {"loss": 1.0}
    assert nbtrack.active_run() is None


def test_ctrl_c_in_the_with_block_kills_the_run_and_is_reraised(store_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), nbtrack.start_run() as run:
        raise KeyboardInterrupt

    got = nbtrack.get_run(run.id)
    assert got.status == "KILLED"
    assert got.end_time is not None
    assert nbtrack.active_run() is None


@pytest.mark.parametrize(("code", "status"), [(0, "FINISHED"), (None, "FINISHED"), (2, "FAILED")])
def test_sys_exit_in_the_with_block_ends_the_run_by_its_exit_code(
    store_path: Path, code: int | None, status: str
) -> None:
    with pytest.raises(SystemExit), nbtrack.start_run() as run:
        sys.exit(code)

    assert nbtrack.get_run(run.id).status == status


def test_end_run_twice_is_harmless(store_path: Path) -> None:
    run = nbtrack.start_run()
    nbtrack.end_run()
    first_end = nbtrack.get_run(run.id).end_time
    nbtrack.end_run()
    run.end()
    run.end("FAILED")

    got = nbtrack.get_run(run.id)
    assert got.status == "FINISHED"
    assert got.end_time == first_end
    assert nbtrack.active_run() is None


def test_end_run_with_no_active_run_does_nothing(store_path: Path) -> None:
    nbtrack.end_run()
    assert nbtrack.active_run() is None


def test_end_run_with_a_status_ends_the_run_with_it(store_path: Path) -> None:
    run = nbtrack.start_run()
    nbtrack.end_run(status="KILLED")

    assert nbtrack.get_run(run.id).status == "KILLED"


def test_end_run_with_an_unknown_status_raises_and_leaves_the_run_open(store_path: Path) -> None:
    run = nbtrack.start_run()
    with pytest.raises(nbtrack.InvalidValueError, match="DONE"):
        nbtrack.end_run(status="DONE")

    assert nbtrack.active_run() is run
    assert run.status == "RUNNING"


# -- runs inside runs -----------------------------------------------------------------------------


def test_a_with_start_run_inside_another_opens_a_child_run(store_path: Path) -> None:
    with nbtrack.start_run(name="sweep") as parent:
        with nbtrack.start_run(name="trial-1") as child:
            assert nbtrack.active_run() is child
            nbtrack.log_metric("loss", 0.3)
        assert nbtrack.active_run() is parent
        assert parent.status == "RUNNING"
        nbtrack.log_metric("best_loss", 0.3)

    got_child = nbtrack.get_run(child.id)
    got_parent = nbtrack.get_run(parent.id)
    assert child.id != parent.id
    assert got_child.parent_run_id == parent.id
    assert got_parent.parent_run_id is None
    assert got_child.status == got_parent.status == "FINISHED"
    assert got_child.metrics == {"loss": 0.3}
    assert got_parent.metrics == {"best_loss": 0.3}


def test_an_exception_caught_in_the_parent_fails_only_the_child(store_path: Path) -> None:
    with nbtrack.start_run() as parent, pytest.raises(ValueError), nbtrack.start_run() as child:
        _train()

    assert nbtrack.get_run(child.id).status == "FAILED"
    assert nbtrack.get_run(parent.id).status == "FINISHED"
    assert nbtrack.get_run(parent.id).error is None


def test_start_run_nested_opens_a_child_of_a_run_started_without_with(store_path: Path) -> None:
    parent = nbtrack.start_run()
    child = nbtrack.start_run(nested=True)

    assert child.parent_run_id == parent.id
    assert nbtrack.active_run() is child


def test_ending_a_parent_ends_its_open_children(store_path: Path) -> None:
    parent = nbtrack.start_run()
    child = nbtrack.start_run(nested=True)
    parent.end()

    assert nbtrack.get_run(child.id).status == "FINISHED"
    assert nbtrack.get_run(parent.id).status == "FINISHED"
    assert nbtrack.active_run() is None


def test_a_cell_run_opened_while_a_cell_run_is_open_is_its_child(store_path: Path) -> None:
    # A cell run is ended by its cell: while it is open, its cell is still executing, and a
    # tracked cell run from that cell (get_ipython().run_cell) belongs to it.
    outer = open_run(name="outer", cell=True)
    inner = open_run(name="inner", cell=True)

    assert inner.parent_run_id == outer.id
    assert nbtrack.active_run() is inner
    inner.end()
    assert nbtrack.active_run() is outer
    assert nbtrack.get_run(outer.id).status == "RUNNING"


def test_a_cell_run_opened_inside_a_with_block_is_its_child(store_path: Path) -> None:
    with nbtrack.start_run(name="sweep") as parent:
        cell_run = open_run(cell=True)
        assert cell_run.parent_run_id == parent.id
        cell_run.end()
        assert nbtrack.active_run() is parent

    assert nbtrack.get_run(parent.id).status == "FINISHED"
    assert "nbtrack.closed_by" not in nbtrack.get_run(parent.id).tags


def test_a_cell_run_closes_what_is_left_open_above_the_run_it_belongs_to(
    store_path: Path,
) -> None:
    outer = open_run(name="outer", cell=True)
    forgotten = nbtrack.start_run(nested=True)
    inner = open_run(name="inner", cell=True)

    assert inner.parent_run_id == outer.id
    assert nbtrack.get_run(forgotten.id).status == "FINISHED"
    assert nbtrack.get_run(forgotten.id).tags["nbtrack.closed_by"]


# -- reopening a run ------------------------------------------------------------------------------


def test_start_run_with_run_id_reopens_a_finished_run(store_path: Path) -> None:
    with nbtrack.start_run(name="baseline") as run:
        nbtrack.log_param("lr", 0.1)
        nbtrack.log_metric("loss", 1.0)
        nbtrack.log_metric("loss", 0.9)

    with nbtrack.start_run(run_id=run.id) as again:
        assert again.id == run.id
        assert again.name == "baseline"
        assert again.status == "RUNNING"
        assert again.end_time is None
        assert again.params == {"lr": 0.1}
        nbtrack.log_param("lr", 0.1)  # the same value: fine
        with pytest.raises(nbtrack.InvalidValueError, match="lr"):
            nbtrack.log_param("lr", 0.2)
        nbtrack.log_metric("loss", 0.8)

    got = nbtrack.get_run(run.id)
    assert got.status == "FINISHED"
    assert got.end_time is not None
    assert got.params == {"lr": 0.1}
    assert got.metrics == {"loss": 0.8}
    history = nbtrack.get_metric_history(run.id, "loss")
    assert history["step"].tolist() == [0, 1, 2]
    assert history["value"].tolist() == [1.0, 0.9, 0.8]


def test_reopening_a_failed_run_clears_its_error_while_it_runs(store_path: Path) -> None:
    with pytest.raises(ValueError), nbtrack.start_run() as run:
        _train()

    with nbtrack.start_run(run_id=run.id) as again:
        assert again.status == "RUNNING"
        assert again.error is None

    assert nbtrack.get_run(run.id).status == "FINISHED"


def test_a_point_logged_after_reopening_at_an_earlier_step_is_not_the_latest(
    store_path: Path,
) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("loss", 0.5, step=10)

    with nbtrack.start_run(run_id=run.id):
        nbtrack.log_metric("loss", 0.7, step=3)

    # as in MLflow: the latest value is the one at the highest step
    assert nbtrack.get_run(run.id).metrics == {"loss": 0.5}
    # the history is in step order, as MLflow returns it
    assert nbtrack.get_metric_history(run.id, "loss")["value"].tolist() == [0.7, 0.5]


def test_a_reopened_run_continues_its_default_steps_after_its_highest_step(
    store_path: Path,
) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("loss", 0.5, step=10)
        nbtrack.log_metric("loss", 0.7, step=3)

    with nbtrack.start_run(run_id=run.id):
        nbtrack.log_metric("loss", 0.4)

    assert nbtrack.get_metric_history(run.id, "loss")["step"].tolist() == [3, 10, 11]
    assert nbtrack.get_run(run.id).metrics == {"loss": 0.4}


def test_a_run_reopened_by_another_process_continues_its_steps_and_keeps_its_params(
    store_path: Path, child_env: dict[str, str]
) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_param("lr", 0.1)
        nbtrack.log_metric("loss", 1.0)
        nbtrack.log_metric("loss", 0.9)
    child_env["RUN_ID"] = run.id
    script = textwrap.dedent(
        """
        import os
        import nbtrack

        with nbtrack.start_run(run_id=os.environ["RUN_ID"]):
            nbtrack.log_param("lr", 0.1)
            try:
                nbtrack.log_param("lr", 0.5)
            except nbtrack.InvalidValueError:
                print("conflict refused")
            nbtrack.log_metric("loss", 0.8)
        """
    )

    done = subprocess.run(
        [sys.executable, "-c", script], env=child_env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert "conflict refused" in done.stdout
    got = nbtrack.get_run(run.id)
    assert got.status == "FINISHED"
    assert got.params == {"lr": 0.1}
    assert nbtrack.get_metric_history(run.id, "loss")["step"].tolist() == [0, 1, 2]


def test_reopening_an_unknown_run_id_raises_not_found(store_path: Path) -> None:
    with pytest.raises(nbtrack.NotFoundError, match="feedc0ffee"):
        nbtrack.start_run(run_id="feedc0ffee")
    assert nbtrack.active_run() is None


# -- active_run / last_run ------------------------------------------------------------------------


def test_active_run_is_the_open_run_and_none_outside(store_path: Path) -> None:
    assert nbtrack.active_run() is None
    with nbtrack.start_run() as run:
        assert nbtrack.active_run() is run
    assert nbtrack.active_run() is None


def test_last_run_is_the_newest_run_of_this_process_as_stored(store_path: Path) -> None:
    assert nbtrack.last_run() is None
    with nbtrack.start_run(name="first"):
        pass
    with nbtrack.start_run(name="second") as second:
        nbtrack.log_metric("acc", 0.9)
        live = nbtrack.last_run()
        assert live is not None
        assert live.status == "RUNNING"

    last = nbtrack.last_run()
    assert isinstance(last, Run)
    assert last.id == second.id
    assert last.name == "second"
    assert last.status == "FINISHED"
    assert last.metrics == {"acc": 0.9}


# -- experiments ----------------------------------------------------------------------------------


def test_list_experiments_of_a_new_store_holds_default(store_path: Path) -> None:
    experiments = nbtrack.list_experiments()

    assert [e.name for e in experiments] == ["Default"]
    assert all(isinstance(e, nbtrack.Experiment) for e in experiments)


def test_runs_without_an_experiment_go_to_default(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        pass

    assert nbtrack.get_run(run.id).experiment_id == nbtrack.get_experiment("Default").id


def test_set_experiment_creates_it_once_and_returns_it_again(store_path: Path) -> None:
    first = nbtrack.set_experiment("churn")
    again = nbtrack.set_experiment("churn")

    assert first.id == again.id
    assert first.name == "churn"
    assert [e.name for e in nbtrack.list_experiments()] == ["Default", "churn"]
    assert nbtrack.get_experiment("churn").id == first.id
    assert nbtrack.get_experiment(first.id).name == "churn"


def test_set_experiment_becomes_the_default_for_new_runs(store_path: Path) -> None:
    churn = nbtrack.set_experiment("churn")
    with nbtrack.start_run() as first:
        pass
    with nbtrack.start_run(experiment="fraud") as elsewhere:
        pass
    with nbtrack.start_run() as second:
        pass
    ranking = nbtrack.set_experiment("ranking")
    with nbtrack.start_run() as third:
        pass

    assert nbtrack.get_run(first.id).experiment_id == churn.id
    assert nbtrack.get_run(second.id).experiment_id == churn.id
    assert nbtrack.get_run(elsewhere.id).experiment_id == nbtrack.get_experiment("fraud").id
    assert nbtrack.get_run(third.id).experiment_id == ranking.id


def test_create_experiment_of_an_existing_name_raises(store_path: Path) -> None:
    created = nbtrack.create_experiment("churn")
    assert created.name == "churn"

    with pytest.raises(nbtrack.InvalidValueError, match="churn"):
        nbtrack.create_experiment("churn")
    with pytest.raises(nbtrack.InvalidValueError, match="Default"):
        nbtrack.create_experiment("Default")
    assert [e.name for e in nbtrack.list_experiments()] == ["Default", "churn"]


# -- what a run reads back ------------------------------------------------------------------------


def test_a_run_reads_back_params_metrics_and_tags_as_logged(store_path: Path) -> None:
    with nbtrack.start_run(tags={"team": "vision"}) as run:
        nbtrack.log_params(
            {"lr": 0.01, "epochs": 10, "optimizer": "adam", "nesterov": True, "layers": [64, 32]}
        )
        nbtrack.log_metric("acc", 1)
        nbtrack.log_metric("loss", 0.25)
        nbtrack.set_tag("seed", 42)
        nbtrack.set_tags({"stage": "dev", "gpu": False})

    got = nbtrack.get_run(run.id)
    assert got.params == {
        "lr": 0.01,
        "epochs": 10,
        "optimizer": "adam",
        "nesterov": True,
        "layers": [64, 32],
    }
    assert type(got.params["epochs"]) is int
    assert type(got.params["nesterov"]) is bool
    assert got.metrics == {"acc": 1.0, "loss": 0.25}
    assert all(type(v) is float for v in got.metrics.values())
    user_tags = {k: v for k, v in got.tags.items() if not k.startswith("nbtrack.")}
    assert user_tags == {"team": "vision", "seed": "42", "stage": "dev", "gpu": "False"}


def test_setting_a_tag_again_replaces_its_value(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.set_tag("stage", "dev")
        nbtrack.set_tag("stage", "prod")

    assert nbtrack.get_run(run.id).tags["stage"] == "prod"


def test_start_and_end_times_are_timezone_aware_and_duration_is_their_difference(
    store_path: Path,
) -> None:
    before = dt.datetime.now(dt.UTC)
    with nbtrack.start_run() as run:
        live = nbtrack.get_run(run.id)
        assert live.end_time is None
        assert isinstance(live.duration, dt.timedelta)
        assert live.duration >= dt.timedelta(0)
    after = dt.datetime.now(dt.UTC)

    got = nbtrack.get_run(run.id)
    assert isinstance(got.start_time, dt.datetime)
    assert isinstance(got.end_time, dt.datetime)
    for moment in (got.start_time, got.end_time):
        assert moment.tzinfo is not None
        assert moment.utcoffset() == dt.timedelta(0)
        assert before - dt.timedelta(seconds=1) <= moment <= after + dt.timedelta(seconds=1)
    assert got.duration == got.end_time - got.start_time
    assert got.duration >= dt.timedelta(0)
    assert run.duration == got.duration


# -- steps ----------------------------------------------------------------------------------------


def test_the_default_step_counts_up_per_key(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        for value in (0.9, 0.8, 0.7):
            nbtrack.log_metric("loss", value)
        nbtrack.log_metric("acc", 0.5)
        nbtrack.log_metrics({"loss": 0.6, "f1": 0.4})

    assert nbtrack.get_metric_history(run.id, "loss")["step"].tolist() == [0, 1, 2, 3]
    assert nbtrack.get_metric_history(run.id, "acc")["step"].tolist() == [0]
    assert nbtrack.get_metric_history(run.id, "f1")["step"].tolist() == [0]


def test_explicit_steps_are_kept_and_the_default_continues_after_them(store_path: Path) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("lr", 0.1, step=100)
        nbtrack.log_metric("lr", 0.05, step=200)
        nbtrack.log_metric("lr", 0.01)
        nbtrack.log_metrics({"lr": 0.005, "loss": 0.3}, step=500)
        nbtrack.log_metric("lr", 0.001, step=-1)

    history = nbtrack.get_metric_history(run.id, "lr")
    assert history["step"].tolist() == [-1, 100, 200, 201, 500]  # step order, as in MLflow
    assert history["value"].tolist() == [0.001, 0.1, 0.05, 0.01, 0.005]
    assert nbtrack.get_metric_history(run.id, "loss")["step"].tolist() == [500]


def test_many_points_at_one_step_are_all_kept_and_the_newest_at_the_highest_is_the_latest(
    store_path: Path,
) -> None:
    values = [float(i) for i in range(200)]
    with nbtrack.start_run() as run:
        for value in values:
            nbtrack.log_metric("loss", value, step=7)
        nbtrack.log_metric("loss", -1.0, step=6)
        nbtrack.log_metrics({"acc": 0.3}, step=1)
        nbtrack.log_metrics({"acc": 0.1}, step=1)
        nbtrack.log_metrics({"acc": 0.9}, step=0)

    history = nbtrack.get_metric_history(run.id, "loss")
    assert history["value"].tolist() == [-1.0, *values]
    assert set(history["step"]) == {6, 7}
    # at the highest step, the newest point: MLflow's rule, with logging order breaking ties
    assert nbtrack.get_run(run.id).metrics == {"loss": 199.0, "acc": 0.1}


def test_the_latest_value_is_the_newest_at_the_highest_step_across_flushes(
    store_path: Path,
) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("loss", 5.0, step=2)
        nbtrack.log_metric("loss", 9.0, step=2)
        assert nbtrack.get_run(run.id).metrics == {"loss": 9.0}  # flushed here
        nbtrack.log_metric("loss", 1.0, step=2)
        nbtrack.log_metric("loss", 3.0, step=0)

    assert nbtrack.get_run(run.id).metrics == {"loss": 1.0}
    history = nbtrack.get_metric_history(run.id, "loss")
    # step order; points of one step in the order they were logged
    assert history["value"].tolist() == [3.0, 5.0, 9.0, 1.0]
    assert history["step"].tolist() == [0, 2, 2, 2]


def test_the_latest_value_is_mlflows_in_the_run_its_search_and_its_summary(
    store_path: Path,
) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_metric("m", 3.0, step=2)
        nbtrack.log_metric("m", 4.0, step=8)
        nbtrack.flush()
        nbtrack.log_metric("m", 8.0, step=3)
        assert run.local_view().metrics == {"m": 4.0}

    assert nbtrack.get_run(run.id).metrics == {"m": 4.0}
    frame = nbtrack.search_runs()
    assert frame["metrics.m"].tolist() == [4.0]
    assert len(nbtrack.search_runs(filter="metrics.m = 4")) == 1
    assert len(nbtrack.search_runs(filter="metrics.m > 5")) == 0
