"""``pyfunc_predict_fn``: the method a loaded model's ``predict`` calls, chosen when it is saved,
written where MLflow reads it (``python_function.predict_fn``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LinearRegression, LogisticRegression

import nbtrack
from nbtrack.errors import InvalidValueError
from nbtrack.models import load_model, save_model


class Scorer:
    """A model of the user's own with a second method."""

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return (data["x"] > 2).to_numpy()

    def scores(self, data: pd.DataFrame) -> np.ndarray:
        return data["x"].to_numpy() / 10

    def _private(self, data: pd.DataFrame) -> None:
        raise AssertionError("never called")


def _pyfunc(folder: Path) -> dict[str, Any]:
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
    pyfunc: dict[str, Any] = mlmodel["flavors"]["python_function"]
    return pyfunc


def test_predict_proba_is_what_the_loaded_model_predicts(
    tmp_path: Path, classifier: LogisticRegression, frame: pd.DataFrame
) -> None:
    saved = save_model(
        classifier,
        tmp_path / "model",
        input_example=frame.head(2),
        pyfunc_predict_fn="predict_proba",
    )
    assert _pyfunc(saved.path)["predict_fn"] == "predict_proba"
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    np.testing.assert_array_equal(loaded.predict(frame), classifier.predict_proba(frame))
    # The signature's outputs describe what is served: two probability columns, not labels.
    assert saved.signature is not None and saved.signature.outputs is not None
    assert saved.signature.to_mlmodel()["outputs"] == (
        '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}]'
    )


def test_an_objects_own_public_method_can_be_chosen(tmp_path: Path, frame: pd.DataFrame) -> None:
    saved = save_model(Scorer(), tmp_path / "model", pyfunc_predict_fn="scores")
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    np.testing.assert_array_equal(loaded.predict(frame), frame["x"].to_numpy() / 10)


def test_without_a_choice_the_python_flavor_writes_no_predict_fn(tmp_path: Path) -> None:
    saved = save_model(Scorer(), tmp_path / "model")
    assert "predict_fn" not in _pyfunc(saved.path)


@pytest.mark.parametrize(
    ("model", "method", "message"),
    [
        (LogisticRegression(), "decision_function", "give one of: predict, predict_proba, "),
        (LinearRegression(), "predict_proba", "a LinearRegression has no such method"),
        (Scorer(), "_private", "give one of: any public method of the model"),
        (Scorer(), "__reduce__", "is not accepted for the python flavor"),
        (Scorer(), "missing", "a Scorer has no such method"),
        (lambda data: data, "scores", "a function has no such method"),
    ],
)
def test_a_method_that_is_not_accepted_is_refused_at_save(
    tmp_path: Path, frame: pd.DataFrame, model: object, method: str, message: str
) -> None:
    if hasattr(model, "fit"):
        model.fit(frame, [0, 0, 0, 1, 1, 1])
    with pytest.raises(InvalidValueError, match=message.replace("(", r"\(")):
        save_model(model, tmp_path / "model", pyfunc_predict_fn=method)
    assert not (tmp_path / "model").exists()


def test_a_predict_fn_naming_a_private_method_is_refused_before_unpickling(
    tmp_path: Path,
) -> None:
    saved = save_model(Scorer(), tmp_path / "model")
    mlmodel = saved.path / "MLmodel"
    text = mlmodel.read_text(encoding="utf-8")
    mlmodel.write_text(
        text.replace("python_function:\n", "python_function:\n    predict_fn: __reduce__\n"),
        encoding="utf-8",
    )
    with pytest.raises(InvalidValueError, match="'__reduce__' is not accepted"):
        load_model(saved.path, trusted=True)


def test_log_model_takes_pyfunc_predict_fn_and_load_model_predicts_with_it(
    store_path: Path, classifier: LogisticRegression, frame: pd.DataFrame
) -> None:
    with nbtrack.start_run():
        info = nbtrack.log_model(
            classifier, "model", registered_model_name="probs", pyfunc_predict_fn="predict_proba"
        )
    for uri in (info.model_uri, "models:/probs/1"):
        np.testing.assert_array_equal(
            nbtrack.load_model(uri).predict(frame), classifier.predict_proba(frame)
        )


@pytest.fixture
def mlflow(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own import-time warnings
        module = pytest.importorskip("mlflow")
        import mlflow.pyfunc  # noqa: F401
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", raising=False)
    return module


def test_mlflow_predicts_with_the_method_nbtrack_wrote(
    mlflow: ModuleType, tmp_path: Path, classifier: LogisticRegression, frame: pd.DataFrame
) -> None:
    saved = save_model(classifier, tmp_path / "sklearn", pyfunc_predict_fn="predict_log_proba")
    theirs = mlflow.pyfunc.load_model(str(saved.path)).predict(frame)
    np.testing.assert_array_equal(theirs, classifier.predict_log_proba(frame))
    saved = save_model(Scorer(), tmp_path / "python", pyfunc_predict_fn="scores")
    theirs = mlflow.pyfunc.load_model(str(saved.path)).predict(frame)
    np.testing.assert_array_equal(theirs, frame["x"].to_numpy() / 10)


def test_nbtrack_predicts_with_the_method_mlflow_wrote(
    mlflow: ModuleType, tmp_path: Path, classifier: LogisticRegression, frame: pd.DataFrame
) -> None:
    mlflow.sklearn.save_model(classifier, str(tmp_path / "m"), pyfunc_predict_fn="predict_proba")
    loaded = load_model(tmp_path / "m", trusted=True)
    np.testing.assert_array_equal(loaded.predict(frame), classifier.predict_proba(frame))
