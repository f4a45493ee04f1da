"""The entry point of MLflow's sklearn_elasticnet_wine example layout, written for nbtrack.

MLflow's MLproject and python_env.yaml beside it are kept as MLflow ships them; this script
takes their command line (`python train.py ALPHA L1_RATIO`, positional) and logs what MLflow's
does: the two params, rmse, mae and r2 of an elastic net, and the model. Its data are
scikit-learn's wine measurements (the cultivar, 0 to 2, is the score to predict), so it needs
no network.
"""

import sys

import numpy as np
from sklearn.datasets import load_wine
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import nbtrack

alpha = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
l1_ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5

features, score = load_wine(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(features, score, random_state=40)

with nbtrack.start_run():  # under `nbtrack run`: the project run
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42).fit(X_train, y_train)
    predicted = model.predict(X_test)
    errors = {
        "rmse": float(np.sqrt(mean_squared_error(y_test, predicted))),
        "mae": float(mean_absolute_error(y_test, predicted)),
        "r2": float(r2_score(y_test, predicted)),
    }
    print(
        f"Elastic net (alpha={alpha:g}, l1_ratio={l1_ratio:g}): "
        + ", ".join(f"{name} {value:.4f}" for name, value in errors.items())
    )
    nbtrack.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
    nbtrack.log_metrics(errors)
    nbtrack.log_model(model, "model")
