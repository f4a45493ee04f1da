"""Any object with predict, or a plain function, saves with the python flavor and loads back,
in this process or another one, even when its class was written in ``__main__``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from nbtrack.errors import InvalidValueError
from nbtrack.models import load_model, save_model

REPO = Path(__file__).resolve().parents[2]


class Threshold:
    """A model defined in an importable module: pickled by reference."""

    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return (data["x"] > self.cut).to_numpy()


def test_an_object_with_predict_round_trips(tmp_path: Path, frame: pd.DataFrame) -> None:
    saved = save_model(Threshold(2.0), tmp_path / "model")
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    assert loaded.flavor == "python"
    assert loaded.predict(frame).tolist() == [False, False, True, True, True, True]


def test_a_plain_function_round_trips(tmp_path: Path, frame: pd.DataFrame) -> None:
    saved = save_model(lambda data: data["x"] * 2, tmp_path / "model", input_example=frame)
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    pd.testing.assert_series_equal(loaded.predict(frame), frame["x"] * 2)
    assert saved.signature is not None
    assert saved.signature.to_mlmodel()["outputs"] == (
        '[{"type": "double", "name": "x", "required": true}]'
    )


def test_mlmodel_names_nbtracks_own_loader(tmp_path: Path) -> None:
    saved = save_model(Threshold(2.0), tmp_path / "model")
    mlmodel = yaml.safe_load((saved.path / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "nbtrack.models.python"
    assert mlmodel["flavors"]["python"]["pickled_model"] == "model.pkl"
    requirements = (saved.path / "requirements.txt").read_text()
    assert "cloudpickle==" in requirements and "nbtrack==" in requirements


def test_an_sklearn_model_can_be_saved_with_the_python_flavor_on_request(
    tmp_path: Path, classifier: LogisticRegression, frame: pd.DataFrame
) -> None:
    saved = save_model(classifier, tmp_path / "model", flavor="python")
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    assert loaded.flavor == "python"
    np.testing.assert_array_equal(loaded.predict(frame), classifier.predict(frame))


def test_a_class_instead_of_an_instance_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="Threshold is a class; save an instance"):
        save_model(Threshold, tmp_path / "model")


def test_an_unpicklable_model_is_refused_and_leaves_nothing_behind(tmp_path: Path) -> None:
    model = Threshold(1.0)
    model.lock = threading.Lock()  # type: ignore[attr-defined]
    with pytest.raises(InvalidValueError, match="cannot be pickled"):
        save_model(model, tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def _python(code: str) -> str:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_class_written_in_main_loads_in_another_process(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    hashes = _python(
        f"""
        import json
        from nbtrack.models import save_model

        class Doubler:  # lives in __main__, like a class written in a notebook
            def predict(self, data):
                return [2 * value for value in data["x"]]

        saved = save_model(Doubler(), {str(folder)!r})
        print(json.dumps(saved.payload_files))
        """
    )
    predictions = _python(
        f"""
        import json
        from nbtrack.models import load_model

        model = load_model({str(folder)!r}, expected_hashes=json.loads({hashes.strip()!r}))
        print(json.dumps(model.predict([{{"x": 1.5}}, {{"x": 4}}])))
        """
    )
    assert json.loads(predictions) == [3.0, 8]
