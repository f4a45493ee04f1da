"""A small table and models fitted on it, for every model test."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from tests.models.estimators import Doubler


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5],
            "n": [1, 3, 2, 5, 4, 6],
        }
    )


@pytest.fixture
def labels() -> list[int]:
    return [0, 0, 0, 1, 1, 1]


@pytest.fixture
def classifier(frame: pd.DataFrame, labels: list[int]) -> LogisticRegression:
    return LogisticRegression().fit(frame, labels)


@pytest.fixture
def pipeline(frame: pd.DataFrame, labels: list[int]) -> Pipeline:
    steps = [("scale", StandardScaler()), ("model", LogisticRegression())]
    return Pipeline(steps).fit(frame, labels)


@pytest.fixture
def custom_pipeline(frame: pd.DataFrame, labels: list[int]) -> Pipeline:
    """A pipeline with a step of the user's own class: skops does not trust it by default."""
    return Pipeline([("double", Doubler()), ("model", LogisticRegression())]).fit(frame, labels)
