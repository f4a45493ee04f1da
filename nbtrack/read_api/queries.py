"""Reading a request's query values: each checked, each refusal naming the value and what is
accepted. Hosts hand over the query as a mapping of text to text."""

from __future__ import annotations

from collections.abc import Mapping

from nbtrack.errors import InvalidValueError

Query = Mapping[str, str]

MAX_PAGE_SIZE = 500


def text(query: Query, name: str, default: str | None = None) -> str | None:
    value = query.get(name)
    return default if value is None or not value.strip() else value.strip()


def required(query: Query, name: str, what: str) -> str:
    value = text(query, name)
    if value is None:
        raise InvalidValueError(f"the query needs {name}=: {what}")
    return value


def number(query: Query, name: str, default: int, low: int, high: int) -> int:
    value = query.get(name)
    if value is None or value == "":
        return default
    try:
        found = int(value)
    except ValueError:
        found = low - 1
    if not low <= found <= high:
        raise InvalidValueError(
            f"{name}={value!r} is not accepted; give a whole number from {low} to {high}"
        )
    return found


def flag(query: Query, name: str) -> bool:
    value = (query.get(name) or "").lower()
    if value not in ("", "0", "1", "true", "false"):
        raise InvalidValueError(f"{name}={value!r} is not accepted; give true or false")
    return value in ("1", "true")


def names(query: Query, name: str) -> list[str]:
    """A comma-separated list (``runs=a,b,c``), without blanks or repeats."""
    return list(dict.fromkeys(p.strip() for p in (query.get(name) or "").split(",") if p.strip()))
