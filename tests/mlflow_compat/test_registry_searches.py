"""Registry searches as MLflow's client sends them, through the plugin and the server alike.

MLflow 3's client adds ``tag.`mlflow.prompt.is_prompt` != 'true'`` to every search of registered
models, so ``search_registered_models()`` with no filter must work; so must MLflow's ``LIKE``,
tags and ``AND``. And the plugin works whichever module a process imports first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def _register(client: MlflowClient) -> None:
    client.create_registered_model("churn", tags={"team": "growth"})
    client.create_registered_model("churn-v2", tags={"team": "risk"})
    client.create_registered_model("Fraud")
    # MLflow's client refuses a prompt's tag at creation, not afterwards.
    client.create_registered_model("a-prompt")
    client.set_registered_model_tag("a-prompt", "mlflow.prompt.is_prompt", "true")


def test_the_default_search_lists_every_model_but_prompts(mlflow_client: MlflowClient) -> None:
    _register(mlflow_client)
    names = sorted(model.name for model in mlflow_client.search_registered_models())
    assert names == ["Fraud", "churn", "churn-v2"]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'churn'", ["churn"]),
        ("name LIKE 'churn%'", ["churn", "churn-v2"]),
        ("name ILIKE 'fr%'", ["Fraud"]),
        ("name LIKE 'fr%'", []),
        ("tags.team = 'risk'", ["churn-v2"]),
        ("name LIKE 'churn%' AND tag.`team` != 'risk'", ["churn"]),
    ],
)
def test_filters_as_mlflow_reads_them(
    mlflow_client: MlflowClient, filter_string: str, expected: list[str]
) -> None:
    _register(mlflow_client)
    found = mlflow_client.search_registered_models(filter_string=filter_string)
    assert sorted(model.name for model in found) == expected


def test_a_filter_it_cannot_read_is_refused_naming_it(mlflow_client: MlflowClient) -> None:
    _register(mlflow_client)
    with pytest.raises(MlflowException, match="name = 'churn' OR") as refused:
        mlflow_client.search_registered_models(filter_string="name = 'churn' OR name = 'Fraud'")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "LIKE" in str(refused.value)  # says what is accepted


@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred:UserWarning")
def test_model_versions_by_name_run_and_tag(mlflow_client: MlflowClient) -> None:
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(mlflow_client.tracking_uri)
    run_ids = []
    for _ in range(2):
        with mlflow.start_run() as run:
            mlflow.sklearn.log_model(LogisticRegression().fit([[0], [1]], [0, 1]), name="model")
        run_ids.append(run.info.run_id)
    mlflow_client.create_registered_model("churn")
    mlflow_client.create_model_version("churn", f"runs:/{run_ids[0]}/model", run_ids[0])
    mlflow_client.create_model_version(
        "churn", f"runs:/{run_ids[1]}/model", run_ids[1], tags={"stage": "canary"}
    )
    by_name = mlflow_client.search_model_versions("name = 'churn'")
    assert sorted(v.version for v in by_name) == ["1", "2"]
    by_run = mlflow_client.search_model_versions(f"run_id = '{run_ids[1]}'")
    assert [v.version for v in by_run] == ["2"]
    tagged = mlflow_client.search_model_versions("name = 'churn' AND tag.stage = 'canary'")
    assert [v.version for v in tagged] == ["2"]


IMPORTED_FIRST = """
import sys, warnings
warnings.simplefilter("error")  # MLflow drops a plugin it cannot load with a warning
import {module}
from mlflow import MlflowClient
client = MlflowClient("nbtrack:" + sys.argv[1])
client.create_registered_model("m")
print(client.search_experiments()[0].name, [m.name for m in client.search_registered_models()])
"""


@pytest.mark.parametrize(
    "module", ["nbtrack.mlflow_compat.plugin", "nbtrack.mlflow_compat.registry_plugin"]
)
def test_the_plugin_loads_whichever_module_is_imported_first(store_path: Path, module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORTED_FIRST.format(module=module), str(store_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Default", "['m']"]
