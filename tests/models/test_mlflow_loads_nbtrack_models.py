"""MLflow loads the models nbtrack saves, and nbtrack loads the ones MLflow saves."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from nbtrack.models import infer_signature, load_model, save_model
from tests.models.estimators import DOUBLER


class Halves:
    def predict(self, data: pd.DataFrame) -> pd.Series:
        return data["x"] / 2


@pytest.fixture
def mlflow(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    with warnings.catch_warnings():
        # Importing MLflow warns about its own type hints; that is not what is tested here.
        warnings.simplefilter("ignore")
        module = pytest.importorskip("mlflow")
        import mlflow.pyfunc
        import mlflow.sklearn  # noqa: F401
    # MLflow's switch for unpickling (on unless set to false), as a user would have it.
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", raising=False)
    return module


# nbtrack saves the first two as skops, the last (a step skops does not trust) with cloudpickle.
SKLEARN_MODELS = [
    ("classifier", "skops"),
    ("pipeline", "skops"),
    ("custom_pipeline", "cloudpickle"),
]


@pytest.mark.parametrize(("fixture", "serialization"), SKLEARN_MODELS)
def test_mlflow_predicts_as_nbtrack_does_on_an_sklearn_model(
    mlflow: ModuleType,
    tmp_path: Path,
    frame: pd.DataFrame,
    fixture: str,
    serialization: str,
    request: pytest.FixtureRequest,
) -> None:
    model: LogisticRegression | Pipeline = request.getfixturevalue(fixture)
    saved = save_model(model, tmp_path / "model", input_example=frame.head(2))
    written = mlflow.models.Model.load(str(saved.path))
    assert written.flavors["sklearn"]["serialization_format"] == serialization
    ours = load_model(saved.path, expected_hashes=saved.payload_files).predict(frame)
    theirs = mlflow.pyfunc.load_model(str(saved.path)).predict(frame)
    np.testing.assert_array_equal(theirs, ours)
    np.testing.assert_array_equal(theirs, model.predict(frame))
    assert written.signature.inputs.input_names() == ["x", "n"]


@pytest.mark.parametrize(("fixture", "serialization"), SKLEARN_MODELS)
def test_mlflow_loads_the_sklearn_flavor_as_the_estimator(
    mlflow: ModuleType,
    tmp_path: Path,
    frame: pd.DataFrame,
    fixture: str,
    serialization: str,
    request: pytest.FixtureRequest,
) -> None:
    model: LogisticRegression | Pipeline = request.getfixturevalue(fixture)
    saved = save_model(model, tmp_path / "model")
    estimator = mlflow.sklearn.load_model(str(saved.path))
    assert type(estimator) is type(model)
    np.testing.assert_array_equal(estimator.predict_proba(frame), model.predict_proba(frame))


def test_mlflow_loads_the_python_flavor_where_nbtrack_is_installed(
    mlflow: ModuleType, tmp_path: Path, frame: pd.DataFrame
) -> None:
    saved = save_model(Halves(), tmp_path / "model", input_example=frame.head(2))
    theirs = mlflow.pyfunc.load_model(str(saved.path)).predict(frame)
    pd.testing.assert_series_equal(theirs, frame["x"] / 2)


def test_nbtrack_loads_a_model_mlflow_saved_with_cloudpickle(
    mlflow: ModuleType, tmp_path: Path, classifier: LogisticRegression, frame: pd.DataFrame
) -> None:
    folder = tmp_path / "mlflow-model"
    with warnings.catch_warnings():
        # MLflow warns that pickle formats need care: nbtrack's hash check is that care.
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(
            classifier, str(folder), serialization_format="cloudpickle", input_example=frame.head(2)
        )
    loaded = load_model(folder, trusted=True)
    assert loaded.flavor == "sklearn"
    np.testing.assert_array_equal(loaded.predict(frame), classifier.predict(frame))


def test_nbtrack_loads_a_model_mlflow_saved_with_its_default_skops(
    mlflow: ModuleType, tmp_path: Path, pipeline: Pipeline, frame: pd.DataFrame
) -> None:
    folder = tmp_path / "mlflow-model"
    mlflow.sklearn.save_model(pipeline, str(folder))
    assert mlflow.models.Model.load(str(folder)).flavors["sklearn"]["pickled_model"] == (
        "model.skops"
    )
    loaded = load_model(folder, trusted=True)
    theirs = mlflow.pyfunc.load_model(str(folder)).predict(frame)
    np.testing.assert_array_equal(loaded.predict(frame), theirs)


def test_nbtrack_loads_an_mlflow_skops_model_with_the_types_it_lists(
    mlflow: ModuleType, tmp_path: Path, custom_pipeline: Pipeline, frame: pd.DataFrame
) -> None:
    folder = tmp_path / "mlflow-model"
    mlflow.sklearn.save_model(custom_pipeline, str(folder), skops_trusted_types=[DOUBLER])
    loaded = load_model(folder, trusted=True)
    np.testing.assert_array_equal(loaded.predict(frame), custom_pipeline.predict(frame))


def test_mlflow_keeps_its_own_pickle_rule_for_the_python_flavor(
    mlflow: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = save_model(Halves(), tmp_path / "model")
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    with pytest.raises(PermissionError, match="MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true"):
        mlflow.pyfunc.load_model(str(saved.path))


def test_an_mlflow_signature_is_saved_as_mlflow_wrote_it(
    mlflow: ModuleType, tmp_path: Path, classifier: LogisticRegression, frame: pd.DataFrame
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's hint about integer columns
        theirs = mlflow.models.infer_signature(frame, classifier.predict(frame))
    saved = save_model(classifier, tmp_path / "model", signature=theirs)
    assert saved.signature is not None
    assert saved.signature.to_mlmodel() == theirs.to_dict()


PARAMS = {"k": 3, "labels": ["a", "b"], "since": dt.datetime(2024, 1, 1), "scale": 0.5}


def test_a_params_schema_is_saved_as_mlflow_wrote_it_and_loaded_back(
    mlflow: ModuleType, tmp_path: Path, classifier: LogisticRegression, frame: pd.DataFrame
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's hint about integer columns
        theirs = mlflow.models.infer_signature(frame, classifier.predict(frame), params=PARAMS)
    saved = save_model(classifier, tmp_path / "model", signature=theirs)
    assert saved.signature is not None and saved.signature.params is not None
    assert saved.signature.to_mlmodel() == theirs.to_dict()
    assert mlflow.models.Model.load(str(saved.path)).signature == theirs
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    assert loaded.signature == saved.signature


def test_params_nbtrack_infers_are_the_ones_mlflow_infers(
    mlflow: ModuleType, tmp_path: Path, frame: pd.DataFrame
) -> None:
    saved = save_model(
        Halves(), tmp_path / "model", signature=infer_signature(frame, params=PARAMS)
    )
    mlflow_params = mlflow.models.infer_signature(frame, params=PARAMS).params
    assert mlflow.models.Model.load(str(saved.path)).signature.params == mlflow_params
