"""Shared fixtures: every test gets its own real store file in a temporary folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pytest
import yaml

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

from nbtrack import config
from nbtrack.store import store as store_module
from nbtrack.tracking import _current

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh store for the test, set through NBTRACK_URI as a user would."""
    with store_in(tmp_path, monkeypatch) as path:
        yield path


@contextmanager
def store_in(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A store in ``folder`` (the working directory meanwhile), set through NBTRACK_URI; this
    process's runs ended and stores closed afterwards. For ``store_path``, and for a module
    whose tests share one store (``pytest.MonkeyPatch.context()``)."""
    path = folder / "nbtrack.duckdb"
    monkeypatch.setenv("NBTRACK_URI", str(path))
    monkeypatch.chdir(folder)
    yield path
    for run in reversed(_current.all_active()):
        run.end()
    store_module.close_all()
    config.set_tracking_uri(None)
    _current.choose_experiment(None)
    _current._last_started = None


@pytest.fixture
def child_env(store_path: Path) -> dict[str, str]:
    """Environment for a subprocess that logs to the test's store."""
    env = dict(os.environ)
    env["NBTRACK_URI"] = str(store_path)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


@contextmanager
def raw_connection(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB itself on the store file, for checks below the API.

    This process's stores are closed first: their flusher thread may hold the file, and one
    process cannot attach a file twice.
    """
    store_module.close_all()
    with duckdb.connect(str(path), read_only=read_only) as con:
        yield con


@pytest.fixture
def classification_data() -> tuple[pd.DataFrame, np.ndarray]:
    """60 rows of two features and a label a linear model can learn."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    features = pd.DataFrame({"x": rng.normal(size=60), "z": rng.normal(size=60)})
    labels = (features["x"] + features["z"] > 0).astype(int).to_numpy()
    return features, labels


def payload_of(folder: str | Path) -> Path:
    """The payload file of a saved model, as its MLmodel names it (``model.skops``, ...)."""
    mlmodel = yaml.safe_load((Path(folder) / "MLmodel").read_text(encoding="utf-8"))
    return Path(folder) / mlmodel["flavors"]["python_function"]["model_path"]
