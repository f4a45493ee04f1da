"""Logistic regression on scikit-learn's breast-cancer data: the project's `main` entry point.

Written as an MLflow project script is: `nbtrack run` starts it with NBTRACK_RUN_ID set, so
`start_run()` returns the project run and everything below lands in it. Run by hand
(`python train.py`), the same code logs a run of its own.
"""

import argparse

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nbtrack

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--C", type=float, default=1.0, help="inverse regularization strength")
parser.add_argument("--max-iter", type=int, default=200)
args = parser.parse_args()

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)

with nbtrack.start_run():
    nbtrack.log_params({"C": args.C, "max_iter": args.max_iter})
    model = make_pipeline(StandardScaler(), LogisticRegression(C=args.C, max_iter=args.max_iter))
    model.fit(X_train, y_train)
    accuracy = accuracy_score(y_test, model.predict(X_test))
    loss = log_loss(y_test, model.predict_proba(X_test))
    nbtrack.log_metrics({"accuracy": accuracy, "log_loss": loss})
    print(f"Logistic regression (C={args.C:g}, max_iter={args.max_iter}):")
    print(f"  accuracy: {accuracy:.4f}")
    print(f"  log loss: {loss:.4f}")
