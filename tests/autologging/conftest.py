"""Autolog on for one test, and off again after it, whatever the test did."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import nbtrack


@pytest.fixture
def autolog(store_path: Path) -> Iterator[None]:
    nbtrack.autolog(silent=True)
    yield
    nbtrack.autolog(disable=True)


@pytest.fixture
def iris_like() -> tuple[pd.DataFrame, np.ndarray]:
    """300 rows, four features, three classes a linear model mostly separates."""
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, size=300)
    features = pd.DataFrame(
        rng.normal(size=(300, 4)) + labels[:, None] * 1.2, columns=["a", "b", "c", "d"]
    )
    return features, labels


def runs_under(parent_id: str) -> pd.DataFrame:
    """The child runs of ``parent_id``, as the store holds them."""
    runs = nbtrack.search_runs()
    return runs[runs["parent_run_id"] == parent_id]


# Long enough that a fit's logging is surely still pending when the test acts right after
# fit returns; the test then checks that what must wait for it did.
PROBA_DELAY_S = 0.4


class SlowLogisticRegression(LogisticRegression):
    """A real classifier whose ``predict_proba`` (before the worker logs any metric) takes a
    while. Not ``predict``: a test's own ``predict`` would be named from this frame."""

    def predict_proba(self, X: Any) -> Any:
        time.sleep(PROBA_DELAY_S)
        return super().predict_proba(X)


class UnloadableLogisticRegression(LogisticRegression):
    """Pickles, but cannot be unpickled: the worker fails before it can predict."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        raise RuntimeError("this model refuses to be rebuilt")
