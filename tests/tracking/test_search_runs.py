"""search_runs and sql over a real store."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import nbtrack
from tests.conftest import raw_connection


@pytest.fixture
def sweep(store_path: Path) -> list[str]:
    """Four runs of one experiment: two optimizers, three learning rates, one failure."""
    nbtrack.set_experiment("sweep")
    ids = []
    for lr, optimizer, acc in [(0.1, "adam", 0.91), (0.01, "adam", 0.95), (0.1, "sgd", 0.85)]:
        with nbtrack.start_run(name=f"{optimizer}-{lr}", tags={"team": "vision"}) as run:
            nbtrack.log_params({"lr": lr, "optimizer": optimizer, "layers": [64, 32]})
            for step in range(3):
                nbtrack.log_metric("acc", acc - 0.1 * (2 - step), step=step)
        ids.append(run.id)
    with pytest.raises(RuntimeError), nbtrack.start_run(name="broken") as run:
        nbtrack.log_param("lr", 1.0)
        nbtrack.log_metric("acc", float("nan"))
        raise RuntimeError("diverged")
    ids.append(run.id)
    return ids


def test_search_runs_gives_one_row_per_run_with_mlflow_column_names(sweep: list[str]) -> None:
    frame = nbtrack.search_runs()
    assert len(frame) == 4
    assert list(frame.columns[:6]) == [
        "run_id", "run_name", "experiment", "status", "start_time", "end_time",
    ]  # fmt: skip
    assert {"params.lr", "params.optimizer", "metrics.acc", "tags.team"} <= set(frame.columns)
    assert set(frame["experiment"]) == {"sweep"}
    assert frame["start_time"].dt.tz is not None
    # newest first by default
    assert list(frame["run_id"]) == list(reversed(sweep))


def test_search_runs_keeps_param_types_and_the_latest_metric(sweep: list[str]) -> None:
    frame = nbtrack.search_runs(order_by="start_time").set_index("run_id")
    assert frame.loc[sweep[1], "params.lr"] == 0.01
    assert frame["params.lr"].dtype == "float64"
    assert frame.loc[sweep[0], "params.optimizer"] == "adam"
    assert frame.loc[sweep[0], "metrics.acc"] == pytest.approx(0.91)
    assert math.isnan(frame.loc[sweep[3], "metrics.acc"])
    assert frame.loc[sweep[3], "status"] == "FAILED"


def test_search_runs_filters_with_and_or_and_parentheses(sweep: list[str]) -> None:
    adam_or_sgd_fast = nbtrack.search_runs(
        filter="metrics.acc > 0.9 and (params.optimizer = 'adam' or params.lr = '0.1')"
    )
    assert set(adam_or_sgd_fast["run_id"]) == {sweep[0], sweep[1]}
    either = nbtrack.search_runs(filter="params.optimizer = 'sgd' OR attributes.status = 'FAILED'")
    assert set(either["run_id"]) == {sweep[2], sweep[3]}


def test_search_runs_orders_and_limits(sweep: list[str]) -> None:
    best = nbtrack.search_runs(order_by=["metrics.acc DESC"], max_results=2)
    assert list(best["run_id"]) == [sweep[1], sweep[0]]


def test_search_runs_adds_min_and_max_when_asked(sweep: list[str]) -> None:
    frame = nbtrack.search_runs(with_min_max=True).set_index("run_id")
    assert frame.loc[sweep[1], "metrics.acc.min"] == pytest.approx(0.75)
    assert frame.loc[sweep[1], "metrics.acc.max"] == pytest.approx(0.95)


def test_search_runs_takes_an_experiment_by_name_id_or_list(sweep: list[str]) -> None:
    with nbtrack.start_run(experiment="other"):
        pass
    sweep_id = nbtrack.get_experiment("sweep").id
    assert len(nbtrack.search_runs(experiment=sweep_id)) == 4
    assert len(nbtrack.search_runs(experiment=["sweep", "other"])) == 5
    with pytest.raises(nbtrack.NotFoundError, match="nope"):
        nbtrack.search_runs(experiment="nope")


def test_search_runs_of_an_empty_experiment_is_an_empty_frame(store_path: Path) -> None:
    frame = nbtrack.search_runs()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 0
    assert list(frame.columns) == [
        "run_id", "run_name", "experiment", "status", "start_time", "end_time", "experiment_id",
        "artifact_uri", "duration", "parent_run_id",
    ]  # fmt: skip


def test_search_runs_has_mlflows_experiment_id_and_artifact_uri_columns(
    sweep: list[str],
) -> None:
    frame = nbtrack.search_runs().set_index("run_id")
    run = nbtrack.get_run(sweep[1])

    assert list(frame.columns[5:7]) == ["experiment_id", "artifact_uri"]
    assert set(frame["experiment_id"]) == {nbtrack.get_experiment("sweep").id}
    assert frame.loc[sweep[1], "artifact_uri"] == run.artifact_uri
    assert Path(run.artifact_uri).is_absolute()


def test_the_artifact_uri_a_run_shows_finds_it(sweep: list[str]) -> None:
    uri = nbtrack.get_run(sweep[2]).artifact_uri

    assert nbtrack.search_runs(filter=f"attributes.artifact_uri = '{uri}'")["run_id"].tolist() == [
        sweep[2]
    ]
    assert len(nbtrack.search_runs(filter=f"artifact_uri LIKE '%{sweep[2][-16:]}%'")) == 1


def test_the_mlflow_run_name_tag_finds_a_run_by_its_name_and_is_no_column(
    sweep: list[str],
) -> None:
    found = nbtrack.search_runs(filter="tags.`mlflow.runName` = 'sgd-0.1'")

    assert found["run_id"].tolist() == [sweep[2]]
    assert "tags.mlflow.runName" not in found.columns  # run_name holds it


def test_a_param_logged_as_text_compares_with_a_number(sweep: list[str]) -> None:
    with nbtrack.start_run(name="from-mlflow") as run:
        nbtrack.log_param("lr", "0.05")  # as MLflow's client logs every param: text
    between = nbtrack.search_runs(filter="params.lr > 0.02 and params.lr < 0.09")

    assert between["run_id"].tolist() == [run.id]


def test_a_bad_filter_names_its_position_and_changes_nothing(sweep: list[str]) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match="position"):
        nbtrack.search_runs(filter="metrics.acc >")
    with pytest.raises(nbtrack.InvalidValueError):
        nbtrack.search_runs(filter="run_name = 'a' OR 1=1 --")
    with pytest.raises(nbtrack.InvalidValueError):
        nbtrack.search_runs(filter="params.lr = '0.1'; DROP TABLE runs")
    with pytest.raises(nbtrack.InvalidValueError, match="max_results"):
        nbtrack.search_runs(max_results=0)
    assert len(nbtrack.search_runs()) == 4


def test_an_unknown_filter_key_names_the_key_and_what_is_valid(sweep: list[str]) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match=r"(?s)colour.*metrics"):
        nbtrack.search_runs(filter="colour.red = 'x'")


def test_deleted_runs_are_hidden_unless_asked_for(sweep: list[str]) -> None:
    nbtrack.delete_run(sweep[0])
    assert sweep[0] not in set(nbtrack.search_runs()["run_id"])
    assert sweep[0] in set(nbtrack.search_runs(include_deleted=True)["run_id"])
    nbtrack.restore_run(sweep[0])
    assert sweep[0] in set(nbtrack.search_runs()["run_id"])


def test_sql_answers_a_question_over_every_step(sweep: list[str]) -> None:
    frame = nbtrack.sql(
        "SELECT r.run_name, max(m.value) AS best FROM metrics m JOIN runs r USING (run_id) "
        "WHERE m.key = 'acc' AND NOT isnan(m.value) GROUP BY r.run_name ORDER BY best DESC"
    )
    assert list(frame["run_name"]) == ["adam-0.01", "adam-0.1", "sgd-0.1"]
    times = nbtrack.sql("SELECT start_time FROM runs")
    assert pd.api.types.is_datetime64_any_dtype(times["start_time"])


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM runs",
        "DROP TABLE metrics",
        "UPDATE runs SET status = 'FINISHED'",
        "COPY runs TO 'stolen.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "ATTACH 'other.duckdb' AS other",
        "INSTALL httpfs",
        "SET enable_external_access = true",
        "SET max_temp_directory_size = '1TB'",
        "SELECT 1; RESET max_temp_directory_size; SELECT 2",
        "CREATE TABLE x AS SELECT 1",
    ],
)
def test_sql_refuses_anything_but_reading_the_store(
    sweep: list[str], store_path: Path, statement: str
) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match="sql"):
        nbtrack.sql(statement)
    assert not (store_path.parent / "stolen.csv").exists()
    assert not (store_path.parent / "other.duckdb").exists()
    nbtrack.flush()
    with raw_connection(store_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (4,)
        assert con.execute("SELECT count(*) FROM metrics").fetchone() == (10,)


def test_a_float_param_that_is_nan_or_infinite_stays_a_number(store_path: object) -> None:
    for value in (float("nan"), float("inf"), 0.5):
        with nbtrack.start_run():
            nbtrack.log_param("error_score", value)
    column = nbtrack.search_runs(order_by="start_time")["params.error_score"]
    assert column.dtype == "float64"
    assert column.iloc[0] != column.iloc[0] and list(column.iloc[1:]) == [float("inf"), 0.5]
