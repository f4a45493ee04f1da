"""MLflow's own scoring client talks to ``nbtrack serve`` unchanged."""

from __future__ import annotations

import pandas as pd
import pytest

import nbtrack
from nbtrack.serving.protocol import MLFLOW_VERSION
from tests.serving.conftest import Churn


def test_mlflows_scoring_client_predicts_and_reads_errors(churn: Churn) -> None:
    client_module = pytest.importorskip("mlflow.pyfunc.scoring_server.client")
    features = churn.features.head(5)
    with nbtrack.serve("churn") as server:
        client = client_module.ScoringServerClient("127.0.0.1", server.port)
        client.wait_server_ready(timeout=10)
        # It sends a DataFrame as dataframe_split, with MLflow's JSON encoder.
        predictions = client.invoke(features).get_predictions()
        assert isinstance(predictions, pd.DataFrame)
        assert predictions.iloc[:, 0].tolist() == churn.v1[:5].tolist()
        assert client.get_version() == MLFLOW_VERSION
        with pytest.raises(Exception, match=r"error code 400.*missing column 'z'"):
            client.invoke(features[["x"]])
