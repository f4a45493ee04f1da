"""A request's fields, checked as MLflow's server checks them, with MLflow's messages.

MLflow's client sends a GET's fields in the query string and a POST's as a JSON body; both
arrive here as one ``Fields`` object. A wrong type is ``Invalid value 31 for parameter 'key'
supplied``, a missing field ``Missing value for required parameter 'key'``: MLflow's own words,
which its clients and tests look for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nbtrack.errors import InvalidValueError
from nbtrack.mlflow_compat.mapping import number_in

_MISSING = object()


class Fields:
    """The fields of one request, by name."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    @classmethod
    def from_query(cls, query: Any) -> Fields:
        # A field given twice (experiment_ids=1&experiment_ids=2) is a list.
        values: dict[str, Any] = {}
        for key, value in query.multi_items():
            if key in values:
                before = values[key]
                values[key] = [*before, value] if isinstance(before, list) else [before, value]
            else:
                values[key] = value
        return cls(values)

    def _get(self, name: str, required: bool) -> Any:
        value = self.values.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise InvalidValueError(f"Missing value for required parameter '{name}'.")
            return None
        return value

    def text(self, name: str, required: bool = False, *aliases: str) -> str | None:
        value = self._get(name, required and not aliases)
        for alias in aliases:
            value = value if value is not None else self._get(alias, False)
        if value is None and required:
            raise InvalidValueError(f"Missing value for required parameter '{name}'.")
        if value is not None and not isinstance(value, str):
            raise _invalid(name, value)
        return value

    def required_text(self, name: str, *aliases: str) -> str:
        value = self.text(name, True, *aliases)
        assert value is not None
        return value

    def integer(self, name: str, required: bool = False) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                raise _invalid(name, value) from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(name, value)
        return value

    def number(self, name: str) -> float:
        value = number_in(self._get(name, True))
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _invalid(name, value) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid(name, value)
        return float(value)

    def boolean(self, name: str) -> bool:
        value = self._get(name, False)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _invalid(name, value)

    def items(self, name: str) -> list[Any]:
        value = self._get(name, False)
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise _invalid(name, value)
        return value

    def key_values(self, name: str) -> list[tuple[str, str]]:
        pairs = []
        for item in self.items(name):
            if not isinstance(item, dict):
                raise _invalid(name, self.values[name])
            inner = Fields(item)
            pairs.append((inner.required_text("key"), inner.text("value") or ""))
        return pairs


def _invalid(name: str, value: object) -> InvalidValueError:
    shown = (
        json.dumps(value, separators=(",", ":"))
        if not isinstance(value, str)
        else (json.dumps(value))
    )
    return InvalidValueError(f"Invalid value {shown} for parameter '{name}' supplied.")
