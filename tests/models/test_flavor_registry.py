"""Flavors are found from the model, registered by entry points or ``register``, and
importing the model layer loads none of the heavy libraries."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from nbtrack.errors import InvalidValueError
from nbtrack.models import flavors, load_model, register, save_model

PLUGIN = '''
import json

class Upper:
    """The kind of model the plug-in saves."""
    def predict(self, data):
        return [str(value).upper() for value in data["s"]]


class UpperFlavor:
    name = "upper"
    loader_module = "nbtrack_test_upper"

    def accepts(self, model):
        return isinstance(model, Upper)

    def save(self, model, folder):
        (folder / "upper.json").write_text(json.dumps({"kind": "upper"}))
        return {"python_function": {"loader_module": self.loader_module}, self.name: {}}

    def load(self, files, mlmodel):
        assert json.loads(files.read_bytes("upper.json")) == {"kind": "upper"}
        return Upper()

    def requirements(self):
        return []


FLAVOR = UpperFlavor()
'''


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry as a new process builds it; restored after the test."""
    monkeypatch.setattr(flavors, "_registered", None)


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None) -> object:
    """An installed package declaring a flavor in the ``nbtrack.flavors`` entry-point group."""
    site = tmp_path / "site"
    info = site / "nbtrack_test_upper-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: nbtrack-test-upper\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text("[nbtrack.flavors]\nupper = nbtrack_test_upper:FLAVOR\n")
    (site / "nbtrack_test_upper.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "nbtrack_test_upper", raising=False)
    return None


def test_sklearn_estimators_and_pipelines_get_the_sklearn_flavor(pipeline: Pipeline) -> None:
    assert flavors.flavor_for(LogisticRegression()).name == "sklearn"
    assert flavors.flavor_for(pipeline).name == "sklearn"


def test_other_objects_with_predict_and_functions_get_the_python_flavor() -> None:
    class Constant:
        def predict(self, data: object) -> int:
            return 1

    assert flavors.flavor_for(Constant()).name == "python"
    assert flavors.flavor_for(len).name == "python"


def test_an_object_no_flavor_saves_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="no flavor saves a int; give an object with"):
        flavors.flavor_for(3)


def test_an_unknown_flavor_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidValueError, match="no flavor is named 'torch'; the flavors are python, sklearn"
    ):
        save_model(len, tmp_path / "model", flavor="torch")


def test_a_flavor_from_an_entry_point_saves_and_loads_its_models(
    tmp_path: Path, plugin: None
) -> None:
    upper = __import__("nbtrack_test_upper").Upper()
    assert "nbtrack_test_upper" in sys.modules  # the test imported it, not nbtrack
    saved = save_model(upper, tmp_path / "model")
    assert saved.flavor == "upper"
    loaded = load_model(saved.path, expected_hashes=saved.payload_files)
    assert loaded.predict([{"s": "a"}, {"s": "b"}]) == ["A", "B"]


def test_a_broken_entry_point_warns_and_the_other_flavors_still_work(
    tmp_path: Path, plugin: None
) -> None:
    (tmp_path / "site" / "nbtrack_test_upper.py").write_text("raise ImportError('no such lib')\n")
    with pytest.warns(UserWarning, match="flavor 'nbtrack_test_upper:FLAVOR' not loaded: no such"):
        assert flavors.flavor_for(LogisticRegression()).name == "sklearn"


def test_a_registered_flavor_comes_before_the_built_in_ones(fresh_registry: None) -> None:
    class Everything:
        name = "everything"
        loader_module = "nbtrack_test_everything"

        def accepts(self, model: object) -> bool:
            return True

        def save(self, model: object, folder: Path) -> dict[str, dict[str, object]]:
            return {}

        def load(self, files: object, mlmodel: object) -> object:
            return None

        def requirements(self) -> list[str]:
            return []

    everything = Everything()
    register(everything)  # type: ignore[arg-type]
    assert flavors.flavor_for(LogisticRegression()) is everything
    with pytest.raises(InvalidValueError, match="a flavor named 'everything' is registered"):
        register(Everything())  # type: ignore[arg-type]


def test_register_refuses_what_is_not_a_flavor(fresh_registry: None) -> None:
    with pytest.raises(InvalidValueError, match="is not a flavor; give an object with name"):
        register(object())  # type: ignore[arg-type]


def test_importing_the_model_layer_loads_no_heavy_library() -> None:
    code = (
        "import sys, nbtrack.models, nbtrack.models.flavors, nbtrack.models.sklearn; "
        "heavy = ('sklearn', 'cloudpickle', 'skops', 'pandas', 'numpy', 'yaml', 'duckdb'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
