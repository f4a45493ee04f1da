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
    key        := entity "." name | bare attribute
    value      := 'text' | "text" | number | NaN | inf | -inf
    order_item := key ["ASC" | "DESC"]

A filter compiles to a boolean expression over a ``runs`` row aliased ``r``. Its SQL text is
made only of the fixed pieces in this module; every key and value the user wrote is bound
as a parameter, so no input can change the shape of the query.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from nbtrack.errors import InvalidValueError

__all__ = ["SqlFragment", "compile_filter", "compile_order_by"]


@dataclass(frozen=True)
class SqlFragment:
    """SQL text whose only placeholders are ``?``, and the values to bind to them, in order."""

    sql: str
    params: list[object]


_ENTITIES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
}
# attribute -> its column; the SQL text only ever holds these fixed column names
_ATTRIBUTES = {
    "status": "r.status",
    "run_name": "r.run_name",
    "run_id": "r.run_id",
    "start_time": "r.start_time",
    "end_time": "r.end_time",
    "user": "r.user_id",
    "user_id": "r.user_id",
    "source_name": "r.source_name",
    "git_commit": "r.git_commit",
    "parent_run_id": "r.parent_run_id",
    "experiment_id": "r.experiment_id",
}
_BARE_ATTRIBUTES = ("status", "run_name", "run_id", "start_time", "end_time")
_TIMES = {"start_time", "end_time"}
_TABLES = {"metric": ("latest_metrics", "m"), "param": ("params", "p"), "tag": ("tags", "t")}
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
_ORDERING = {"<", "<=", ">", ">="}
_MAX_DEPTH = 100
_VALID_KEYS = (
    "keys look like metrics.acc, params.lr, tags.team or attributes.status "
    "(also metric., param., tag., attribute., attr.)"
)


# -- tokens -----------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d][\w\-./:]*")
_NUMBER = re.compile(
    r"[-+](?i:infinity|inf|nan)(?![\w.])|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
)
_SYMBOL = re.compile(r"<=|>=|<>|!=|==|[=<>(),]")
_QUOTE_KINDS = {"'": "string", '"': "dquoted", "`": "backtick"}


@dataclass(frozen=True)
class _Token:
    kind: str  # word, name, number, string, dquoted, backtick, symbol, end
    source: str  # as written, for messages
    pos: int
    value: str | float = ""  # a quoted token's text, a number, a name's key
    prefix: str = ""  # a name's entity: the part before its first dot


def _syntax_error(text: str, pos: int, what: str, problem: str) -> InvalidValueError:
    # Whitespace becomes spaces so the caret stays under the character on one line.
    shown = re.sub(r"\s", " ", text)
    start = max(0, pos - 60)
    snippet = ("..." if start else "") + shown[start : pos + 60]
    if pos + 60 < len(shown):
        snippet += "..."
    caret = " " * (pos - start + (3 if start else 0)) + "^"
    return InvalidValueError(
        f"invalid {what} at position {pos + 1}: {problem}\n  {snippet}\n  {caret}"
    )


def _read_quoted(text: str, start: int, what: str) -> tuple[str, int]:
    """The text between a quote and its partner (a doubled quote stands for itself)."""
    quote = text[start]
    parts: list[str] = []
    pos = start + 1
    while (end := text.find(quote, pos)) >= 0:
        parts.append(text[pos:end])
        if not text.startswith(quote, end + 1):
            return "".join(parts), end + 1
        parts.append(quote)
        pos = end + 2
    raise _syntax_error(
        text, start, what, f"unterminated {quote}...{quote}: add the closing {quote}"
    )


