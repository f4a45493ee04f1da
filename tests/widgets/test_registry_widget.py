"""nbtrack.registry(): its buttons change the store, and it follows changes made elsewhere.

The buttons are clicked as the front end does (``Button.click()`` runs the same handlers a
click in the browser does); every check of the effect goes through the store, through
``load_model`` or through a fresh process, never through the widget's own state alone.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import nbtrack
from nbtrack.widgets.registry import RegistryWidget

Factory = Callable[..., RegistryWidget]


@pytest.fixture
def open_registry(store_path: Path) -> Iterator[Factory]:
    made: list[RegistryWidget] = []

    def make(*args: Any, **kwargs: Any) -> RegistryWidget:
        view = nbtrack.registry(*args, **kwargs)
        made.append(view)
        return view

    yield make
    for view in made:
        view.close()


def register_two(features: pd.DataFrame, labels: np.ndarray) -> tuple[object, object]:
    """Versions 1 and 2 of "churn": 2 predicts the opposite of 1, and their runs log acc."""
    models = []
    for version, flip in ((1, False), (2, True)):
        model = LogisticRegression().fit(features, 1 - labels if flip else labels)
        with nbtrack.start_run(name=f"candidate-{version}"):
            nbtrack.log_metric("acc", 0.8 + version / 100)
            nbtrack.log_model(
                model, "model", input_example=features.head(3), registered_model_name="churn"
            )
        models.append(model)
    return models[0], models[1]


def test_it_shows_models_versions_runs_metrics_and_aliases(
    open_registry: Factory, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    register_two(*classification_data)
    nbtrack.promote("churn", 1)
    view = open_registry()

    assert view.model == "churn"
    rows = view.versions
    assert rows["version"].tolist() == [2, 1]
    assert rows["run"].tolist() == ["candidate-2", "candidate-1"]
    assert rows["metrics.acc"].tolist() == pytest.approx([0.82, 0.81])
    assert rows["aliases"].tolist() == ["", "champion"]
    assert rows["status"].tolist() == ["READY", "READY"]
    assert view.history["version"].tolist() == [1]
    # what the front end draws: the version rows and their buttons, the history chart
    html = " ".join(getattr(child, "value", "") for child in view._grid.children)
    assert "candidate-2" in html and "champion" in html
    assert view.button("promote", 1).disabled and not view.button("promote", 2).disabled
    assert "nbtrack-version-2" in view.button("promote", 2)._dom_classes
    assert view._chart.chart.to_dict()["title"]["text"] == "alias history"


def test_promote_button_moves_champion_and_load_model_follows_at_once(
    open_registry: Factory, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, labels = classification_data
    _, model_2 = register_two(features, labels)
    nbtrack.promote("churn", 1)
    view = open_registry("churn")

    view.button("promote", 2).click()

    assert nbtrack.get_model_version("churn", 2).aliases == ("champion",)
    champion = nbtrack.load_model("models:/churn@champion")
    np.testing.assert_array_equal(champion.predict(features), model_2.predict(features))
    history = nbtrack.get_alias_history("churn")
    assert history["version"].tolist() == [1, 2]
    assert history["previous_version"].tolist()[1] == 1
    assert view.status_text == "churn@champion → version 2"
    assert view.versions["aliases"].tolist() == ["champion", ""]
    assert view.button("promote", 2).disabled
    # another process sees it too: nothing waits in this one
    code = "import nbtrack; print(nbtrack.get_model_version('churn', 2).aliases)"
    seen = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert seen.strip() == "('champion',)"


def test_set_and_remove_alias_buttons(
    open_registry: Factory, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    register_two(*classification_data)
    view = open_registry("churn")

    view.choose_alias("challenger", 1)
    view.button("set alias").click()
    assert nbtrack.get_registered_model("churn").aliases == {"challenger": 1}
    assert view.status_text == "churn@challenger → version 1"

    view._remove_alias_box.value = "challenger"
    view.button("remove alias").click()
    assert nbtrack.get_registered_model("churn").aliases == {}
    moves = nbtrack.get_alias_history("churn")
    assert moves["alias"].tolist() == ["challenger", "challenger"]
    assert moves["version"].isna().tolist() == [False, True]
    assert view.button("remove alias").disabled


def test_a_refused_action_is_shown_and_changes_nothing(
    open_registry: Factory, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    register_two(*classification_data)
    view = open_registry("churn")

    view.choose_alias("bad alias!", 1)
    view.button("set alias").click()
    assert view.status_text.startswith("set alias refused:")
    assert "'bad alias!'" in view.status_text
    assert nbtrack.get_registered_model("churn").aliases == {}

    # archive is refused while an alias points at the version, naming the alias
    view.choose_alias("challenger", 1)
    view.button("set alias").click()
    view._act("archive", 1)  # the button is disabled in the page; the refusal still holds
    assert "churn@challenger -> version 1" in view.status_text
    assert nbtrack.get_model_version("churn", 1).status == "READY"


def test_archive_and_restore_buttons(
    open_registry: Factory, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    register_two(*classification_data)
    view = open_registry("churn")

    view.button("archive", 2).click()
    assert nbtrack.get_model_version("churn", 2).status == "ARCHIVED"
    # latest now skips version 2
    latest = nbtrack.load_model("models:/churn/latest")
    assert latest.metadata["run_id"] == nbtrack.get_model_version("churn", 1).run_id
    assert view.button("promote", 2).disabled
    assert list(view._alias_version_box.options) == [1]

    view.button("restore", 2).click()
    assert nbtrack.get_model_version("churn", 2).status == "READY"
    assert not view.button("promote", 2).disabled


def test_it_refreshes_when_another_process_promotes(
    open_registry: Factory,
    classification_data: tuple[pd.DataFrame, np.ndarray],
    child_env: dict[str, str],
) -> None:
    register_two(*classification_data)
    view = open_registry("churn")
    assert view.versions["aliases"].tolist() == ["", ""]

    subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", "models", "promote", "churn", "1"],
        env=child_env,
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 10
    while view.versions["aliases"].tolist() != ["", "champion"]:
        assert time.monotonic() < deadline, view.versions
        time.sleep(0.1)
    assert view.history["version"].tolist() == [1]


def test_an_empty_registry_says_how_to_fill_it_and_shows_the_first_model(
    open_registry: Factory, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    view = open_registry()
    assert view.model is None
    assert "register_model" in view._summary.value
    assert view.versions.empty

    register_two(*classification_data)
    view.refresh()
    assert view.model == "churn"
    assert view.versions["version"].tolist() == [2, 1]


def test_an_unknown_model_is_refused_naming_the_registered_ones(
    open_registry: Factory, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    register_two(*classification_data)
    with pytest.raises(nbtrack.NotFoundError, match=r"'nope'.*churn"):
        open_registry("nope")
    view = open_registry("churn")
    with pytest.raises(nbtrack.InvalidValueError, match=r"'deploy'.*'promote'"):
        view.button("deploy", 1)
    with pytest.raises(nbtrack.InvalidValueError, match="version 9"):
        view.button("promote", 9)


def test_where_no_widget_front_end_runs_it_shows_a_static_table_and_chart(
    open_registry: Factory, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    register_two(*classification_data)
    nbtrack.promote("churn", 2)
    view = open_registry("churn")

    bundle = view._repr_mimebundle_()

    assert "application/vnd.jupyter.widget-view+json" in bundle
    static = bundle["text/html"]
    assert "candidate-2" in static and "champion" in static and "<script" not in static
    assert "data:image/png;base64," in static  # the alias history, drawn


def test_after_a_promote_elsewhere_the_status_line_says_what_the_store_holds(
    open_registry: Factory, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    register_two(*classification_data)
    view = open_registry("churn")
    view.button("promote", 1).click()
    assert view.status_text == "churn@champion → version 1"
    view.refresh()  # the poller, after the widget's own change: the message holds
    assert view.status_text == "churn@champion → version 1"

    nbtrack.promote("churn", 2)  # as the CLI or another kernel would
    view.refresh()

    assert "→ version 1" not in view.status_text
    assert view.status_text.startswith("changed elsewhere: churn@champion version 1 → 2 (by ")
    assert view.versions["aliases"].tolist() == ["champion", ""]


def test_an_empty_alias_history_is_one_short_line_not_a_chart(
    open_registry: Factory, classification_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    register_two(*classification_data)
    view = open_registry("churn")
    assert view._chart.layout.display == "none"
    assert view._history_table.value.count("<div") == 1
    assert "No alias set yet" in view._history_table.value
    assert "no data" not in view._history_table.value.lower()

    view.button("promote", 2).click()
    assert view._chart.layout.display is None
    assert "<table>" in view._history_table.value
