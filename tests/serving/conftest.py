"""A registered model with two versions that disagree, on the test's own store."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from sklearn.linear_model import LogisticRegression

import nbtrack
from nbtrack.serving.following import Served


@dataclass(frozen=True)
class Churn:
    """``churn`` v1 learnt the labels, v2 their opposite; ``v1``/``v2`` are their predictions
    on ``features``; champion is v1."""

    features: pd.DataFrame
    v1: np.ndarray
    v2: np.ndarray
    store_path: Path


def log_and_register(
    features: pd.DataFrame, labels: np.ndarray, name: str = "churn"
) -> tuple[int, np.ndarray]:
    """Log a LogisticRegression fitted on ``labels`` and register it: its version number and
    its predictions on ``features``."""
    model = LogisticRegression().fit(features, labels)
    with nbtrack.start_run():
        info = nbtrack.log_model(model, "model", input_example=features.head(3))
    return nbtrack.register_model(info.model_uri, name).version, model.predict(features)


@pytest.fixture
def churn(store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]) -> Churn:
    features, labels = classification_data
    first, v1 = log_and_register(features, labels)
    second, v2 = log_and_register(features, 1 - labels)
    assert (first, second) == (1, 2)
    nbtrack.promote("churn", 1)
    return Churn(features, v1, v2, store_path)


# MLflow 3's error JSON: a code and a message, and the class and SQLSTATE it derives from the
# code (MLflow's own adds a stack trace, which nbtrack never sends).
ERROR_KEYS = frozenset({"error_code", "message", "error_class", "sqlstate"})


def is_mlflow_error(error: object) -> bool:
    """Whether ``error`` is MLflow's error JSON, with nothing else in it."""
    return isinstance(error, dict) and {"error_code", "message"} <= set(error) <= ERROR_KEYS


@dataclass
class Fixed:
    """A server's model source that never changes: ``create_app(Fixed(served(model, uri)), ...)``
    serves a model the test loaded itself."""

    current: Served


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    """Wait until a server process started by a test answers ``/ping`` with 200."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if requests.get(f"{url}/ping", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url}/ping never answered 200")
