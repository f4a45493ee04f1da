"""log_model and load_model through runs and the store's record of payload hashes."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import nbtrack
from tests.conftest import payload_of
from tests.models.estimators import Doubler


def test_a_logged_model_loads_from_its_run_and_predicts_the_same(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    model = LogisticRegression().fit(features, labels)
    with nbtrack.start_run() as run:
        info = nbtrack.log_model(model, "model", input_example=features.head(3))
    assert info.model_uri == f"runs:/{run.id}/model"
    assert info.flavor == "sklearn"
    assert info.signature is not None and "x" in info.signature["inputs"]
    assert (Path(nbtrack.get_run(run.id).artifact_uri) / "model" / "MLmodel").is_file()

    loaded = nbtrack.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))


def test_the_signature_is_enforced_when_predicting(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    with nbtrack.start_run():
        info = nbtrack.log_model(
            LogisticRegression().fit(features, labels), "model", input_example=features.head(2)
        )
    model = nbtrack.load_model(info.model_uri)
    with pytest.raises(nbtrack.InvalidValueError, match="'z'"):
        model.predict(features[["x"]])
    extra = features.assign(unused="text")
    assert len(model.predict(extra)) == len(features)  # extra columns are dropped


# A LogisticRegression is saved as skops; a pipeline with a step of the user's own class is
# cloudpickled: the store's hashes guard both payloads.
@pytest.mark.parametrize("custom_step", [False, True], ids=["skops", "cloudpickle"])
def test_a_tampered_payload_is_refused_before_it_is_unpickled(
    store_path: Path,
    classification_data: tuple[pd.DataFrame, np.ndarray],
    tmp_path: Path,
    custom_step: bool,
) -> None:
    features, labels = classification_data
    model = make_pipeline(Doubler(), LogisticRegression()) if custom_step else LogisticRegression()
    with nbtrack.start_run() as run:
        info = nbtrack.log_model(model.fit(features, labels), "model")
    evidence = tmp_path / "the-payload-ran"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            import os

            return (os.mkdir, (str(evidence),))

    payload = payload_of(Path(nbtrack.get_run(run.id).artifact_uri) / "model")
    assert payload.name == ("model.pkl" if custom_step else "model.skops")
    payload.write_bytes(pickle.dumps(Payload()))

    with pytest.raises(nbtrack.InvalidValueError, match="hash"):
        nbtrack.load_model(info.model_uri)
    assert not evidence.exists()


def test_a_recorded_model_folder_loads_by_path_and_an_unknown_one_needs_trust(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    features, labels = classification_data
    model = LogisticRegression().fit(features, labels)
    with nbtrack.start_run() as run:
        nbtrack.log_model(model, "models/classifier")
    folder = Path(nbtrack.get_run(run.id).artifact_uri) / "models" / "classifier"
    assert len(nbtrack.load_model(folder).predict(features)) == len(features)

    from nbtrack.models import save_model

    elsewhere = tmp_path / "downloaded-model"
    save_model(model, elsewhere)
    with pytest.raises(nbtrack.InvalidValueError, match="trusted=True"):
        nbtrack.load_model(elsewhere)
    assert len(nbtrack.load_model(elsewhere, trusted=True).predict(features)) == len(features)


@pytest.mark.parametrize("bad", ["../escape", "/etc/model", "a/../../b", "%2e%2e/x", ""])
def test_a_model_path_that_leaves_the_run_folder_is_refused(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray], bad: str
) -> None:
    features, labels = classification_data
    with nbtrack.start_run(), pytest.raises(nbtrack.InvalidValueError):
        nbtrack.log_model(LogisticRegression().fit(features, labels), bad)
    assert not (store_path.parent / "escape").exists()


def test_a_model_uri_of_another_kind_names_the_accepted_ones(store_path: Path) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match="runs:/"):
        nbtrack.load_model("s3://bucket/model")
    with pytest.raises(nbtrack.NotFoundError):
        nbtrack.load_model("runs:/" + "0" * 32 + "/model")


def test_a_model_defined_in_the_notebook_is_logged_with_the_python_flavor(
    store_path: Path,
) -> None:
    class Doubler:
        def predict(self, frame: pd.DataFrame) -> pd.Series:
            return frame["x"] * 2

    with nbtrack.start_run():
        info = nbtrack.log_model(Doubler(), "doubler")
    assert info.flavor == "python"
    result = nbtrack.load_model(info.model_uri).predict(pd.DataFrame({"x": [1.0, 2.5]}))
    assert list(result) == [2.0, 5.0]
