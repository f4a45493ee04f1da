"""MLflow's autologging, unchanged, in a script of its own, logging into nbtrack: through
``nbtrack server`` (MLFLOW_TRACKING_URI=http://127.0.0.1:PORT) and through ``nbtrack:``.

What it logs must be ordinary nbtrack runs: ``search_runs`` has their params and metrics,
``compare()`` shows them, ``load_model`` loads the model after checking its files, and a model
``mlflow.register_model`` registered is served by ``nbtrack serve NAME``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests

import nbtrack
from nbtrack.errors import InvalidValueError
from tests.mlflow_compat.conftest import start_server, stop_server
from tests.serving.conftest import free_port, wait_ready

SKLEARN_SCRIPT = """
import warnings
warnings.simplefilter("ignore")
import mlflow
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

mlflow.set_experiment("iris")
mlflow.sklearn.autolog()
X, y = load_iris(return_X_y=True, as_frame=True)
for c in (0.1, 1.0):
    with mlflow.start_run(run_name=f"C={c}") as run:
        LogisticRegression(C=c, max_iter=300).fit(X, y)
print("RUN", run.info.run_id)
version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "iris-clf")
mlflow.MlflowClient().set_registered_model_alias("iris-clf", "champion", version.version)
"""

LIGHTGBM_SCRIPT = """
import warnings
warnings.simplefilter("ignore")
import mlflow
import lightgbm as lgb
from sklearn.datasets import load_iris

mlflow.set_experiment("gbm")
mlflow.lightgbm.autolog()
X, y = load_iris(return_X_y=True, as_frame=True)
train = lgb.Dataset(X, label=y)
with mlflow.start_run(run_name="gbm") as run:
    lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1}, train,
              num_boost_round=5, valid_sets=[train], valid_names=["train"])
print("RUN", run.info.run_id)
"""


@pytest.fixture(params=["server", "plugin"])
def tracking_uri(request: pytest.FixtureRequest, store_path: Path) -> Iterator[str]:
    if request.param == "plugin":
        yield f"nbtrack:{store_path}"
        return
    server = start_server(store_path)
    yield server.url
    _, err = stop_server(server.process)
    assert "Traceback" not in err, err


def _run_script(script: str, tracking_uri: str, folder: Path) -> str:
    path = folder / "train.py"
    path.write_text(textwrap.dedent(script), encoding="utf-8")
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    env.pop("NBTRACK_URI", None)  # the script knows only MLflow's URI
    done = subprocess.run(
        [sys.executable, str(path)], env=env, cwd=folder, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("RUN"))


def test_sklearn_autolog_runs_are_nbtrack_runs(
    tracking_uri: str, store_path: Path, tmp_path: Path
) -> None:
    run_id = _run_script(SKLEARN_SCRIPT, tracking_uri, tmp_path)

    runs = nbtrack.search_runs("iris", order_by="start_time")
    assert list(runs["run_name"]) == ["C=0.1", "C=1.0"]
    assert list(runs["status"]) == ["FINISHED", "FINISHED"]
    assert list(runs["params.C"]) == ["0.1", "1.0"]
    assert runs["metrics.training_accuracy_score"].between(0.5, 1.0).all()
    assert runs["run_id"].iloc[-1] == run_id

    view = nbtrack.compare("iris")
    try:
        assert set(view.runs["run_id"]) == set(runs["run_id"])
    finally:
        view.close()

    features = load_iris_frame()
    model = nbtrack.load_model(f"runs:/{run_id}/model")
    assert list(model.predict(features.head(3))) == [0, 0, 0]

    version = nbtrack.get_model_version("iris-clf", 1)
    assert version.run_id == run_id
    assert version.aliases == ("champion",)


def test_lightgbm_autolog_logs_its_metric_history(tracking_uri: str, tmp_path: Path) -> None:
    run_id = _run_script(LIGHTGBM_SCRIPT, tracking_uri, tmp_path)

    run = nbtrack.get_run(run_id)
    assert run.params["objective"] == "multiclass"
    history = nbtrack.get_metric_history(run_id, "train-multi_logloss")
    # One point per boosting round, and MLflow's own extra point for the best iteration.
    assert set(history["step"]) == {0, 1, 2, 3, 4}
    per_round = history.drop_duplicates("step", keep="first")["value"]
    assert per_round.is_monotonic_decreasing
    assert "model/MLmodel" in {f.path for f in nbtrack.list_artifacts(run_id, "model")}
    # nbtrack runs only the loaders on its allow-list; LightGBM's is not one yet.
    with pytest.raises(InvalidValueError, match=r"mlflow\.lightgbm"):
        nbtrack.load_model(f"runs:/{run_id}/model")


def test_a_model_registered_through_mlflow_is_served_by_nbtrack_serve(
    store_path: Path, tmp_path: Path, clean_mlflow: None
) -> None:
    _run_script(SKLEARN_SCRIPT, f"nbtrack:{store_path}", tmp_path)
    port = free_port()
    serving = subprocess.Popen(
        [sys.executable, "-m", "nbtrack.cli", "--store", str(store_path), "serve", "iris-clf",
         "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, serving)
        rows = load_iris_frame().head(3).to_dict(orient="records")
        answer = requests.post(f"{url}/invocations", json={"dataframe_records": rows}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": [0, 0, 0]}
    finally:
        os.kill(serving.pid, signal.SIGTERM)
        serving.communicate(timeout=30)


def load_iris_frame() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    features: pd.DataFrame = load_iris(return_X_y=True, as_frame=True)[0]
    return features
