"""Tags of registered models and versions, the model listing, and the registry's marker file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import nbtrack
from nbtrack import config
from nbtrack.store.schema import SCHEMA_VERSION
from nbtrack.store.store import get_store
from tests.conftest import raw_connection


def _register(features: pd.DataFrame, labels: np.ndarray, name: str = "churn") -> int:
    model = LogisticRegression().fit(features, labels)
    with nbtrack.start_run():
        info = nbtrack.log_model(model, "model", input_example=features.head(3))
    return nbtrack.register_model(info.model_uri, name).version


def test_models_and_versions_carry_tags_that_can_be_replaced_and_deleted(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    _register(*classification_data)
    _register(*classification_data)
    nbtrack.set_model_tag("churn", "team", "growth")
    nbtrack.set_model_tag("churn", "validated", True, version=2)
    nbtrack.set_model_tag("churn", "dataset", "2026-11", version=2)
    nbtrack.set_model_tag("churn", "dataset", "2026-12", version="2")

    assert nbtrack.get_registered_model("churn").tags == {"team": "growth"}
    assert nbtrack.get_model_version("churn", 2).tags == {
        "dataset": "2026-12",
        "validated": "True",
    }
    assert nbtrack.get_model_version("churn", 1).tags == {}
    assert [v.tags for v in nbtrack.search_model_versions("churn")][1]["dataset"] == "2026-12"
    seen = nbtrack.sql("SELECT version, key, value FROM model_version_tags ORDER BY key")
    assert seen.to_dict("list") == {
        "version": [2, 2],
        "key": ["dataset", "validated"],
        "value": ["2026-12", "True"],
    }

    nbtrack.delete_model_tag("churn", "validated", version=2)
    nbtrack.delete_model_tag("churn", "team")
    assert nbtrack.get_model_version("churn", 2).tags == {"dataset": "2026-12"}
    assert nbtrack.get_registered_model("churn").tags == {}
    with pytest.raises(nbtrack.NotFoundError, match="'team'"):
        nbtrack.delete_model_tag("churn", "team")


def test_bad_tags_are_refused_naming_the_value(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    _register(*classification_data)
    with pytest.raises(nbtrack.InvalidValueError, match="tag key must not be empty"):
        nbtrack.set_model_tag("churn", "", "x")
    with pytest.raises(nbtrack.InvalidValueError, match="list"):
        nbtrack.set_model_tag("churn", "k", ["a"])
    with pytest.raises(nbtrack.NotFoundError, match="no version 7"):
        nbtrack.set_model_tag("churn", "k", "v", version=7)
    with pytest.raises(nbtrack.NotFoundError, match="'nope'"):
        nbtrack.set_model_tag("nope", "k", "v")
    odd = "'); DROP TABLE model_versions;--"
    nbtrack.set_model_tag("churn", odd, odd, version=1)
    assert nbtrack.get_model_version("churn", 1).tags == {odd: odd}


def test_tags_of_a_deleted_version_and_model_go_with_them(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    _register(*classification_data)
    _register(*classification_data)
    nbtrack.set_model_tag("churn", "k", "one", version=1)
    nbtrack.set_model_tag("churn", "k", "model")
    nbtrack.delete_model_version("churn", 1)
    assert nbtrack.sql("SELECT count(*) AS n FROM model_version_tags")["n"][0] == 0
    nbtrack.delete_registered_model("churn")
    assert nbtrack.sql("SELECT count(*) AS n FROM registered_model_tags")["n"][0] == 0
    _register(*classification_data)
    assert nbtrack.get_registered_model("churn").tags == {}


def test_registered_models_list_versions_aliases_and_times(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    assert nbtrack.search_registered_models() == []
    _register(*classification_data, name="b-model")
    _register(*classification_data, name="a-model")
    _register(*classification_data, name="a-model")
    nbtrack.promote("a-model", 1)
    nbtrack.set_alias("a-model", "challenger", 2)
    nbtrack.set_model_description("a-model", "first")

    models = nbtrack.search_registered_models()
    assert [m.name for m in models] == ["a-model", "b-model"]
    first = models[0]
    assert (first.latest_version, first.version_count) == (2, 2)
    assert first.aliases == {"challenger": 2, "champion": 1}
    assert first.description == "first"
    assert first.created_at <= first.updated_at
    assert nbtrack.get_registered_model("b-model").aliases == {}
    with pytest.raises(nbtrack.NotFoundError, match=r"'c-model'.*a-model"):
        nbtrack.get_registered_model("c-model")


def _marker_state(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def test_registry_changes_replace_the_marker_and_run_logging_does_not(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    marker = get_store(config.resolve_store_path()).registry_marker
    with nbtrack.start_run():
        nbtrack.log_metric("loss", 0.5)
    nbtrack.flush()
    assert _marker_state(marker) is None

    _register(*classification_data)
    states = [_marker_state(marker)]
    for change in (
        lambda: nbtrack.promote("churn", 1),
        lambda: nbtrack.delete_alias("churn", "champion"),
        lambda: nbtrack.archive_model_version("churn", 1),
        lambda: nbtrack.restore_model_version("churn", 1),
    ):
        change()
        states.append(_marker_state(marker))
    # Each change is a new file (new inode), so even two changes within one mtime tick differ.
    assert None not in states and len(set(states)) == len(states)

    before = _marker_state(marker)
    with nbtrack.start_run():
        for step in range(100):
            nbtrack.log_metric("loss", 1 / (step + 1), step=step)
    nbtrack.flush()
    assert _marker_state(marker) == before
    assert [p.name for p in marker.parent.iterdir() if p.name.startswith(marker.name + ".")] == []


def test_a_version_3_store_is_migrated_to_model_tags(
    store_path: Path, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    _register(*classification_data)
    with raw_connection(store_path) as con:
        con.execute("DROP TABLE registered_model_tags")
        con.execute("DROP TABLE model_version_tags")
        con.execute("UPDATE nbtrack_meta SET value = '3' WHERE key = 'schema_version'")
    nbtrack.set_model_tag("churn", "kept", "yes", version=1)
    assert nbtrack.get_model_version("churn", 1).tags == {"kept": "yes"}
    with raw_connection(store_path, read_only=True) as con:
        assert con.execute(
            "SELECT value FROM nbtrack_meta WHERE key = 'schema_version'"
        ).fetchone() == (str(SCHEMA_VERSION),)
