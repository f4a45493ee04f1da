"""Log a small MLflow history with MLflow's own client into the tracking URI given as argv[1].

Run as a separate process by the tests (MLflow's process-wide state stays out of pytest's):
a parent run with two levels of children, a metric of 10,000 steps, NaN and infinities, a
6,000-character param, unicode keys, an artifact tree, a failed run, a deleted run, and three
scikit-learn models registered as versions 1-3 of ``churn`` with two aliases. Prints the ids.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.entities import Metric
from sklearn.linear_model import LogisticRegression

STEPS = 10_000
LONG_PARAM = "ä" + "x" * 5999


def main(uri: str) -> dict[str, object]:
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    mlflow.set_experiment("expérience ✓")
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 2))
    labels = (features[:, 0] + features[:, 1] > 0).astype(int)
    with mlflow.start_run(run_name="sweep") as parent:
        mlflow.log_params({"long": LONG_PARAM, "ключ": "значение", "lr": "0.1"})
        mlflow.set_tags({"команда": "ü ✓", "multi": "line\r\ntwo"})
        start = 1_700_000_000_000
        points = [Metric("loss/train", 1 / (i + 1), start + i, i) for i in range(STEPS)]
        for at in range(0, STEPS, 1000):
            client.log_batch(parent.info.run_id, metrics=points[at : at + 1000])
        for key, value in (("nan", math.nan), ("inf", math.inf), ("ninf", -math.inf)):
            mlflow.log_metric(key, value, step=1)
        mlflow.log_metric("точность", 0.5, step=0)
        mlflow.log_metric("точность", 0.75, step=1)
        with tempfile.TemporaryDirectory() as tree:
            (Path(tree) / "a" / "b").mkdir(parents=True)
            (Path(tree) / "a" / "b" / "deep.txt").write_text("deep ✓", encoding="utf-8")
            (Path(tree) / "top.json").write_text('{"k": 1}', encoding="utf-8")
            mlflow.log_artifacts(tree, "tree")
        for c in (0.1, 1.0, 10.0):
            with mlflow.start_run(run_name=f"C={c}", nested=True):
                mlflow.log_param("C", str(c))
                model = LogisticRegression(C=c).fit(features, labels)
                mlflow.log_metric("accuracy", float(model.score(features, labels)))
                mlflow.sklearn.log_model(
                    model,
                    name="model",
                    registered_model_name="churn",
                    pip_requirements=["scikit-learn"],
                )
                with mlflow.start_run(run_name="grandchild", nested=True):
                    mlflow.log_metric("depth", 2)
    client.set_registered_model_alias("churn", "champion", "3")
    client.set_registered_model_alias("churn", "challenger", "2")
    with mlflow.start_run(run_name="broken") as broken:
        mlflow.log_param("reason", "oom")
    client.set_terminated(broken.info.run_id, "FAILED")
    with mlflow.start_run(run_name="thrown away") as deleted:
        mlflow.log_param("x", "1")
    client.delete_run(deleted.info.run_id)
    return {
        "parent": parent.info.run_id,
        "deleted": deleted.info.run_id,
        "features": features.tolist(),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
