"""The shapes of data a model takes, brought to one of two: a DataFrame or a numpy array."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbtrack.errors import InvalidValueError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def as_model_input(data: object, what: str) -> pd.DataFrame | np.ndarray[Any, Any]:
    """``data`` as a DataFrame (tables, records, column dicts) or an array (anything else).

    Examples
    --------
    >>> as_model_input([{"x": 1.0}, {"x": 2.0}], "data").shape
    (2, 1)
    """
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame | np.ndarray):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    try:
        if isinstance(data, dict):
            # {"x": 1.0} is one row; {"x": [1.0, 2.0]} is a column.
            scalars = all(np.ndim(value) == 0 for value in data.values())
            if scalars:
                return pd.DataFrame([data])
            # A 2-D array is a column of rows (pandas takes only 1-D ones), as MLflow reads it.
            return pd.DataFrame({key: _column(value) for key, value in data.items()})
        if isinstance(data, list | tuple) and data and all(isinstance(row, dict) for row in data):
            return pd.DataFrame(list(data))
        if isinstance(data, list | tuple) and data:
            return np.asarray(data)
    except ValueError as exc:  # columns of different lengths, ragged rows
        raise InvalidValueError(f"{what} cannot be read as a table or an array: {exc}") from None
    # The value itself is left out: it is the caller's data, and a server would repeat it.
    empty = " (empty)" if isinstance(data, list | tuple) else ""
    raise InvalidValueError(
        f"{what} is {type(data).__name__}{empty} (not a table or an array); give a pandas "
        "DataFrame, a numpy array, a list of records (dicts), a dict of columns or a non-empty "
        "list"
    )


def _column(value: Any) -> Any:
    import numpy as np

    return value.tolist() if isinstance(value, np.ndarray) and value.ndim > 1 else value
