"""MLflow's model version stages through its client (server and plugin): a transition moves a
version, ``archive_existing_versions`` moves the others out of that stage, and
``get_latest_versions`` answers per stage; the stage is no tag to MLflow's client."""

from __future__ import annotations

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.mlflow_compat.conftest import is_server

# MLflow's client warns that stages are deprecated on every call that uses them.
pytestmark = pytest.mark.filterwarnings("ignore:.*Model registry stages:FutureWarning")


def _three_versions(client: MlflowClient) -> None:
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(client.tracking_uri)
    for _ in range(3):
        with mlflow.start_run():
            mlflow.sklearn.log_model(LogisticRegression(), name="model", registered_model_name="m")


@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred:UserWarning")
def test_transitions_move_versions_between_stages(mlflow_client: MlflowClient) -> None:
    _three_versions(mlflow_client)
    assert [v.current_stage for v in mlflow_client.search_model_versions("name='m'")] == [
        "None"
    ] * 3

    moved = mlflow_client.transition_model_version_stage("m", "1", "production")
    assert (moved.version, moved.current_stage, moved.tags) == ("1", "Production", {})
    mlflow_client.transition_model_version_stage("m", "2", "Staging")
    mlflow_client.transition_model_version_stage(
        "m", "3", "Production", archive_existing_versions=True
    )
    stages = {v.version: v.current_stage for v in mlflow_client.search_model_versions("name='m'")}
    assert stages == {"1": "Archived", "2": "Staging", "3": "Production"}

    latest = mlflow_client.get_latest_versions("m", stages=["Production", "Staging"])
    assert [(v.version, v.current_stage) for v in latest] == [("3", "Production"), ("2", "Staging")]
    everything = mlflow_client.get_latest_versions("m")
    assert sorted(v.version for v in everything) == ["1", "2", "3"]


@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred:UserWarning")
def test_a_stage_that_is_not_one_of_mlflows_is_refused(mlflow_client: MlflowClient) -> None:
    _three_versions(mlflow_client)
    with pytest.raises(MlflowException, match="Invalid Model Version stage: Live") as refused:
        mlflow_client.transition_model_version_stage("m", "1", "Live")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="'None' is not an Active stage"):
        mlflow_client.transition_model_version_stage("m", "1", "None", True)
    assert mlflow_client.get_model_version("m", "1").current_stage == "None"
    if is_server(mlflow_client):
        answer = requests.post(
            f"{mlflow_client.tracking_uri}/api/2.0/mlflow/model-versions/transition-stage",
            json={"name": "m", "version": "1", "stage": "Staging", "archive_existing_versions": 1},
            timeout=30,
        )
        assert answer.status_code == 400
        assert "archive_existing_versions" in answer.json()["message"]
