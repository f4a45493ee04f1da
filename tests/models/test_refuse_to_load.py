"""Loading refuses, before anything is unpickled, a model that is not the one saved, a folder
nobody recorded, and a loader that is not on nbtrack's allow-list."""

from __future__ import annotations

import os
import pickle
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.models import SavedModel, load_model, save_model
from tests.conftest import payload_of


class _MakesFolder:
    """Unpickling this creates a folder: proof that a payload was (or was not) unpickled."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.path),))


@pytest.fixture(params=["classifier", "custom_pipeline"])
def saved(tmp_path: Path, request: pytest.FixtureRequest) -> SavedModel:
    """A recorded model: a classifier saved as skops, and a pipeline skops cannot hold as is,
    cloudpickled. Every refusal below holds for both."""
    return save_model(request.getfixturevalue(request.param), tmp_path / "model")


def _set_loader(saved: SavedModel, loader: str) -> None:
    mlmodel = saved.path / "MLmodel"
    text = mlmodel.read_text().replace("loader_module: mlflow.sklearn", f"loader_module: {loader}")
    mlmodel.write_text(text)


def test_a_tampered_payload_is_refused_before_it_is_unpickled(
    tmp_path: Path, saved: SavedModel
) -> None:
    proof = tmp_path / "unpickled"
    pickle.loads(pickle.dumps(_MakesFolder(proof)))
    assert proof.is_dir(), "the crafted payload runs code when unpickled"

    marker = tmp_path / "tampered-payload-ran"
    payload = payload_of(saved.path)
    payload.write_bytes(pickle.dumps(_MakesFolder(marker)))
    for trusted in (False, True):
        with pytest.raises(
            InvalidValueError,
            match=rf"refusing to load: {re.escape(payload.name)} does not match the hash recorded "
            r"when the model was saved",
        ):
            load_model(saved.path, expected_hashes=saved.payload_files, trusted=trusted)
    assert not marker.exists()


def test_an_edited_mlmodel_is_refused(saved: SavedModel) -> None:
    _set_loader(saved, "nbtrack.models.python")
    with pytest.raises(InvalidValueError, match="MLmodel does not match the hash"):
        load_model(saved.path, expected_hashes=saved.payload_files)


def test_a_missing_or_an_extra_file_is_refused(saved: SavedModel) -> None:
    (saved.path / "sneaky.pkl").write_bytes(b"")
    with pytest.raises(
        InvalidValueError, match="files not saved with the model are present: sneaky"
    ):
        load_model(saved.path, expected_hashes=saved.payload_files)
    (saved.path / "sneaky.pkl").unlink()
    (saved.path / "conda.yaml").unlink()
    with pytest.raises(InvalidValueError, match="files saved with the model are missing: conda"):
        load_model(saved.path, expected_hashes=saved.payload_files)


def test_a_folder_the_store_has_no_record_of_loads_only_when_trusted(
    saved: SavedModel, frame: pd.DataFrame
) -> None:
    with pytest.raises(
        InvalidValueError,
        match="not recorded in the store; load it with trusted=True if you trust its origin",
    ):
        load_model(saved.path)
    assert load_model(saved.path, trusted=True).predict(frame).shape == (len(frame),)


def test_a_loader_off_the_allow_list_is_refused_and_never_imported(
    tmp_path: Path, saved: SavedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "loader-was-imported"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "nbtrack_test_evil_loader.py").write_text(f"import os\nos.mkdir({str(marker)!r})\n")
    monkeypatch.syspath_prepend(str(plugins))
    _set_loader(saved, "nbtrack_test_evil_loader")
    with pytest.raises(
        InvalidValueError,
        match=r"loader 'nbtrack_test_evil_loader', which nbtrack does not run; the loaders it "
        r"accepts are mlflow\.sklearn, nbtrack\.models\.python",
    ):
        load_model(saved.path, trusted=True)
    assert not marker.exists()
    assert "nbtrack_test_evil_loader" not in sys.modules


def test_loader_module_os_is_refused(saved: SavedModel) -> None:
    _set_loader(saved, "os")
    with pytest.raises(InvalidValueError, match="names the loader 'os'"):
        load_model(saved.path, trusted=True)


def test_a_payload_outside_the_model_folder_is_refused(tmp_path: Path, saved: SavedModel) -> None:
    mlmodel = saved.path / "MLmodel"
    name = payload_of(saved.path).name
    mlmodel.write_text(
        mlmodel.read_text().replace(f"pickled_model: {name}", "pickled_model: ../x.pkl")
    )
    (tmp_path / "x.pkl").write_bytes(pickle.dumps(_MakesFolder(tmp_path / "escaped")))
    with pytest.raises(
        InvalidValueError, match=r"'\.\./x\.pkl', which is outside the model directory"
    ):
        load_model(saved.path, trusted=True)
    assert not (tmp_path / "escaped").exists()


def test_a_symbolic_link_in_a_recorded_model_is_refused(tmp_path: Path, saved: SavedModel) -> None:
    payload = payload_of(saved.path)
    outside = tmp_path / "outside"
    payload.rename(outside)
    payload.symlink_to(outside)
    with pytest.raises(InvalidValueError, match=rf"{re.escape(payload.name)} is a symbolic link"):
        load_model(saved.path, expected_hashes=saved.payload_files)


def test_a_folder_without_mlmodel_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no model at .* no MLmodel file"):
        load_model(tmp_path, trusted=True)
