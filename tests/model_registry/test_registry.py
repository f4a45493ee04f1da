"""The model registry on a real store: versions, aliases and their history, models:/ URIs."""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import nbtrack
from nbtrack import config
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.model_registry import (
    delete_alias,
    get_alias_history,
    get_model_version,
    load_model,
    promote,
    register_model,
    resolve_model_version,
    search_model_versions,
    set_alias,
)
from nbtrack.store import store as store_module
from nbtrack.store.schema import SCHEMA_VERSION
from tests.conftest import payload_of, raw_connection


def _log(features: pd.DataFrame, labels: np.ndarray, flip: bool = False) -> tuple[str, object]:
    """Log a LogisticRegression in a new run; ``flip`` trains one that predicts the opposite."""
    model = LogisticRegression().fit(features, 1 - labels if flip else labels)
    with nbtrack.start_run():
        info = nbtrack.log_model(model, "model", input_example=features.head(3))
    return info.model_uri, model


def test_two_registrations_give_versions_1_and_2_and_aliases_follow_promotion(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    uri_1, model_1 = _log(features, labels)
    uri_2, model_2 = _log(features, labels, flip=True)

    v1 = register_model(uri_1, "churn")
    v2 = register_model(uri_2, "churn")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.source == uri_1 and v1.status == "READY" and v1.aliases == ()
    assert v1.run_id == uri_1.split("/")[1]
    assert v1.created_at.tzinfo is not None
    root = store_path.parent / "nbtrack-artifacts" / "registry"
    assert Path(v1.storage_path).parent == root.resolve()
    assert (Path(v2.storage_path) / "MLmodel").is_file()

    promote("churn", 1)
    promote("churn", 2)
    champion = load_model("models:/churn@champion")
    np.testing.assert_array_equal(champion.predict(features), model_2.predict(features))
    np.testing.assert_array_equal(
        load_model("models:/churn/1").predict(features), model_1.predict(features)
    )
    np.testing.assert_array_equal(
        load_model("models:/churn/latest").predict(features), model_2.predict(features)
    )
    assert get_model_version("churn", 2).aliases == ("champion",)
    assert get_model_version("churn", "1").aliases == ()

    history = get_alias_history("churn")
    assert list(history.columns) == [
        "alias", "version", "previous_version", "changed_at", "changed_by"
    ]  # fmt: skip
    assert history["alias"].tolist() == ["champion", "champion"]
    assert history["version"].tolist() == [1, 2]
    assert history["previous_version"].isna().tolist() == [True, False]
    assert history["previous_version"].iloc[1] == 1
    assert str(history["changed_at"].dt.tz) == "UTC"
    assert history["changed_by"].tolist() == [config.current_user()] * 2

    versions = search_model_versions("churn")
    assert [v.version for v in versions] == [1, 2]
    assert [v.name for v in search_model_versions()] == ["churn", "churn"]


def test_set_and_delete_alias_are_kept_in_history(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    uri, _ = _log(features, labels)
    register_model(uri, "m")
    set_alias("m", "challenger", 1)
    set_alias("m", "challenger", 1)  # no move, no history
    delete_alias("m", "challenger")

    history = get_alias_history("m")
    assert history["version"].isna().tolist() == [False, True]
    assert history["previous_version"].isna().tolist() == [True, False]
    with pytest.raises(NotFoundError, match="challenger"):
        load_model("models:/m@challenger")
    with pytest.raises(NotFoundError, match="challenger"):
        delete_alias("m", "challenger")


def test_a_version_does_not_depend_on_its_runs_artifacts(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    uri, model = _log(features, labels)
    register_model(uri, "keep")
    run_folder = Path(nbtrack.get_run(uri.split("/")[1]).artifact_uri)
    shutil.rmtree(run_folder / "model")

    loaded = load_model("models:/keep/1")
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
    # the registry's folder itself is recorded too, so it loads by path without trusted=True
    by_path = load_model(get_model_version("keep", 1).storage_path)
    np.testing.assert_array_equal(by_path.predict(features), model.predict(features))


def test_a_tampered_registry_copy_is_refused_before_unpickling(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    features, labels = classification_data
    uri, _ = _log(features, labels)
    version = register_model(uri, "safe")
    planted = tmp_path / "pickle-ran"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.mkdir, (str(planted),))

    payload = payload_of(version.storage_path)
    payload.write_bytes(pickle.dumps(Evil()))
    refused = rf"{re.escape(payload.name)} does not match"
    with pytest.raises(InvalidValueError, match=refused):
        load_model("models:/safe/1")
    with pytest.raises(InvalidValueError, match=refused):
        load_model(version.storage_path, trusted=True)
    assert not planted.exists()


def test_a_tampered_source_is_not_registered(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    uri, _ = _log(features, labels)
    folder = Path(nbtrack.get_run(uri.split("/")[1]).artifact_uri) / "model"
    payload = payload_of(folder)
    with payload.open("ab") as stream:
        stream.write(b"x")
    with pytest.raises(InvalidValueError, match=re.escape(payload.name)):
        register_model(uri, "nope")
    with pytest.raises(NotFoundError):
        get_model_version("nope", 1)
    registry = store_path.parent / "nbtrack-artifacts" / "registry"
    assert not registry.exists() or not any(registry.iterdir())


def test_a_logged_model_folder_registers_and_an_unrecorded_folder_is_refused(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    features, labels = classification_data
    uri, _ = _log(features, labels)
    folder = Path(nbtrack.get_run(uri.split("/")[1]).artifact_uri) / "model"
    assert register_model(str(folder), "by-path").run_id == uri.split("/")[1]

    stray = tmp_path / "stray"
    shutil.copytree(folder, stray)
    with pytest.raises(InvalidValueError, match="no record"):
        register_model(str(stray), "stray")


@pytest.mark.parametrize("name", ["", "  ", "a/b", "a@b", "nul\x00", "x" * 251, 7])
def test_bad_model_names_are_refused_naming_the_value(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray], name: object
) -> None:
    features, labels = classification_data
    uri, _ = _log(features, labels)
    with pytest.raises(InvalidValueError) as caught:
        register_model(uri, name)  # type: ignore[arg-type]
    shown = repr(name)[:20] if not isinstance(name, str) or len(name) < 250 else "251"
    assert shown in str(caught.value)


@pytest.mark.parametrize("alias", ["latest", "LATEST", "123", "two words", "a/b", "", "é"])
def test_bad_aliases_are_refused_naming_the_value(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray], alias: str
) -> None:
    features, labels = classification_data
    uri, _ = _log(features, labels)
    register_model(uri, "m")
    with pytest.raises(InvalidValueError, match=repr(alias).replace("\\", "\\\\")):
        set_alias("m", alias, 1)


def test_unknown_names_versions_and_aliases_are_not_found_naming_what_exists(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    uri, _ = _log(features, labels)
    register_model(uri, "known")
    promote("known", 1)

    with pytest.raises(NotFoundError, match=r"'unknown'.*\['known'\]"):
        get_model_version("unknown", 1)
    with pytest.raises(NotFoundError, match=r"no version 5.*\[1\]"):
        get_model_version("known", 5)
    with pytest.raises(NotFoundError, match=r"no version 5"):
        load_model("models:/known/5")
    with pytest.raises(NotFoundError, match=r"'gold'.*champion"):
        load_model("models:/known@gold")
    with pytest.raises(NotFoundError, match=r"no version 3"):
        promote("known", 3)
    with pytest.raises(NotFoundError, match="unknown"):
        get_alias_history("unknown")
    with pytest.raises(InvalidValueError, match="Production"):
        load_model("models:/known/Production")


def test_latest_skips_archived_versions_and_aliases_cannot_point_at_them(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    uri, _ = _log(features, labels)
    register_model(uri, "m")
    register_model(uri, "m")
    with raw_connection(store_path) as con:
        con.execute("UPDATE model_versions SET status = 'ARCHIVED' WHERE version = 2")
    assert resolve_model_version("models:/m/latest").version == 1
    with pytest.raises(InvalidValueError, match="archived"):
        promote("m", 2)


def test_a_version_2_store_is_migrated_to_the_registry_schema(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    uri, _ = _log(features, labels)
    nbtrack.get_run(uri.split("/")[1])  # in the store
    with raw_connection(store_path) as con:
        for table in (
            "registered_models", "model_versions", "model_version_files", "aliases",
            "alias_history", "registered_model_tags", "model_version_tags",
        ):  # fmt: skip
            con.execute(f"DROP TABLE {table}")
        con.execute("UPDATE nbtrack_meta SET value = '2' WHERE key = 'schema_version'")
    assert register_model(uri, "migrated").version == 1
    store_module.close_all()
    with raw_connection(store_path, read_only=True) as con:
        assert con.execute(
            "SELECT value FROM nbtrack_meta WHERE key = 'schema_version'"
        ).fetchone() == (str(SCHEMA_VERSION),)
        assert con.execute("SELECT count(*) FROM model_version_tags").fetchone() == (0,)


_CHILD = textwrap.dedent(
    """
    import sys
    from nbtrack.model_registry import register_model
    from nbtrack.store.store import get_store
    from nbtrack import config

    get_store(config.resolve_store_path()).read(lambda con: None)  # warm: schema checked
    print("ready", flush=True)
    sys.stdin.readline()
    print(register_model(sys.argv[1], "raced").version, flush=True)
    """
)


@pytest.mark.slow
def test_two_processes_registering_one_new_name_at_once_get_two_versions(
    store_path: Path,
    child_env: dict[str, str],
    classification_data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    features, labels = classification_data
    uri, _ = _log(features, labels)
    nbtrack.get_run(uri.split("/")[1])  # the run is in the store before the children look
    store_module.close_all()

    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, uri],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env,
            text=True,
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    for child in children:  # the barrier: both are released together
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    versions = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        versions.append(int(out.strip()))

    assert sorted(versions) == [1, 2]
    with raw_connection(store_path, read_only=True) as con:
        assert con.execute(
            "SELECT count(*) FROM registered_models WHERE name = 'raced'"
        ).fetchone() == (1,)
        folders = con.execute("SELECT DISTINCT storage_path FROM model_versions").fetchall()
    assert len(folders) == 2
    assert [v.version for v in search_model_versions("raced")] == [1, 2]


def test_log_model_with_a_registered_name_logs_and_registers_in_one_call(
    store_path: Path,
) -> None:
    from sklearn.linear_model import LogisticRegression

    features = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(features, [0, 0, 1, 1])
    with nbtrack.start_run():
        first = nbtrack.log_model(model, "model", registered_model_name="churn")
    with nbtrack.start_run():
        second = nbtrack.log_model(model, "model", registered_model_name="churn")
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    assert [v.version for v in nbtrack.search_model_versions("churn")] == [1, 2]
    assert list(nbtrack.sql("SELECT version FROM model_versions ORDER BY version")["version"]) == [
        1,
        2,
    ]


def test_archiving_or_deleting_an_aliased_version_is_refused_naming_the_alias(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    for _ in range(2):
        register_model(_log(features, labels)[0], "churn")
    promote("churn", 2)
    for refused in (
        lambda: nbtrack.archive_model_version("churn", 2),
        lambda: nbtrack.delete_model_version("churn", 2),
        lambda: nbtrack.delete_registered_model("churn"),
    ):
        with pytest.raises(nbtrack.InvalidValueError, match="churn@champion"):
            refused()
    assert [v.version for v in nbtrack.search_model_versions("churn")] == [1, 2]


def test_an_archived_version_is_skipped_by_latest_and_comes_back_when_restored(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    for _ in range(2):
        register_model(_log(features, labels)[0], "churn")
    assert nbtrack.archive_model_version("churn", 2).status == "ARCHIVED"
    assert nbtrack.get_model_version("churn", 2).status == "ARCHIVED"
    from nbtrack.model_registry.references import resolve_model_version

    assert resolve_model_version("models:/churn/latest").version == 1
    nbtrack.restore_model_version("churn", 2)
    assert resolve_model_version("models:/churn/latest").version == 2


def test_deleting_a_version_and_then_the_model_removes_their_copies(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    first = register_model(_log(features, labels)[0], "churn")
    second = register_model(_log(features, labels)[0], "churn")
    nbtrack.delete_model_version("churn", 1)
    assert not Path(first.storage_path).exists()
    assert [v.version for v in nbtrack.search_model_versions("churn")] == [2]
    nbtrack.delete_registered_model("churn")
    assert not Path(second.storage_path).exists()
    with pytest.raises(nbtrack.NotFoundError, match="churn"):
        nbtrack.search_model_versions("churn")


def test_models_and_versions_take_descriptions(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    register_model(_log(features, labels)[0], "churn")
    nbtrack.set_model_description("churn", "logistic baseline", version=1)
    nbtrack.set_model_description("churn", "who leaves next month")
    assert nbtrack.get_model_version("churn", 1).description == "logistic baseline"
    described = nbtrack.sql("SELECT description FROM registered_models")
    assert list(described["description"]) == ["who leaves next month"]
