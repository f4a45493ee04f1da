"""The registry: models, versions with their runs' metrics, alias history, promote."""

from __future__ import annotations

import nbtrack
from nbtrack.read_api import routes
from tests.read_api.conftest import ask
from tests.web.runs_for_ui import Logged


def test_models_list_the_registered_model_and_its_alias(logged: Logged) -> None:
    [model] = ask("models")["models"]
    assert (model["name"], model["version_count"], model["aliases"]) == (
        "churn",
        2,
        {"champion": 1},
    )


def test_a_model_has_its_versions_their_runs_metrics_and_history(logged: Logged) -> None:
    model = ask("models/churn")
    assert [v["version"] for v in model["versions"]] == [2, 1]
    assert model["versions"][1]["aliases"] == ["champion"]
    assert model["versions"][0]["run_id"] == logged.runs["tuning"][1]
    assert model["versions"][0]["metrics"]["acc"] == 0.77
    assert [(h["alias"], h["version"]) for h in model["history"]] == [("champion", 1)]


def test_promote_moves_the_alias_and_keeps_the_move(logged: Logged) -> None:
    moved = ask("models/churn/aliases", "POST", {"alias": "champion", "version": 2})
    assert moved["version"] == 2
    assert nbtrack.get_model_version("churn", 2).aliases == ("champion",)
    assert [h["version"] for h in ask("models/churn")["history"]] == [1, 2]


def test_promote_to_a_version_that_does_not_exist_is_refused(logged: Logged) -> None:
    answer = routes.answer("POST", "models/churn/aliases", {}, {"version": 9})
    assert answer.status in (400, 404) and "9" in answer.data["error"]


def test_promote_without_a_version_says_what_the_body_needs(logged: Logged) -> None:
    answer = routes.answer("POST", "models/churn/aliases", {}, {"alias": "champion"})
    assert answer.status == 400 and '"version"' in answer.data["error"]


def test_deleting_an_alias_removes_it(logged: Logged) -> None:
    ask("models/churn/aliases/champion", "DELETE")
    assert nbtrack.get_model_version("churn", 1).aliases == ()
