"""Filter and order_by strings cut into tokens, and the syntax error every stage raises:
the problem, then the text with a caret under the culprit."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from nbtrack.errors import InvalidValueError

__all__ = ["Token", "syntax_error", "tokenize"]


_WORD = re.compile(r"[^\W\d][\w\-./:]*")
_KEY = re.compile(r"[\w\-./:]*")
_NUMBER = re.compile(
    r"[-+](?i:infinity|inf|nan)(?![\w.])|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
)
_SYMBOL = re.compile(r"<=|>=|<>|!=|==|[=<>(),]")
_QUOTE_KINDS = {"'": "string", '"': "dquoted", "`": "backtick"}


@dataclass(frozen=True)
class Token:
    kind: str  # word, name, number, string, dquoted, backtick, symbol, end
    source: str  # as written, for messages
    pos: int
    value: str | float = ""  # a quoted token's text, a number, a name's key
    prefix: str = ""  # a name's entity: the part before its first dot


def syntax_error(text: str, pos: int, what: str, problem: str) -> InvalidValueError:
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
    raise syntax_error(
        text, start, what, f"unterminated {quote}...{quote}: add the closing {quote}"
    )


def _read_key(text: str, pos: int, what: str) -> tuple[str, int]:
    """The key after an entity's dot: quoted in backticks or double quotes, or bare."""
    if text[pos : pos + 1] in ("`", '"'):
        return _read_quoted(text, pos, what)
    key = _KEY.match(text, pos)
    assert key is not None  # the pattern matches the empty string
    return key.group(), key.end()


def _unexpected(text: str, pos: int) -> str:
    if text.startswith("--", pos) or text.startswith("/*", pos):
        return "comments are not part of the syntax"
    if text[pos] == ";":
        return "';' is not accepted: a filter is one expression (join conditions with and / or)"
    return f"unexpected {text[pos]!r}"


def tokenize(text: str, what: str) -> list[Token]:
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        # DuckDB cannot take such text as a parameter; no snippet, as it cannot be printed.
        raise InvalidValueError(
            f"invalid {what} at position {exc.start + 1}: it is not valid unicode text "
            f"({exc.reason})"
        ) from None
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif char in _QUOTE_KINDS:
            content, end = _read_quoted(text, pos, what)
            if char == "`" and text.startswith(".", end):
                # A backticked entity, as MLflow takes it: `metrics`.acc, `tags`.`a b`.
                key, end = _read_key(text, end + 1, what)
                tokens.append(Token("name", text[pos:end], pos, key, content))
            else:
                tokens.append(Token(_QUOTE_KINDS[char], text[pos:end], pos, content))
            pos = end
        elif word := _WORD.match(text, pos):
            end = word.end()
            prefix, dot, key = word.group().partition(".")
            if dot and not key:
                key, end = _read_key(text, end, what)
            kind = "name" if dot else "word"
            tokens.append(Token(kind, text[pos:end], pos, key, prefix))
            pos = end
        elif number := _NUMBER.match(text, pos):
            if re.match(r"[\w.]", text[number.end() : number.end() + 1]):
                raise syntax_error(text, pos, what, "malformed number")
            value = float(number.group())
            if math.isinf(value) and number.group()[-1].isdigit():
                # 1e400 would silently become inf: a different filter from the one written.
                raise syntax_error(
                    text,
                    pos,
                    what,
                    f"{number.group()[:40]} is beyond the range of float64 (±1.8e308), in "
                    "which numbers are compared; write inf or -inf for infinity",
                )
            tokens.append(Token("number", number.group(), pos, value))
            pos = number.end()
        elif symbol := _SYMBOL.match(text, pos):
            tokens.append(Token("symbol", symbol.group(), pos))
            pos = symbol.end()
        else:
            raise syntax_error(text, pos, what, _unexpected(text, pos))
    tokens.append(Token("end", "", len(text)))
    return tokens
