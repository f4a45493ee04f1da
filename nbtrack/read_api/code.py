"""A run's code as highlighted HTML, made on the server with pygments (no JavaScript)."""

from __future__ import annotations

import contextlib

HTML_CLASS = "nbt-code"


def highlight(source: str, source_name: str | None = None) -> str:
    """``source`` as HTML with one ``<span class=...>`` per token, lines numbered; Python unless
    ``source_name`` says otherwise. The styles come from ``style_sheet``."""
    from pygments import highlight as pygmentize
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer, get_lexer_for_filename
    from pygments.util import ClassNotFound

    lexer = PythonLexer()
    if source_name and not source_name.endswith(".ipynb"):
        with contextlib.suppress(ClassNotFound):
            lexer = get_lexer_for_filename(source_name, source)
    formatter = HtmlFormatter(cssclass=HTML_CLASS, linenos="inline", wrapcode=True)
    return str(pygmentize(source, lexer, formatter))


def style_sheet() -> str:
    """The CSS of the highlighted code's classes."""
    from pygments.formatters import HtmlFormatter

    return str(HtmlFormatter(cssclass=HTML_CLASS).get_style_defs(f".{HTML_CLASS}"))  # type: ignore[no-untyped-call]
