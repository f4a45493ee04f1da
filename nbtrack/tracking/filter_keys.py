"""The logged keys a filter names, and what to say about those no run has.

A filter over a key nobody logged is valid and matches nothing (``metrics.auc > 0.9`` when the
metric is ``roc_auc``): the run table says which key that is and which keys it may have meant,
instead of a quiet "0 runs".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from nbtrack.errors import InvalidValueError
from nbtrack.tracking.filter_tokens import tokenize

# The entities a filter may name (as the grammar spells them) and their column prefixes.
_PREFIXES = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
}
HIDDEN_TAGS = "tags.nbtrack."
MAX_LISTED = 8


def keys_named(text: str | None) -> list[str]:
    """The columns (``metrics.acc``, ``params.lr``, ``tags.team``) a filter names, in order.

    Examples
    --------
    >>> keys_named("metric.acc > 0.9 or params.`my lr` = '0.1' and status = 'FINISHED'")
    ['metrics.acc', 'params.my lr']
    """
    if not text:
        return []
    try:
        tokens = tokenize(text, "filter")
    except InvalidValueError:
        return []
    columns = (
        f"{_PREFIXES[token.prefix.lower()]}.{token.value}"
        for token in tokens
        if token.kind == "name" and token.prefix.lower() in _PREFIXES and token.value
    )
    return list(dict.fromkeys(columns))


def unknown_key_note(missing: Iterable[str], present: Iterable[str], where: str) -> str | None:
    """One line on the ``missing`` keys, with near misses among the ``present`` columns.

    Examples
    --------
    >>> unknown_key_note(["metrics.acu"], ["metrics.acc", "metrics.auc"], "experiment 'x'")
    "no run in experiment 'x' has metrics.acu (did you mean metrics.auc or metrics.acc?)"
    """
    logged = [c for c in present if c.split(".", 1)[0] in _PREFIXES and "." in c]
    logged = [c for c in logged if not c.startswith(HIDDEN_TAGS)]
    parts = [_about(column, logged) for column in missing]
    return f"no run in {where} has " + "; nor ".join(parts) if parts else None


def _about(column: str, logged: list[str]) -> str:
    entity, name = column.split(".", 1)
    # The same name under another entity (metrics.C for the param C), then similar names.
    same = [c for c in logged if c.split(".", 1)[1].lower() == name.lower() and c != column]
    by_name: dict[str, list[str]] = {}
    for c in logged:
        by_name.setdefault(c.split(".", 1)[1].lower(), []).append(c)
    close = difflib.get_close_matches(name.lower(), list(by_name), n=3, cutoff=0.6)
    # Within a name, the column of the entity asked for comes first.
    similar = [c for n in close for c in sorted(by_name[n], key=lambda c: not c.startswith(entity))]
    guesses = list(dict.fromkeys([*same, *similar]))[:3]
    if guesses:
        return f"{column} (did you mean {' or '.join(guesses)}?)"
    ours = sorted(c.split(".", 1)[1] for c in logged if c.startswith(f"{entity}."))
    if not ours:
        return f"{column} (no run here has any {entity})"
    shown = ", ".join(ours[:MAX_LISTED]) + (", …" if len(ours) > MAX_LISTED else "")
    return f"{column} ({entity} logged: {shown})"
