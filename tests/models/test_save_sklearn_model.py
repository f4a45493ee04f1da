"""Saving a scikit-learn model writes MLflow's layout, and loading it predicts the same."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from nbtrack.errors import InvalidValueError
from nbtrack.models import load_model, save_model


def _sklearn_conf(folder: Path) -> dict[str, object]:
    conf: dict[str, object] = yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["sklearn"]
    return conf


def test_a_logistic_regression_round_trips(
    tmp_path: Path, classifier: LogisticRegression, frame: pd.DataFrame
) -> None:
    saved = save_model(classifier, tmp_path / "model")
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    assert saved.flavor == loaded.flavor == "sklearn"
    np.testing.assert_array_equal(loaded.predict(frame), classifier.predict(frame))


def test_a_pipeline_round_trips_with_its_input_example(
    tmp_path: Path, pipeline: Pipeline, frame: pd.DataFrame
) -> None:
    saved = save_model(pipeline, tmp_path / "model", input_example=frame.head(2))
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    np.testing.assert_array_equal(loaded.predict(frame), pipeline.predict(frame))
    assert loaded.signature == saved.signature
    assert saved.signature is not None and saved.signature.outputs is not None


def test_mlmodel_names_mlflow_sklearn_as_loader_and_lists_its_files(
    tmp_path: Path, classifier: LogisticRegression, frame: pd.DataFrame
) -> None:
    saved = save_model(classifier, tmp_path / "model", input_example=frame.head(2), run_id="r1")
    mlmodel = yaml.safe_load((saved.path / "MLmodel").read_text())
    pyfunc = mlmodel["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.sklearn"
    assert pyfunc["model_path"] == "model.skops"
    assert pyfunc["predict_fn"] == "predict"
    assert pyfunc["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert mlmodel["flavors"]["sklearn"] == {
        "pickled_model": "model.skops",
        "serialization_format": "skops",
        "sklearn_version": __import__("sklearn").__version__,
        "code": None,
        "skops_trusted_types": None,
    }
    assert mlmodel["run_id"] == "r1"
    assert mlmodel["model_uuid"] == saved.model_uuid
    assert mlmodel["saved_input_example_info"] == {
        "artifact_path": "input_example.json",
        "serving_input_path": "serving_input_example.json",
        "type": "dataframe",
        "pandas_orient": "split",
    }
    signature = mlmodel["signature"]
    assert signature["inputs"] == (
        '[{"type": "double", "name": "x", "required": true}, '
        '{"type": "long", "name": "n", "required": true}]'
    )
    files = {p.relative_to(saved.path).as_posix() for p in saved.path.rglob("*")}
    assert (
        files
        == set(saved.payload_files)
        == {
            "MLmodel",
            "model.skops",
            "requirements.txt",
            "python_env.yaml",
            "conda.yaml",
            "input_example.json",
            "serving_input_example.json",
        }
    )


def test_a_logistic_regression_pipeline_is_saved_as_skops(
    tmp_path: Path, pipeline: Pipeline, frame: pd.DataFrame
) -> None:
    saved = save_model(pipeline, tmp_path / "model")
    assert _sklearn_conf(saved.path)["serialization_format"] == "skops"
    # A file skops reads with its default trust alone: no type needs vouching for.
    assert skops.io.get_untrusted_types(file=saved.path / "model.skops") == []
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    np.testing.assert_array_equal(loaded.predict(frame), pipeline.predict(frame))


@pytest.fixture
def lambda_pipeline(frame: pd.DataFrame, labels: list[int]) -> Pipeline:
    steps = [("shift", FunctionTransformer(lambda data: data + 1)), ("model", LogisticRegression())]
    return Pipeline(steps).fit(frame, labels)


@pytest.fixture
def forest(frame: pd.DataFrame, labels: list[int]) -> RandomForestClassifier:
    return RandomForestClassifier(3, random_state=0).fit(frame, labels)


# A step of the user's own class, a lambda, and a tree's node storage: skops writes each, but
# reads it back only when its type is trusted by name.
@pytest.mark.parametrize("fixture", ["custom_pipeline", "lambda_pipeline", "forest"])
def test_a_model_skops_does_not_trust_by_default_is_saved_with_cloudpickle(
    tmp_path: Path, frame: pd.DataFrame, fixture: str, request: pytest.FixtureRequest
) -> None:
    model: Pipeline | RandomForestClassifier = request.getfixturevalue(fixture)
    saved = save_model(model, tmp_path / "model")
    assert _sklearn_conf(saved.path) | {"sklearn_version": "any"} == {
        "pickled_model": "model.pkl",
        "serialization_format": "cloudpickle",
        "sklearn_version": "any",
        "code": None,
        "skops_trusted_types": None,
    }
    assert "model.skops" not in saved.payload_files
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_without_skops_a_model_is_saved_with_cloudpickle(
    tmp_path: Path, pipeline: Pipeline, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "skops.io", None)  # import skops.io now fails
    saved = save_model(pipeline, tmp_path / "model")
    assert _sklearn_conf(saved.path)["serialization_format"] == "cloudpickle"
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    np.testing.assert_array_equal(loaded.predict(frame), pipeline.predict(frame))


def test_payload_hashes_are_the_sha256_of_each_file(
    tmp_path: Path, classifier: LogisticRegression
) -> None:
    saved = save_model(classifier, tmp_path / "model")
    for name, digest in saved.payload_files.items():
        assert hashlib.sha256((saved.path / name).read_bytes()).hexdigest() == digest


def test_requirements_pin_what_the_flavor_needs(
    tmp_path: Path, classifier: LogisticRegression
) -> None:
    saved = save_model(classifier, tmp_path / "model")
    lines = (saved.path / "requirements.txt").read_text().splitlines()
    names = {line.partition("==")[0] for line in lines}
    # skops reads this model's payload; cloudpickle is pinned too, as the flavor writes either.
    assert {"scikit-learn", "skops", "cloudpickle", "numpy", "pandas"} <= names
    assert all("==" in line for line in lines)
    python_env = yaml.safe_load((saved.path / "python_env.yaml").read_text())
    assert python_env["dependencies"] == ["-r requirements.txt"]
    conda = yaml.safe_load((saved.path / "conda.yaml").read_text())
    assert conda["dependencies"][-1] == {"pip": lines}


def test_input_example_is_written_in_pandas_split_orient(
    tmp_path: Path, classifier: LogisticRegression, frame: pd.DataFrame
) -> None:
    saved = save_model(classifier, tmp_path / "model", input_example=frame.head(2))
    assert (saved.path / "input_example.json").read_text() == (
        '{"columns": ["x", "n"], "data": [[0.5, 1], [1.5, 3]]}'
    )


def test_an_empty_folder_is_used_and_a_non_empty_one_refused(
    tmp_path: Path, classifier: LogisticRegression
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert save_model(classifier, empty).path == empty
    with pytest.raises(InvalidValueError, match="exists and is not an empty folder"):
        save_model(classifier, empty)
