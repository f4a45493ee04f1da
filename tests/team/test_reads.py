"""Reading from a real ``nbtrack server`` with nbtrack's own API: this test's process logs to
it with ``set_tracking_uri(server.url)``, and every answer is checked against what the
server's store file itself holds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import nbtrack
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.store import combined, registry, runs
from nbtrack.store.remote.store import RemoteStore
from nbtrack.store.store import close_all as close_local_stores
from nbtrack.store.store import get_store
from nbtrack.tracking.search import compile_filter, compile_order_by
from tests.mlflow_compat.conftest import NBTRACK, RunningServer


@pytest.fixture
def server_store(team_server: RunningServer) -> Path:
    return Path(team_server.process.args[team_server.process.args.index("--store") + 1])


def _on_the_store_itself(path: Path, operation: Any, *args: Any) -> Any:
    """``operation`` run on the server's store file from this process, as a second reader."""
    try:
        return get_store(path).read(operation, *args)
    finally:
        close_local_stores()


def _log_sweep() -> list[str]:
    nbtrack.set_experiment("sweep")
    ids = []
    for number, (lr, acc) in enumerate([(0.1, 0.7), (0.1, 0.9), (0.2, 0.8), (0.3, 0.95)]):
        with nbtrack.start_run(name=f"run-{number}") as run:
            nbtrack.log_params({"lr": lr, "layers": number + 1})
            for step in range(3):
                nbtrack.log_metric("acc", acc - 0.1 * (2 - step), step=step)
            nbtrack.set_tag("team", "blue" if number % 2 else "red")
        ids.append(run.id)
    return ids


def test_the_current_store_is_the_server(on_server: RunningServer) -> None:
    from nbtrack.store.current import current_store

    assert isinstance(current_store(), RemoteStore)


@pytest.mark.parametrize(
    ("filter_text", "order_by", "max_results"),
    [
        (None, None, None),
        ("metrics.acc > 0.75 and params.lr = '0.1'", None, None),
        ("tags.team = 'blue' or params.layers > 2", ["metrics.acc DESC"], None),
        ("(params.lr = '0.1' or params.lr = '0.3') and attributes.status = 'FINISHED'",
         "params.layers DESC", 2),
        (None, ["metrics.acc ASC"], 1),
    ],
)  # fmt: skip
def test_search_runs_answers_what_the_servers_store_holds(
    on_server: RunningServer,
    server_store: Path,
    filter_text: str | None,
    order_by: Any,
    max_results: int | None,
) -> None:
    _log_sweep()
    found = nbtrack.search_runs(filter=filter_text, order_by=order_by, max_results=max_results)
    where = compile_filter(filter_text)
    order = compile_order_by(order_by)
    expected = _on_the_store_itself(
        server_store, combined.search_runs_in, ["sweep"], (where.sql, where.params),
        (order.sql, order.params), max_results, False, "/elsewhere",
    )  # fmt: skip
    assert len(found) > 0
    # Everything but where the artifacts are said to be (each side names its own folder).
    pd.testing.assert_frame_equal(
        found.drop(columns=["artifact_uri", "duration"]),
        expected.drop(columns=["artifact_uri", "duration"]),
    )


def test_a_run_just_logged_is_read_back_whole_from_the_server(
    on_server: RunningServer, server_store: Path
) -> None:
    ids = _log_sweep()
    run = nbtrack.get_run(ids[1])
    assert run.params == {"lr": 0.1, "layers": 2}
    assert run.metrics == {"acc": pytest.approx(0.9)}
    assert run.tags["team"] == "blue"
    assert run.status == "FINISHED"
    stored = _on_the_store_itself(server_store, runs.get_run, ids[1])
    assert (run.params, run.metrics, run.tags) == (stored.params, stored.metrics, stored.tags)
    last = nbtrack.last_run()
    assert last is not None
    assert last.id == ids[-1]
    history = nbtrack.get_metric_history(ids[1], "acc")
    assert history["step"].tolist() == [0, 1, 2]
    assert history["value"].tolist() == pytest.approx([0.7, 0.8, 0.9])


def test_experiments_are_made_listed_and_found_on_the_server(
    on_server: RunningServer, server_store: Path
) -> None:
    made = nbtrack.set_experiment("team-a")
    nbtrack.create_experiment("team-b")
    assert [e.name for e in nbtrack.list_experiments()] == ["Default", "team-a", "team-b"]
    assert nbtrack.get_experiment("team-a") == made
    with pytest.raises(NotFoundError, match="nowhere"):
        nbtrack.get_experiment("nowhere")
    stored = _on_the_store_itself(server_store, combined.experiments_with_run_counts, False)
    assert [e.name for e in stored[0]] == ["Default", "team-a", "team-b"]


