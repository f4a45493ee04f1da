"""A skops payload loads with skops' trusted-types check: a type neither skops nor the model's
``skops_trusted_types`` trusts is refused and named, before anything is rebuilt."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from nbtrack.errors import InvalidValueError
from nbtrack.models import load_model, save_model
from tests.models.estimators import DOUBLER, Doubler


def _foreign_skops_model(
    folder: Path, template: object, payload: bytes, trusted_types: object = None
) -> Path:
    """A model folder from elsewhere (no recorded hashes) whose model.skops is ``payload``
    and whose MLmodel lists ``trusted_types``, as MLflow writes them."""
    save_model(template, folder)
    (folder / "model.skops").write_bytes(payload)
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "skops"
    mlmodel["flavors"]["sklearn"]["skops_trusted_types"] = trusted_types
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    return folder


def test_a_skops_payload_with_an_untrusted_type_is_refused_naming_it(
    tmp_path: Path, classifier: LogisticRegression, custom_pipeline: Pipeline
) -> None:
    folder = _foreign_skops_model(tmp_path / "model", classifier, skops.io.dumps(custom_pipeline))
    with pytest.raises(
        InvalidValueError,
        match=rf"refusing to load: model\.skops holds types skops does not trust: {DOUBLER}; "
        r"a type loads only when the model's MLmodel lists it under "
        r"flavors\.sklearn\.skops_trusted_types \(which lists none\)",
    ):
        load_model(folder, trusted=True)


def test_a_skops_payload_loads_when_mlmodel_trusts_its_types(
    tmp_path: Path, classifier: LogisticRegression, custom_pipeline: Pipeline, frame: pd.DataFrame
) -> None:
    payload = skops.io.dumps(custom_pipeline)
    folder = _foreign_skops_model(tmp_path / "model", classifier, payload, [DOUBLER])
    loaded = load_model(folder, trusted=True)
    np.testing.assert_array_equal(loaded.predict(frame), custom_pipeline.predict(frame))


def test_only_the_types_mlmodel_does_not_list_are_named(
    tmp_path: Path, frame: pd.DataFrame, labels: list[int], classifier: LogisticRegression
) -> None:
    forest = Pipeline([("double", Doubler()), ("forest", RandomForestClassifier(2))])
    payload = skops.io.dumps(forest.fit(frame, labels))
    folder = _foreign_skops_model(tmp_path / "model", classifier, payload, [DOUBLER])
    with pytest.raises(
        InvalidValueError,
        match=r"does not trust: sklearn\.tree\._tree\.Tree; .* \(which lists "
        rf"{DOUBLER}\)",
    ) as refused:
        load_model(folder, trusted=True)
    assert f"trust: {DOUBLER}" not in str(refused.value)


STEP_MODULE = "nbtrack_test_skops_step"
STEP_SOURCE = """
from sklearn.base import BaseEstimator, TransformerMixin

class Step(TransformerMixin, BaseEstimator):
    def fit(self, data, labels=None):
        return self

    def transform(self, data):
        return data
"""


@pytest.fixture
def step_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A module on sys.path defining ``Step``, a scikit-learn step; forgotten afterwards."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    module = plugins / f"{STEP_MODULE}.py"
    module.write_text(STEP_SOURCE)
    monkeypatch.syspath_prepend(str(plugins))
    yield module
    sys.modules.pop(STEP_MODULE, None)


def test_a_refused_skops_payload_imports_nothing_it_names(
    tmp_path: Path,
    classifier: LogisticRegression,
    frame: pd.DataFrame,
    labels: list[int],
    step_module: Path,
) -> None:
    step = importlib.import_module(STEP_MODULE).Step
    payload = skops.io.dumps(
        Pipeline([("step", step()), ("model", LogisticRegression())]).fit(frame, labels)
    )
    # From now on, importing the step's module runs code.
    del sys.modules[STEP_MODULE]
    marker = tmp_path / "step-module-ran"
    step_module.write_text(f"import os\nos.mkdir({str(marker)!r})\n{STEP_SOURCE}")

    folder = _foreign_skops_model(tmp_path / "model", classifier, payload)
    with pytest.raises(InvalidValueError, match=rf"does not trust: {STEP_MODULE}\.Step;"):
        load_model(folder, trusted=True)
    assert STEP_MODULE not in sys.modules
    assert not marker.exists()

    # Trusted by name, the same payload does import it: the refusal is what kept it out.
    trusted = [f"{STEP_MODULE}.Step"]
    load_model(
        _foreign_skops_model(tmp_path / "trusted", classifier, payload, trusted), trusted=True
    )
    assert marker.is_dir()


def test_a_skops_payload_without_skops_installed_names_the_install(
    tmp_path: Path, classifier: LogisticRegression, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = save_model(classifier, tmp_path / "model")
    monkeypatch.setitem(sys.modules, "skops.io", None)  # import skops.io now fails
    with pytest.raises(
        InvalidValueError, match=r"needs skops, which reads its payload model\.skops: pip install"
    ):
        load_model(saved.path, expected_hashes=saved.payload_files)


def test_a_file_that_is_not_skops_is_refused(
    tmp_path: Path, classifier: LogisticRegression
) -> None:
    folder = _foreign_skops_model(tmp_path / "model", classifier, b"not a zip file")
    with pytest.raises(
        InvalidValueError, match=r"model\.skops is not a skops file skops can read \(BadZipFile"
    ):
        load_model(folder, trusted=True)


def test_trusted_types_that_are_not_a_list_of_names_are_refused(
    tmp_path: Path, classifier: LogisticRegression, custom_pipeline: Pipeline
) -> None:
    payload = skops.io.dumps(custom_pipeline)
    folder = _foreign_skops_model(tmp_path / "model", classifier, payload, DOUBLER)
    with pytest.raises(
        InvalidValueError, match=r"skops_trusted_types is '.*Doubler'; it may be a list of type"
    ):
        load_model(folder, trusted=True)
