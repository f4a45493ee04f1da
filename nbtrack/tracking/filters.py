"""MLflow's filter and order_by syntax, plus ``or`` and parentheses, compiled to bound SQL.

The grammar, loosest binding first (keywords are case-insensitive)::

    filter     := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" or_expr ")" | comparison
    comparison := key ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") value
                | key ["NOT"] "IN" "(" value ("," value)* ")"
                | key ["NOT"] ("LIKE" | "ILIKE") string
                | key "IS" ["NOT"] "NULL"
    key        := entity "." name | `entity` "." name | attribute | `attribute` | "attribute"
    name       := bare | `quoted` | "quoted"
    value      := 'text' | "text" | number | NaN | inf | -inf
    order_item := key ["ASC" | "DESC"]

Every spelling MLflow takes means what it means there (``run.status``, ``attributes.created``,
`` attributes.`Run name` ``, ``tags.mlflow.runName`` for the run name); and what MLflow refuses
as meaningless is refused here too: ``< <= > >=`` against text, a key named twice in
``order_by``. What nbtrack takes beyond MLflow is listed in the README's "nbtrack and MLflow".

Limits, each refused with an error that names it: a filter holds at most ``MAX_COMPARISONS``
comparisons (each one on a logged key is a subquery, and DuckDB plans a query of about 1,000 of
them no more: many values of one key go in one ``IN (...)``), nests at most ``MAX_DEPTH``
levels of parentheses and ``not``; ``order_by`` takes at most ``MAX_ORDER_ITEMS`` items.

This module parses the tokens of ``nbtrack.tracking.filter_tokens`` into a tree of
``nbtrack.store.filter_sql`` nodes and refuses what cannot mean anything, with a caret under the
culprit; ``filter_sql`` turns the tree into a boolean expression over a ``runs`` row aliased
``r`` (or ORDER BY terms), made only of its own fixed SQL pieces, with every key and value the
user wrote bound as a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nbtrack.errors import InvalidValueError
from nbtrack.store.filter_sql import (
    ATTRIBUTES,
    ORDERING,
    TIMES,
    Compare,
    Junction,
    Key,
    Node,
    Not,
    SqlFragment,
    emit,
    order_terms,
)
from nbtrack.tracking.filter_tokens import Token, syntax_error, tokenize
from nbtrack.tracking.validation import shown

__all__ = ["compile_filter", "compile_order_by"]


# Every spelling MLflow takes for an entity, in any case.
_ENTITIES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "parameters": "param",
    "parameter": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
# Other names MLflow gives attributes: "created" is the start time; "Run name" the run name;
# nbtrack's "user" was here before MLflow's "user_id".
_ATTRIBUTE_ALIASES = {"created": "start_time", "run name": "run_name", "user": "user_id"}
# Attributes that may go without "attributes.", as in MLflow.
_BARE_ATTRIBUTES = (
    "status", "run_name", "run_id", "start_time", "end_time", "artifact_uri", "user_id",
    "created", "run name",
)  # fmt: skip
# MLflow keeps the run name in this tag as well, and its users filter on it: here it is the
# run name itself, whatever tags the run has.
RUN_NAME_TAG = "mlflow.runName"
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "like", "ilike", "asc", "desc"}
_SPECIAL_NUMBERS = {"nan", "inf", "infinity"}
_OPERATORS = {
    "=": "=",
    "==": "=",
    "!=": "<>",
    "<>": "<>",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}
MAX_DEPTH = 100
# 200 comparisons and 20 order_by items (a param's is two subqueries) plan in ~0.3 s, far
# below DuckDB's limit of ~1,000 subqueries in one query, and above any hand-written filter.
MAX_COMPARISONS = 200
MAX_ORDER_ITEMS = 20
_VALID_KEYS = (
    "keys look like metrics.acc, params.lr, tags.team or attributes.status "
    "(also metric., param., parameter(s)., tag., attribute., attr., run.)"
)


def _shown(text: str) -> str:
    """Text the user wrote, quoted and cut short enough for one line of a message."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _is_time(key: Key) -> bool:
    return key.entity == "attribute" and key.name in TIMES


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.tokens = tokenize(text, what)
        self.index = 0
        self.depth = 0
        self.comparisons = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def error(self, token: Token, problem: str) -> InvalidValueError:
        return syntax_error(self.text, token.pos, self.what, problem)

    def found(self, token: Token) -> str:
        return "the end" if token.kind == "end" else _shown(token.source)

    def at_keyword(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.source.lower() == word

    def keyword(self, word: str) -> bool:
        if self.at_keyword(word):
            self.advance()
            return True
        return False

    def symbol(self, symbol: str) -> bool:
        if self.peek().kind == "symbol" and self.peek().source == symbol:
            self.advance()
            return True
        return False

    def end(self, expected: str) -> None:
        if self.peek().kind != "end":
            raise self.error(self.peek(), f"expected {expected}, found {self.found(self.peek())}")

    # filter := or_expr
    def filter(self) -> Node:
        node = self.or_expr()
        self.end("'and', 'or' or the end of the filter")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.keyword("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Junction("OR", tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.keyword("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else Junction("AND", tuple(items))

    def not_expr(self) -> Node:
        token = self.peek()
        if self.at_keyword("not") or (token.kind == "symbol" and token.source == "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(token, f"nested deeper than {MAX_DEPTH} levels")
            self.advance()
            if token.source == "(":
                node = self.or_expr()
                if not self.symbol(")"):
                    raise self.error(self.peek(), f"expected ')', found {self.found(self.peek())}")
            else:
                node = Not(self.not_expr())
            self.depth -= 1
            return node
        return self.comparison()

    def key(self) -> Key:
        token = self.advance()
        if token.kind == "name":
            entity = _ENTITIES.get(token.prefix.lower())
            if entity is None:
                raise self.error(token, self.unknown_entity(token))
            name = str(token.value)
            if not name:
                raise self.error(token, f"empty key after {token.prefix + '.'!r}")
            if entity == "attribute":
                return self.attribute(token, name)
            if entity == "tag" and name == RUN_NAME_TAG:
                return Key("attribute", "run_name", token.source)
            return Key(entity, name, token.source)
        if token.kind in ("backtick", "dquoted") and str(token.value).lower() in _BARE_ATTRIBUTES:
            return self.attribute(token, str(token.value))
        if token.kind == "word" and token.source.lower() in _BARE_ATTRIBUTES:
            return self.attribute(token, token.source)
        if token.kind == "word" and token.source.lower() not in _KEYWORDS | _SPECIAL_NUMBERS:
            word = token.source if len(token.source) <= 40 else "<key>"
            raise self.error(
                token,
                f"unknown attribute {_shown(token.source)}: a logged key needs its entity, "
                f"e.g. metrics.{word}, "
                f"params.{word} or tags.{word}; without one only "
                f"{', '.join(_BARE_ATTRIBUTES[:-1])} are accepted",
            )
        raise self.error(token, f"expected a key, found {self.found(token)}; {_VALID_KEYS}")

    def attribute(self, token: Token, name: str) -> Key:
        lowered = name.lower()
        lowered = _ATTRIBUTE_ALIASES.get(lowered, lowered)
        if lowered not in ATTRIBUTES:
            raise self.error(
                token,
                f"unknown attribute {_shown(name)}; attributes are {', '.join(ATTRIBUTES)} "
                "(also created for start_time, `Run name` for run_name, user for user_id)",
            )
        return Key("attribute", lowered, token.source)

    def unknown_entity(self, token: Token) -> str:
        if token.prefix.lower() in ("dataset", "datasets"):
            # Refused rather than matching no run: the filter could never mean anything here.
            return (
                f"{_shown(token.source)}: nbtrack does not record dataset inputs, so it cannot "
                "filter on them; log what identifies a dataset as a param or tag and filter on "
                "that"
            )
        return f"unknown entity {_shown(token.prefix)} in {_shown(token.source)}; " + _VALID_KEYS

    def value(self) -> tuple[str | float, Token]:
        token = self.advance()
        if token.kind in ("string", "dquoted", "number"):
            return token.value, token
        if token.kind == "word" and token.source.lower() in _SPECIAL_NUMBERS:
            return float(token.source), token
        if token.kind == "word" and token.source.lower() == "null":
            raise self.error(token, "compare with NULL using IS NULL or IS NOT NULL")
        if token.kind == "backtick":
            raise self.error(token, "backticks quote keys: put text values in single quotes")
        if token.kind in ("word", "name"):
            raise self.error(
                token,
                f"unquoted text {_shown(token.source)}: put text in single quotes, e.g. 'adam'",
            )
        raise self.error(token, f"expected a value ('text' or a number), found {self.found(token)}")

    def comparison(self) -> Compare:
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise self.error(
                self.peek(),
                f"a filter holds at most {MAX_COMPARISONS} comparisons; test many values of "
                "one key with a single IN (...) or NOT IN (...)",
            )
        key = self.key()
        if self.keyword("is"):
            op = "IS NOT NULL" if self.keyword("not") else "IS NULL"
            if not self.keyword("null"):
                raise self.error(self.peek(), f"expected NULL, found {self.found(self.peek())}")
            return Compare(key, op)
        negated = "NOT " if self.keyword("not") else ""
        operator = self.peek()
        if self.keyword("in"):
            return self.checked(key, operator, negated + "IN", self.value_list())
        for word in ("like", "ilike"):
            if self.keyword(word):
                return self.checked(key, operator, negated + word.upper(), [self.value()])
        if negated:
            raise self.error(
                operator, f"expected IN, LIKE or ILIKE after NOT, found {self.found(operator)}"
            )
        self.advance()
        if operator.kind != "symbol" or operator.source not in _OPERATORS:
            raise self.error(
                operator,
                f"expected an operator after {_shown(key.source)} (=, !=, <, <=, >, >=, LIKE, "
                f"ILIKE, IN, NOT IN, IS NULL, IS NOT NULL), found {self.found(operator)}",
            )
        return self.checked(key, operator, _OPERATORS[operator.source], [self.value()])

    def value_list(self) -> list[tuple[str | float, Token]]:
        if not self.symbol("("):
            raise self.error(self.peek(), f"expected '(' after IN, found {self.found(self.peek())}")
        values = [self.value()]
        while self.symbol(","):
            values.append(self.value())
        if not self.symbol(")"):
            raise self.error(self.peek(), f"expected ',' or ')', found {self.found(self.peek())}")
        return values

    def checked(
        self, key: Key, operator: Token, op: str, values: list[tuple[str | float, Token]]
    ) -> Compare:
        """Refuse, with the culprit under the caret, comparisons that could only surprise."""
        texts = [token for value, token in values if isinstance(value, str)]
        numbers = [token for value, token in values if not isinstance(value, str)]
        numeric = key.entity == "metric" or _is_time(key)
        if "LIKE" in op and (numbers or numeric):
            culprit = numbers[0] if numbers else operator
            raise self.error(
                culprit, f"{op} takes a quoted pattern and works on text, not {_shown(key.source)}"
            )
        if numeric and texts:
            raise self.error(
                texts[0],
                f"{_shown(key.source)} is a number"
                + (" (milliseconds since the epoch)" if _is_time(key) else "")
                + f": compare it with a number, not the text {texts[0].source}",
            )
        if key.entity != "param" and not numeric and numbers:
            raise self.error(
                numbers[0],
                f"{_shown(key.source)} is text: quote the value, "
                f"e.g. {key.source} = '{numbers[0].source}'",
            )
        if texts and numbers:
            raise self.error(
                numbers[0], "an IN list holds either quoted texts or numbers, not both"
            )
        if op in ORDERING and texts:
            # As in MLflow: text in that order would put '10' before '9'.
            hint = (
                f"compare it with an unquoted number instead (e.g. {key.source} > 0.5), which "
                "compares the values that read as numbers"
                if key.entity == "param"
                else "text compares with =, !=, LIKE, ILIKE, IN or NOT IN"
            )
            raise self.error(
                operator, f"{op} compares numbers, not the text {texts[0].source}: {hint}"
            )
        if op in ORDERING and any(
            isinstance(value, float) and math.isnan(value) for value, _ in values
        ):
            raise self.error(
                operator, "NaN is neither smaller nor larger than anything: use = or !="
            )
        return Compare(key, op, tuple(value for value, _ in values))

    # order_item := key [ASC | DESC]  ("," order_item)*
    def order_items(self) -> list[tuple[Key, bool]]:
        items: list[tuple[Key, bool]] = []
        while True:
            key = self.key()
            descending = self.keyword("desc")
            if not descending:
                self.keyword("asc")
            items.append((key, descending))
            if not self.symbol(","):
                self.end("ASC, DESC, ',' or the end of the item")
                return items


def compile_filter(text: str | None) -> SqlFragment:
    """Compile a filter string into a boolean SQL expression over ``runs r``.

    Examples
    --------
    >>> compile_filter("metrics.acc > 0.9 or params.lr = '0.1'").params
    ['acc', 0.9, 'lr', '0.1']
    """
    if text is None:
        return SqlFragment("TRUE", [])
    if not isinstance(text, str):
        raise InvalidValueError(
            f'a filter is a string such as "metrics.acc > 0.9", got {shown(text)}'
        )
    if not text.strip():
        return SqlFragment("TRUE", [])
    params: list[object] = []
    sql = emit(_Parser(text, "filter").filter(), params)
    return SqlFragment(sql, params)


def compile_order_by(items: str | Sequence[str] | None) -> SqlFragment:
    """Compile ``"metrics.acc DESC"``-style items into ORDER BY expressions (without ORDER BY).

    Newest first by default; ties are broken by start time (newest first), then run id.

    Examples
    --------
    >>> compile_order_by(["metrics.acc DESC", "run_name"]).sql.endswith("r.run_id")
    True
    """
    if items is None or (isinstance(items, str) and not items.strip()):
        items = []
    elif isinstance(items, str):
        items = [items]
    elif not isinstance(items, Sequence):
        raise InvalidValueError(
            f"order_by is a list of strings like 'metrics.acc DESC', got {shown(items)}"
        )
    terms: list[str] = []
    params: list[object] = []
    by_start_time = False
    parsed: list[tuple[Key, bool]] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InvalidValueError(
                f"order_by item {shown(item)} is not accepted: use '<entity>.<key> [ASC|DESC]', "
                "e.g. 'metrics.acc DESC', 'params.lr' or 'start_time'"
            )
        parsed += _Parser(item, f"order_by item {shown(item)}").order_items()
        if len(parsed) > MAX_ORDER_ITEMS:
            raise InvalidValueError(
                f"order_by has more than {MAX_ORDER_ITEMS} items; it takes at most "
                f"{MAX_ORDER_ITEMS} items"
            )
    seen: set[tuple[str, str]] = set()
    for key, descending in parsed:
        if (key.entity, key.name) in seen:
            # As in MLflow: the second item could never change the order.
            raise InvalidValueError(
                f"order_by names {key.source!r} twice (or two names of one key): give each key once"
            )
        seen.add((key.entity, key.name))
        terms += order_terms(key, descending, params)
        by_start_time = by_start_time or (_is_time(key) and key.name == "start_time")
    if not by_start_time:
        terms.append("r.start_time DESC")
    terms.append("r.run_id")
    return SqlFragment(", ".join(terms), params)