def _shown(text: str) -> str:
    """Text the user wrote, quoted and cut short enough for one line of a message."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _unexpected(text: str, pos: int) -> str:
    if text.startswith("--", pos) or text.startswith("/*", pos):
        return "comments are not part of the syntax"
    if text[pos] == ";":
        return "';' is not accepted: a filter is one expression (join conditions with and / or)"
    return f"unexpected {text[pos]!r}"


def _tokenize(text: str, what: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif char in _QUOTE_KINDS:
            content, end = _read_quoted(text, pos, what)
            tokens.append(_Token(_QUOTE_KINDS[char], text[pos:end], pos, content))
            pos = end
        elif word := _WORD.match(text, pos):
            end = word.end()
            prefix, dot, key = word.group().partition(".")
            if dot and not key and text[end : end + 1] in ("`", '"'):
                key, end = _read_quoted(text, end, what)
            kind = "name" if dot else "word"
            tokens.append(_Token(kind, text[pos:end], pos, key, prefix))
            pos = end
        elif number := _NUMBER.match(text, pos):
            if re.match(r"[\w.]", text[number.end() : number.end() + 1]):
                raise _syntax_error(text, pos, what, "malformed number")
            tokens.append(_Token("number", number.group(), pos, float(number.group())))
            pos = number.end()
        elif symbol := _SYMBOL.match(text, pos):
            tokens.append(_Token("symbol", symbol.group(), pos))
            pos = symbol.end()
        else:
            raise _syntax_error(text, pos, what, _unexpected(text, pos))
    tokens.append(_Token("end", "", len(text)))
    return tokens


# -- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    entity: str  # metric, param, tag or attribute
    name: str  # the key as logged; for an attribute its name in _ATTRIBUTES
    source: str


@dataclass(frozen=True)
class _Compare:
    key: _Key
    op: str  # an SQL operator from this module: =, <>, LIKE, NOT IN, IS NULL, ...
    values: tuple[str | float, ...] = ()


@dataclass(frozen=True)
class _Junction:
    op: str  # AND or OR
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Not:
    item: _Node


_Node: TypeAlias = _Compare | _Junction | _Not


def _is_time(key: _Key) -> bool:
    return key.entity == "attribute" and key.name in _TIMES


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.tokens = _tokenize(text, what)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def error(self, token: _Token, problem: str) -> InvalidValueError:
        return _syntax_error(self.text, token.pos, self.what, problem)

    def found(self, token: _Token) -> str:
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
    def filter(self) -> _Node:
        node = self.or_expr()
        self.end("'and', 'or' or the end of the filter")
        return node

    def or_expr(self) -> _Node:
        items = [self.and_expr()]
        while self.keyword("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else _Junction("OR", tuple(items))

    def and_expr(self) -> _Node:
        items = [self.not_expr()]
        while self.keyword("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else _Junction("AND", tuple(items))

    def not_expr(self) -> _Node:
        token = self.peek()
        if self.at_keyword("not") or (token.kind == "symbol" and token.source == "("):
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.error(token, f"nested deeper than {_MAX_DEPTH} levels")
            self.advance()
            if token.source == "(":
                node = self.or_expr()
                if not self.symbol(")"):
                    raise self.error(self.peek(), f"expected ')', found {self.found(self.peek())}")
            else:
                node = _Not(self.not_expr())
            self.depth -= 1
            return node
        return self.comparison()

    def key(self) -> _Key:
        token = self.advance()
        if token.kind == "name":
            entity = _ENTITIES.get(token.prefix.lower())
            if entity is None:
                raise self.error(
                    token,
                    f"unknown entity {_shown(token.prefix)} in {_shown(token.source)}; "
                    + _VALID_KEYS,
                )
            name = str(token.value)
            if not name:
                raise self.error(token, f"empty key after {token.prefix + '.'!r}")
            if entity == "attribute":
                if name.lower() not in _ATTRIBUTES:
                    raise self.error(
                        token,
                        f"unknown attribute {_shown(name)}; "
                        f"attributes are {', '.join(_ATTRIBUTES)}",
                    )
                name = name.lower()
            return _Key(entity, name, token.source)
        if token.kind == "word" and token.source.lower() in _BARE_ATTRIBUTES:
            return _Key("attribute", token.source.lower(), token.source)
        if token.kind == "word" and token.source.lower() not in _KEYWORDS | _SPECIAL_NUMBERS:
            word = token.source if len(token.source) <= 40 else "<key>"
            raise self.error(
                token,
                f"unknown attribute {_shown(token.source)}: a logged key needs its entity, "
                f"e.g. metrics.{word}, "
                f"params.{word} or tags.{word}; without one only {', '.join(_BARE_ATTRIBUTES)} "
                "are accepted",
            )
        raise self.error(token, f"expected a key, found {self.found(token)}; {_VALID_KEYS}")

    def value(self) -> tuple[str | float, _Token]:
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

    def comparison(self) -> _Compare:
        key = self.key()
        if self.keyword("is"):
            op = "IS NOT NULL" if self.keyword("not") else "IS NULL"
            if not self.keyword("null"):
                raise self.error(self.peek(), f"expected NULL, found {self.found(self.peek())}")
            return _Compare(key, op)
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

    def value_list(self) -> list[tuple[str | float, _Token]]:
        if not self.symbol("("):
            raise self.error(self.peek(), f"expected '(' after IN, found {self.found(self.peek())}")
        values = [self.value()]
        while self.symbol(","):
            values.append(self.value())
        if not self.symbol(")"):
            raise self.error(self.peek(), f"expected ',' or ')', found {self.found(self.peek())}")
        return values

    def checked(
        self, key: _Key, operator: _Token, op: str, values: list[tuple[str | float, _Token]]
    ) -> _Compare:
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
        if op in _ORDERING and any(
            isinstance(value, float) and math.isnan(value) for value, _ in values
        ):
            raise self.error(
                operator, "NaN is neither smaller nor larger than anything: use = or !="
            )
        return _Compare(key, op, tuple(value for value, _ in values))

    # order_item := key [ASC | DESC]  ("," order_item)*
    def order_items(self) -> list[tuple[_Key, bool]]:
        items: list[tuple[_Key, bool]] = []
        while True:
            key = self.key()
            descending = self.keyword("desc")
            if not descending:
                self.keyword("asc")
            items.append((key, descending))
            if not self.symbol(","):
                self.end("ASC, DESC, ',' or the end of the item")
                return items


# -- SQL --------------------------------------------------------------------------------------


def _lookup(entity: str, expression: str, condition: str = "") -> str:
    table, alias = _TABLES[entity]
    # Every piece is a constant of this module; the key and values are the ? placeholders.
    return (
        f"SELECT {expression} FROM {table} {alias} "  # noqa: S608
        f"WHERE {alias}.run_id = r.run_id AND {alias}.key = ?{condition}"
    )


def _condition(subject: str, compare: _Compare, params: list[object], can_be_nan: bool) -> str:
    params.extend(compare.values)
    op = compare.op
    if op in ("IN", "NOT IN"):
        return f"{subject} {op} ({', '.join('?' for _ in compare.values)})"
    if op.startswith("NOT "):
        return f"NOT ({subject} {op[4:]} ?)"
    condition = f"{subject} {op} ?"
    # DuckDB sorts NaN above every number; a diverged run should not pass `loss > 0.5`.
    if op in _ORDERING and can_be_nan:
        return f"NOT isnan({subject}) AND {condition}"
    return condition


def _emit(node: _Node, params: list[object]) -> str:
    if isinstance(node, _Junction):
        return "(" + f" {node.op} ".join(_emit(item, params) for item in node.items) + ")"
    if isinstance(node, _Not):
        return f"(NOT {_emit(node.item, params)})"
    key = node.key
    if key.entity == "attribute":
        column = _ATTRIBUTES[key.name]
        if not node.values:
            return f"({column} {node.op})"
        subject = f"({column} // 1000)" if key.name in _TIMES else column
        # A NULL column matches nothing, and FALSE (not NULL) keeps NOT its exact complement.
        return f"COALESCE({_condition(subject, node, params, can_be_nan=False)}, FALSE)"
    params.append(key.name)
    if not node.values:
        exists = f"EXISTS ({_lookup(key.entity, '1')})"
        return exists if node.op == "IS NOT NULL" else f"(NOT {exists})"
    alias = _TABLES[key.entity][1]
    numeric = not isinstance(node.values[0], str)
    subject = (
        f"TRY_CAST({alias}.value_json AS DOUBLE)"
        if key.entity == "param" and numeric
        else f"{alias}.value"
    )
    condition = _condition(subject, node, params, can_be_nan=numeric)
    return f"EXISTS ({_lookup(key.entity, '1', ' AND ' + condition)})"


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
        raise InvalidValueError(f'a filter is a string such as "metrics.acc > 0.9", got {text!r}')
    if not text.strip():
        return SqlFragment("TRUE", [])
    params: list[object] = []
    sql = _emit(_Parser(text, "filter").filter(), params)
    return SqlFragment(sql, params)


def _order_terms(key: _Key, descending: bool, params: list[object]) -> list[str]:
    direction = "DESC NULLS LAST" if descending else "ASC NULLS LAST"
    if key.entity == "attribute":
        return [f"{_ATTRIBUTES[key.name]} {direction}"]
    # max() keeps a duplicated key from turning the search into an error; NaN sorts with NULL.
    expressions = {
        "metric": ["max(NULLIF(m.value, CAST('NaN' AS DOUBLE)))"],
        # Numbers in numeric order first ('9' before '10'), then everything else by its text.
        "param": [
            "max(NULLIF(TRY_CAST(p.value_json AS DOUBLE), CAST('NaN' AS DOUBLE)))",
            "max(p.value)",
        ],
        "tag": ["max(t.value)"],
    }[key.entity]
    params.extend(key.name for _ in expressions)
    return [f"({_lookup(key.entity, expression)}) {direction}" for expression in expressions]


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
            f"order_by is a list of strings like 'metrics.acc DESC', got {items!r}"
        )
    terms: list[str] = []
    params: list[object] = []
    by_start_time = False
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InvalidValueError(
                f"order_by item {item!r} is not accepted: use '<entity>.<key> [ASC|DESC]', "
                "e.g. 'metrics.acc DESC', 'params.lr' or 'start_time'"
            )
        for key, descending in _Parser(item, f"order_by item {item!r}").order_items():
            terms += _order_terms(key, descending, params)
            by_start_time = by_start_time or (_is_time(key) and key.name == "start_time")
    if not by_start_time:
        terms.append("r.start_time DESC")
    terms.append("r.run_id")
    return SqlFragment(", ".join(terms), params)
