"""Autolog's training metrics, computed in numpy, equal scikit-learn's own functions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics
from sklearn.datasets import load_breast_cancer, load_iris, load_wine, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from nbtrack.autologging import sklearn_metrics

P = sklearn_metrics.PREFIX


def _binary() -> tuple[Any, Any]:
    return load_breast_cancer(return_X_y=True)


def _multiclass() -> tuple[Any, Any]:
    return load_iris(return_X_y=True)


def _string_labels() -> tuple[Any, Any]:
    X, y = load_wine(return_X_y=True)
    return X, np.array(["barolo", "grignolino", "barbera"])[y]


def _labels_not_from_zero() -> tuple[Any, Any]:
    X, y = make_classification(400, 6, n_informative=4, n_classes=3, random_state=1)
    return X, y + 7  # 7, 8, 9: looked up among the classes, not used as codes


def _imbalanced_with_a_class_never_predicted() -> tuple[Any, Any]:
    X, y = make_classification(
        300, 4, n_informative=2, n_classes=3, n_clusters_per_class=1, weights=[0.9, 0.08, 0.02],
        flip_y=0.2, random_state=3,
    )  # fmt: skip
    return X, y


DATASETS = {
    "binary": _binary,
    "multiclass": _multiclass,
    "string labels": _string_labels,
    "labels 7-9": _labels_not_from_zero,
    "imbalanced": _imbalanced_with_a_class_never_predicted,
}
MODELS = {
    "logistic": lambda: LogisticRegression(max_iter=5000),
    "naive bayes": GaussianNB,
    "shallow tree": lambda: DecisionTreeClassifier(max_depth=2, random_state=0),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("data_name", DATASETS)
def test_classifier_metrics_equal_scikit_learns(
    data_name: str, model_name: str, weighted: bool
) -> None:
    X, y = DATASETS[data_name]()
    weight = np.random.default_rng(0).uniform(0.2, 3.0, len(y)) if weighted else None
    model = MODELS[model_name]().fit(X, y)
    predicted, proba = model.predict(X), model.predict_proba(X)

    table = sklearn_metrics.confusion(y, predicted, weight, model.classes_)
    ours = sklearn_metrics.classifier_metrics(table)
    ours |= sklearn_metrics.probability_metrics(y, proba, model.classes_, weight)

    kw: dict[str, Any] = {"sample_weight": weight}
    averaged = {"average": "weighted", "zero_division": 0, **kw}
    theirs = {
        f"{P}accuracy_score": metrics.accuracy_score(y, predicted, **kw),
        f"{P}precision_score": metrics.precision_score(y, predicted, **averaged),
        f"{P}recall_score": metrics.recall_score(y, predicted, **averaged),
        f"{P}f1_score": metrics.f1_score(y, predicted, **averaged),
        f"{P}log_loss": metrics.log_loss(y, proba, labels=model.classes_, **kw),
    }
    if len(model.classes_) == 2:
        theirs[f"{P}roc_auc"] = metrics.roc_auc_score(y, proba[:, 1], **kw)
    elif weight is None:
        theirs[f"{P}roc_auc"] = metrics.roc_auc_score(
            y, proba, multi_class="ovo", average="weighted", labels=model.classes_
        )
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    np.testing.assert_allclose(
        table.matrix, metrics.confusion_matrix(y, predicted, labels=model.classes_, **kw)
    )


def test_a_label_outside_the_classes_is_counted_under_its_own_name() -> None:
    truth, predicted = np.array([0, 1, 2, 5]), np.array([0, 1, 2, 2])
    table = sklearn_metrics.confusion(truth, predicted, None, np.array([0, 1, 2]))
    assert list(table.labels) == [0, 1, 2, 5]
    np.testing.assert_array_equal(table.matrix, metrics.confusion_matrix(truth, predicted))


@pytest.mark.parametrize("decimals", [None, 2, 0], ids=["no ties", "some ties", "all tied"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_binary_roc_auc_equals_scikit_learns_with_and_without_ties(
    decimals: int | None, weighted: bool
) -> None:
    rng = np.random.default_rng(7)
    positive = rng.random(5_000) < 0.3
    score = rng.random(5_000) + 0.4 * positive
    if decimals is not None:
        score = np.round(score, decimals)
    weight = rng.random(5_000) + 0.5 if weighted else None
    proba = np.column_stack([1 - score / 2, score / 2])
    ours = sklearn_metrics.probability_metrics(
        positive.astype(int), proba, np.array([0, 1]), weight
    )
    theirs = metrics.roc_auc_score(positive, score, sample_weight=weight)
    assert ours[f"{P}roc_auc"] == pytest.approx(theirs, rel=1e-12, abs=1e-12)
