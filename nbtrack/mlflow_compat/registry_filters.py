"""MLflow's filter strings for registered models and model versions, read once for the
``nbtrack:`` plugin and ``nbtrack server``.

MLflow 3's client adds ``tag.`mlflow.prompt.is_prompt` != 'true'`` to every registered-model
search (``mlflow.search_registered_models()`` with no filter sends it), so a reader that knows
only ``name = '...'`` refuses MLflow's most ordinary call. Accepted: comparisons joined by
``AND``, each ``KEY OP VALUE`` — KEY ``name``, ``run_id``, ``source_path``, ``version_number`` or
``tag.<key>`` (``tags.``, the key in backquotes or not); OP ``=``, ``!=``, ``LIKE``, ``ILIKE``
(``%`` any text, ``_`` one character); VALUE in quotes, or a number. As in MLflow's stores, a
``!=`` on a tag the item does not have holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbtrack.errors import InvalidValueError

__all__ = ["Comparison", "matching", "parse", "wanted"]

_COMPARISON = re.compile(
    r"""\s*(?P<key>tags?\.(?:`[^`]+`|[\w.\-/]+)|[A-Za-z_]+)
        \s*(?P<op>!=|=|(?i:ilike|like)\b)
        \s*(?:'(?P<single>[^']*)'|"(?P<double>[^"]*)"|(?P<number>-?\d+))\s*""",
    re.VERBOSE,
)
_AND = re.compile(r"\s*(?i:and)\s+")
_FIELDS = {"name": "name", "run_id": "run_id", "source_path": "source", "version_number": "version"}
ACCEPTED = (
    "comparisons joined by AND: name, run_id, source_path, version_number or tag.<key>, "
    "then =, !=, LIKE or ILIKE, then a value in quotes"
)


@dataclass(frozen=True)
class Comparison:
    key: str  # a field of MLflow's JSON, or "tag:" and the tag's key
    op: str
    value: str

    def holds(self, item: dict[str, Any]) -> bool:
        if self.key.startswith("tag:"):
            tags = {tag["key"]: tag["value"] for tag in item.get("tags") or ()}
            found = tags.get(self.key[4:])
        else:
            found = item.get(self.key)
        if found is None:
            return self.op == "!="
        found = str(found)
        if self.op == "=":
            return found == self.value
        if self.op == "!=":
            return found != self.value
        return _like(self.value, self.op == "ILIKE").fullmatch(found) is not None


def parse(text: str | None) -> list[Comparison]:
    """The comparisons of ``text``; one error naming it and what is accepted otherwise."""
    found: list[Comparison] = []
    position, text = 0, text or ""
    while text.strip() and position < len(text):
        match = _COMPARISON.match(text, position)
        if match is None:
            raise InvalidValueError(f"filter {text!r} is not accepted: give {ACCEPTED}")
        found.append(_comparison(text, match))
        position = match.end()
        if position < len(text):
            separator = _AND.match(text, position)
            if separator is None:
                raise InvalidValueError(f"filter {text!r} is not accepted: give {ACCEPTED}")
            position = separator.end()
    return found


def wanted(comparisons: list[Comparison], field: str) -> str | None:
    """The value ``field`` must equal, to narrow what the store is asked for; None if free."""
    return next((c.value for c in comparisons if c.key == field and c.op == "="), None)


def matching(comparisons: list[Comparison]) -> Callable[[dict[str, Any]], bool]:
    return lambda item: all(comparison.holds(item) for comparison in comparisons)


def _comparison(text: str, match: re.Match[str]) -> Comparison:
    key, op = match["key"], match["op"].upper()
    if key.startswith(("tag.", "tags.")):
        field = "tag:" + key.partition(".")[2].strip("`")
    elif key in _FIELDS:
        field = _FIELDS[key]
    else:
        raise InvalidValueError(f"filter {text!r}: {key!r} is not a key here; give {ACCEPTED}")
    value = match["single"] if match["single"] is not None else match["double"]
    return Comparison(field, op, value if value is not None else match["number"])


def _like(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    translated = "".join(
        ".*" if char == "%" else "." if char == "_" else re.escape(char) for char in pattern
    )
    return re.compile(translated, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
