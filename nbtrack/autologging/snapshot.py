"""What a fit's logging needs, taken when ``fit`` returns, so that it can be logged later.

The user may refit the same estimator or change ``X`` in place the moment ``fit`` returns;
what autolog logs must still be the fit that returned. So the fitted estimator is pickled
(LogisticRegression: ~0.01 ms; the worker unpickles it to predict and to save the model) and
the training data copied (10,000 x 20 floats: ~0.03 ms). Predicting before returning instead
(``predict`` + ``predict_proba`` on those rows: ~0.3 ms) would cost ten times as much on the
fit's path, and the worker still needs the rows for ``score`` and the signature. Copying
doubles the training data's memory until the worker is done with it.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FitSnapshot:
    """A fitted estimator, pickled, and copies of the data it was fitted on."""

    pickled: bytes
    X: Any
    y: Any
    weight: Any

    @classmethod
    def take(cls, estimator: Any, X: Any, y: Any, weight: Any) -> FitSnapshot | None:
        """None for an estimator that does not pickle (a lambda in a step, say): the caller
        then logs it at once, which is slower but loses nothing, so nothing is said."""
        try:
            pickled = pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # PicklingError, or the TypeError/AttributeError of odd objects
            return None
        return cls(pickled, _copy(X), _copy(y), _copy(weight))

    def estimator(self) -> Any:
        # Bytes this process pickled a moment ago from the user's own object: no outside input.
        return pickle.loads(self.pickled)


def _copy(data: Any) -> Any:
    if data is None or isinstance(data, (str, bytes, int, float)):
        return data
    if hasattr(data, "iloc"):
        return data.copy(deep=True)  # pandas: the frame's own copy, index and dtypes kept
    if hasattr(data, "copy") and (hasattr(data, "__array__") or hasattr(data, "tocsr")):
        return data.copy()  # a numpy array or a scipy sparse matrix
    return copy.deepcopy(data)  # lists of rows, and anything else
