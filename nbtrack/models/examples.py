"""The input example saved beside a model, in MLflow 3's layout.

``input_example.json`` holds the data (a DataFrame in pandas' "split" orient, without the
index; an array as nested lists), ``serving_input_example.json`` the request body a scoring
server takes for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nbtrack.errors import InvalidValueError
from nbtrack.models.inputs import as_model_input

INPUT_EXAMPLE = "input_example.json"
SERVING_EXAMPLE = "serving_input_example.json"


def write_input_example(example: object, folder: Path) -> dict[str, str]:
    """Write the example files; return MLmodel's ``saved_input_example_info``."""
    import pandas as pd

    table = as_model_input(example, "input_example")
    info = {"artifact_path": INPUT_EXAMPLE, "serving_input_path": SERVING_EXAMPLE}
    data: Any
    try:
        if isinstance(table, pd.DataFrame):
            data = json.loads(table.to_json(orient="split", index=False, date_format="iso"))
            info |= {"type": "dataframe", "pandas_orient": "split"}
            serving = {"dataframe_split": data}
        else:
            data = table.tolist()
            info |= {"type": "ndarray"}
            serving = {"inputs": data}
        (folder / INPUT_EXAMPLE).write_text(json.dumps(data), "utf-8")
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidValueError(f"input_example cannot be written as JSON: {exc}") from None
    (folder / SERVING_EXAMPLE).write_text(json.dumps(serving, indent=2), "utf-8")
    return info
