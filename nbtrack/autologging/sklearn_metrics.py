"""Training metrics from one set of predictions, in numpy.

scikit-learn's metric functions validate their input on every call, which costs a few
milliseconds each: seven of them would take as long as the fit autolog must not slow down. These
compute the same values (as ``sklearn.metrics`` defines them, with MLflow's choices: weighted
averages, ROC AUC one-vs-one for more than two classes) from a confusion matrix counted once.
The names are MLflow's, so runs from either tracker compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

PREFIX = "training_"


@dataclass(frozen=True)
class Confusion:
    """Counts of (true label, predicted label) over the training rows, weighted."""

    labels: NDArray[Any]
    matrix: NDArray[np.float64]


def confusion(
    y_true: Any, y_pred: Any, weight: NDArray[np.float64] | None, classes: Any = None
) -> Confusion:
    """The confusion matrix of 1-d labels, rows the true labels, columns the predicted ones.

    ``classes`` (a fitted classifier's sorted ``classes_``) saves sorting every label: each is
    looked up among a few classes instead.
    """
    truth, predicted = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    codes = _codes(truth, predicted, classes)
    if codes is None:
        labels, both = np.unique(np.concatenate([truth, predicted]), return_inverse=True)
        codes = both[: len(truth)], both[len(truth) :]
    else:
        labels = np.asarray(classes)
    size = len(labels)
    counts = np.bincount(codes[0] * size + codes[1], weights=weight, minlength=size * size)
    return Confusion(labels, counts.reshape(size, size).astype(np.float64))


def _codes(
    truth: NDArray[Any], predicted: NDArray[Any], classes: Any
) -> tuple[NDArray[np.intp], NDArray[np.intp]] | None:
    if classes is None or len(classes) == 0:
        return None
    known = np.asarray(classes)
    if _numbered(known, truth, predicted):
        # Labels 0..k-1, the commonest case: each label is its own code (~0.05 ms for 30,000
        # rows, against ~0.35 ms looking every label up).
        return truth.astype(np.intp, copy=False), predicted.astype(np.intp, copy=False)
    found = []
    for labels in (truth, predicted):
        try:
            at = np.minimum(np.searchsorted(known, labels), len(known) - 1)
        except TypeError:
            return None  # labels that do not compare with the classes
        if not np.array_equal(known[at], labels):
            return None  # a label that is not one of the classes
        found.append(at)
    return found[0], found[1]


def _numbered(known: NDArray[Any], *labels: NDArray[Any]) -> bool:
    """Whether the classes are 0..k-1 and every label an integer among them."""
    if known.dtype.kind not in "iu" or not np.array_equal(known, np.arange(len(known))):
        return False
    return all(
        part.dtype.kind in "iu"
        and (part.size == 0 or (part.min() >= 0 and part.max() < len(known)))
        for part in labels
    )


def classifier_metrics(table: Confusion) -> dict[str, float]:
    """Accuracy, and precision, recall and F1 averaged over classes weighted by support."""
    matrix = table.matrix
    total = matrix.sum()
    hits = np.diag(matrix)
    support, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, hits / predicted, 0.0)
        recall = np.where(support > 0, hits / support, 0.0)
        both = precision + recall
        f1 = np.where(both > 0, 2 * precision * recall / both, 0.0)
    weights = support / total
    return {
        f"{PREFIX}accuracy_score": float(hits.sum() / total),
        f"{PREFIX}precision_score": float(np.dot(weights, precision)),
        f"{PREFIX}recall_score": float(np.dot(weights, recall)),
        f"{PREFIX}f1_score": float(np.dot(weights, f1)),
    }


def probability_metrics(
    y_true: Any, proba: NDArray[Any], classes: NDArray[Any], weight: NDArray[np.float64] | None
) -> dict[str, float]:
    """Log loss, and ROC AUC (binary, or one-vs-one weighted by prevalence)."""
    truth = np.asarray(y_true).ravel()
    if proba.ndim != 2 or proba.shape[1] != len(classes) or len(classes) < 2:
        return {}
    if _numbered(classes, truth):
        column = truth.astype(np.intp, copy=False)
    else:
        column = np.searchsorted(classes, truth)
        known = np.minimum(column, len(classes) - 1)
        if np.any(column >= len(classes)) or np.any(classes[known] != truth):
            return {}  # a label the model does not know: no metric rather than a wrong one
    eps = np.finfo(proba.dtype if proba.dtype.kind == "f" else np.float64).eps
    chosen = np.clip(proba[np.arange(len(truth)), column], eps, 1 - eps)
    metrics = {f"{PREFIX}log_loss": float(np.average(-np.log(chosen), weights=weight))}
    auc = _roc_auc(column, proba, weight)
    if auc is not None:
        metrics[f"{PREFIX}roc_auc"] = auc
    return metrics


def regressor_metrics(
    y_true: Any, y_pred: Any, weight: NDArray[np.float64] | None
) -> dict[str, float]:
    """MSE, RMSE, MAE and R², averaged over outputs as scikit-learn's defaults do."""
    truth = np.asarray(y_true, dtype=np.float64)
    predicted = np.asarray(y_pred, dtype=np.float64).reshape(truth.shape)
    if truth.ndim == 1:
        truth, predicted = truth[:, None], predicted[:, None]
    errors = truth - predicted
    mse = np.average(errors**2, axis=0, weights=weight)
    mae = np.average(np.abs(errors), axis=0, weights=weight)
    mean = np.average(truth, axis=0, weights=weight)
    spread = np.average((truth - mean) ** 2, axis=0, weights=weight)
    with np.errstate(divide="ignore", invalid="ignore"):
        # scikit-learn's rule for a constant target: 1 for a perfect fit, else 0.
        r2 = np.where(spread > 0, 1 - mse / spread, np.where(mse == 0, 1.0, 0.0))
    return {
        f"{PREFIX}mean_squared_error": float(mse.mean()),
        f"{PREFIX}root_mean_squared_error": float(np.sqrt(mse).mean()),
        f"{PREFIX}mean_absolute_error": float(mae.mean()),
        f"{PREFIX}r2_score": float(r2.mean()),
    }


def _roc_auc(
    column: NDArray[np.intp], proba: NDArray[Any], weight: NDArray[np.float64] | None
) -> float | None:
    if proba.shape[1] == 2:
        return _binary_auc(column == 1, proba[:, 1], weight)
    if weight is not None:
        return None  # scikit-learn refuses sample weights for one-vs-one: so do we
    # Hand & Till: the mean over class pairs of the two one-vs-one AUCs, weighted by the pair's
    # prevalence, as roc_auc_score(multi_class="ovo", average="weighted") computes it.
    total, scores = 0.0, 0.0
    for a in range(proba.shape[1]):
        for b in range(a + 1, proba.shape[1]):
            rows = (column == a) | (column == b)
            if not rows.any():
                continue
            first = _binary_auc(column[rows] == a, proba[rows, a], None)
            second = _binary_auc(column[rows] == b, proba[rows, b], None)
            if first is None or second is None:
                return None
            share = rows.sum() / len(column)
            scores += share * (first + second) / 2
            total += share
    return None if total == 0 else float(scores / total)


def _binary_auc(
    positive: NDArray[np.bool_], score: NDArray[Any], weight: NDArray[np.float64] | None
) -> float | None:
    if positive.all() or not positive.any():
        return None  # one class only: AUC is undefined
    order = np.argsort(score)  # ties are grouped by value below: no stable sort needed
    score, positive = score[order], positive[order]
    tied = score[1:] == score[:-1]
    if weight is None and not tied.any():
        # No two scores equal (a model's probabilities, mostly): the rank of each row is its
        # place, and Mann-Whitney's U needs only the positives' ranks. Grouping ~30,000
        # one-row groups below would take four times as long.
        hits = float(positive.sum())
        ranks = float(np.flatnonzero(positive).sum()) + hits
        return (ranks - hits * (hits + 1) / 2) / (hits * (len(score) - hits))
    # Ties share their rank (Mann-Whitney): each tied group counts half.
    starts = np.r_[0, np.flatnonzero(~tied) + 1]
    if weight is None:
        # Counts: one sum per group, the negatives from the group's size.
        pos = np.add.reduceat(positive.astype(np.float64), starts)
        neg = np.diff(np.r_[starts, len(score)]) - pos
    else:
        weights = np.asarray(weight)[order]
        pos = np.add.reduceat(weights * positive, starts)
        neg = np.add.reduceat(weights * ~positive, starts)
    below = np.cumsum(neg) - neg
    area = np.sum(pos * (below + neg / 2))
    return float(area / (pos.sum() * neg.sum()))