def test_sql_runs_on_the_server(on_server: RunningServer) -> None:
    _log_sweep()
    frame = nbtrack.sql(
        "SELECT r.run_name, max(m.value) AS best FROM runs r JOIN metrics m USING (run_id) "
        "GROUP BY r.run_name ORDER BY r.run_name"
    )
    assert frame["run_name"].tolist() == ["run-0", "run-1", "run-2", "run-3"]
    assert frame["best"].tolist() == pytest.approx([0.7, 0.9, 0.8, 0.95])
    with pytest.raises(InvalidValueError, match="read-only"):
        nbtrack.sql("DELETE FROM runs")


def test_a_run_deleted_and_restored_through_the_server_is_so_on_the_server(
    on_server: RunningServer,
) -> None:
    ids = _log_sweep()
    nbtrack.delete_run(ids[0])
    assert ids[0] not in nbtrack.search_runs()["run_id"].tolist()
    nbtrack.restore_run(ids[0])
    assert ids[0] in nbtrack.search_runs()["run_id"].tolist()


def test_the_registry_is_read_and_changed_on_the_server(
    on_server: RunningServer, server_store: Path
) -> None:
    with nbtrack.start_run(name="fit"):
        info = nbtrack.log_model(LinearRegression().fit(np.eye(3), [1, 2, 3]), "model")
    first = nbtrack.register_model(info.model_uri, "churn")
    second = nbtrack.register_model(info.model_uri, "churn")
    assert (first.version, second.version) == (1, 2)
    nbtrack.promote("churn", 1)
    nbtrack.set_alias("churn", "challenger", 2)
    nbtrack.set_alias("churn", "champion", 2)
    nbtrack.delete_alias("churn", "challenger")
    assert nbtrack.get_model_version("churn", 2).aliases == ("champion",)
    assert [v.version for v in nbtrack.search_model_versions("churn")] == [1, 2]
    history = nbtrack.get_alias_history("churn")
    assert history[["alias", "version", "previous_version"]].astype(object).where(
        history[["alias", "version", "previous_version"]].notna(), None
    ).values.tolist() == [
        ["champion", 1, None],
        ["challenger", 2, None],
        ["champion", 2, 1],
        ["challenger", None, 2],
    ]
    stored = _on_the_store_itself(server_store, registry.search_model_versions, "churn")
    assert [(v.version, v.aliases) for v in stored] == [(1, ()), (2, ("champion",))]


def test_compare_shows_the_servers_runs_and_refreshes_on_demand(on_server: RunningServer) -> None:
    ids = _log_sweep()
    view = nbtrack.compare("sweep")
    assert sorted(view.runs["run_id"]) == sorted(ids)
    with nbtrack.start_run(name="late", experiment="sweep") as late:
        nbtrack.log_metric("acc", 0.99)
    view.refresh()
    assert late.id in view.runs["run_id"].tolist()
    assert view._problem is None
    view.close()


def test_the_cli_reads_runs_and_experiments_from_the_server(
    on_server: RunningServer, tmp_path: Path
) -> None:
    ids = _log_sweep()
    nbtrack.search_runs()  # everything delivered
    env = {**os.environ, "NBTRACK_URI": on_server.url}
    listed = subprocess.run(
        [*NBTRACK, "runs", "list", "--experiment-name", "sweep"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert all(f"run-{n}" in listed.stdout for n in range(4)), listed.stdout
    experiments = subprocess.run(
        [*NBTRACK, "experiments", "list"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert experiments.returncode == 0, experiments.stderr
    assert "sweep" in experiments.stdout
    shown = subprocess.run(
        [*NBTRACK, "runs", "show", ids[1][:8]],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "run-1" in shown.stdout
    assert "lr" in shown.stdout


def test_the_registry_widget_opens_on_the_servers_models(on_server: RunningServer) -> None:
    with nbtrack.start_run(name="fit"):
        info = nbtrack.log_model(LinearRegression().fit(np.eye(3), [1, 2, 3]), "model")
    nbtrack.register_model(info.model_uri, "churn")
    nbtrack.promote("churn", 1)
    view = nbtrack.registry()
    assert view.model == "churn"
    assert view.versions["version"].tolist() == [1]
    assert view.history["alias"].tolist() == ["champion"]
    view.close()
