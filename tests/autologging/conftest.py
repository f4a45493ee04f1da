"""Autolog on for one test, and off again after it, whatever the test did."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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
