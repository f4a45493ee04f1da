"""The SQL half of the filter grammar: parsed filter and order_by items become bound SQL.

``nbtrack.tracking.filters`` reads the text into the nodes below; here they become a boolean
expression over a ``runs`` row aliased ``r``, or ORDER BY terms. The SQL text is made only of
the fixed pieces in this module; every key and value the user wrote is bound as a parameter,
so no input can change the shape of the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "ATTRIBUTES",
    "ORDERING",
    "TIMES",
    "Compare",
    "Junction",
    "Key",
    "Node",
    "Not",
    "SqlFragment",
    "emit",
    "order_terms",
]


@dataclass(frozen=True)
class SqlFragment:
    """SQL text whose only placeholders are ``?``, and the values to bind to them, in order."""

    sql: str
    params: list[object]


# attribute -> its column; the SQL text only ever holds these fixed column names. MLflow's
# first, then nbtrack's own. ``r.artifact_uri`` is whatever the query's ``r`` holds: search
# gives it the absolute folder, as Run.artifact_uri shows it.
ATTRIBUTES = {
    "status": "r.status",
    "run_name": "r.run_name",
    "run_id": "r.run_id",
    "start_time": "r.start_time",
    "end_time": "r.end_time",
    "artifact_uri": "r.artifact_uri",
    "user_id": "r.user_id",
    "source_name": "r.source_name",
    "git_commit": "r.git_commit",
    "parent_run_id": "r.parent_run_id",
    "experiment_id": "r.experiment_id",
}
TIMES = {"start_time", "end_time"}
_TABLES = {"metric": ("latest_metrics", "m"), "param": ("params", "p"), "tag": ("tags", "t")}
ORDERING = {"<", "<=", ">", ">="}
_PARAM_NUMBER = "TRY_CAST(p.value AS DOUBLE)"


# -- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    entity: str  # metric, param, tag or attribute
    name: str  # the key as logged; for an attribute its name in ATTRIBUTES
    source: str


@dataclass(frozen=True)
class Compare:
    key: Key
    op: str  # an SQL operator from the parser's fixed set: =, <>, LIKE, NOT IN, IS NULL, ...
    values: tuple[str | float, ...] = ()


@dataclass(frozen=True)
class Junction:
    op: str  # AND or OR
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node: TypeAlias = Compare | Junction | Not


# -- SQL --------------------------------------------------------------------------------------


def _lookup(entity: str, expression: str, condition: str = "") -> str:
    table, alias = _TABLES[entity]
    # Every piece is a constant of this module; the key and values are the ? placeholders.
    return (
        f"SELECT {expression} FROM {table} {alias} "  # noqa: S608
        f"WHERE {alias}.run_id = r.run_id AND {alias}.key = ?{condition}"
    )


def _condition(subject: str, compare: Compare, params: list[object], can_be_nan: bool) -> str:
    params.extend(compare.values)
    op = compare.op
    if op in ("IN", "NOT IN"):
        return f"{subject} {op} ({', '.join('?' for _ in compare.values)})"
    if op.startswith("NOT "):
        return f"NOT ({subject} {op[4:]} ?)"
    condition = f"{subject} {op} ?"
    # DuckDB sorts NaN above every number; a diverged run should not pass `loss > 0.5`.
    if op in ORDERING and can_be_nan:
        return f"NOT isnan({subject}) AND {condition}"
    return condition


def emit(node: Node, params: list[object]) -> str:
    if isinstance(node, Junction):
        return "(" + f" {node.op} ".join(emit(item, params) for item in node.items) + ")"
    if isinstance(node, Not):
        return f"(NOT {emit(node.item, params)})"
    key = node.key
    if key.entity == "attribute":
        column = ATTRIBUTES[key.name]
        if not node.values:
            return f"({column} {node.op})"
        subject = f"({column} // 1000)" if key.name in TIMES else column
        # A NULL column matches nothing, and FALSE (not NULL) keeps NOT its exact complement.
        return f"COALESCE({_condition(subject, node, params, can_be_nan=False)}, FALSE)"
    params.append(key.name)
    if not node.values:
        exists = f"EXISTS ({_lookup(key.entity, '1')})"
        return exists if node.op == "IS NOT NULL" else f"(NOT {exists})"
    alias = _TABLES[key.entity][1]
    numeric = not isinstance(node.values[0], str)
    # A param compares with a number by its text read as a number: '0.1' logged as text (as
    # MLflow's client logs every param) matches params.lr > 0.05 as 0.1 logged as a float does.
    subject = _PARAM_NUMBER if key.entity == "param" and numeric else f"{alias}.value"
    condition = _condition(subject, node, params, can_be_nan=numeric)
    return f"EXISTS ({_lookup(key.entity, '1', ' AND ' + condition)})"


def order_terms(key: Key, descending: bool, params: list[object]) -> list[str]:
    direction = "DESC NULLS LAST" if descending else "ASC NULLS LAST"
    if key.entity == "attribute":
        return [f"{ATTRIBUTES[key.name]} {direction}"]
    # max() keeps a duplicated key from turning the search into an error.
    expressions = {
        # As in MLflow, NaN comes after the numbers and before runs without the metric, both
        # ways: DuckDB sorts NaN above every number, so descending is the negation ascending.
        "metric": ["-max(m.value)" if descending else "max(m.value)"],
        # Values that read as numbers first, in numeric order ('9' before '10'), then
        # everything else by its text (NaN among the texts, as 'nan').
        "param": [f"max(NULLIF({_PARAM_NUMBER}, CAST('NaN' AS DOUBLE)))", "max(p.value)"],
        "tag": ["max(t.value)"],
    }[key.entity]
    params.extend(key.name for _ in expressions)
    if key.entity == "metric":
        direction = "ASC NULLS LAST"
    return [f"({_lookup(key.entity, expression)}) {direction}" for expression in expressions]
