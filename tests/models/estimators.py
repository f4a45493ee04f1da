"""A scikit-learn step defined outside scikit-learn, as a user's own module defines one.

skops writes it, but reading it back needs its type trusted by name:
``tests.models.estimators.Doubler``.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, TransformerMixin

DOUBLER = "tests.models.estimators.Doubler"


class Doubler(TransformerMixin, BaseEstimator):
    """Doubles every value."""

    def fit(self, data: Any, labels: Any = None) -> Doubler:
        return self

    def transform(self, data: Any) -> Any:
        return data * 2
