"""``diff``: what changed between two runs: their code, their params, their latest metrics."""

from __future__ import annotations

import difflib
import enum
import html
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeAlias, TypeVar

from nbtrack.entities import (
    CARD_STYLE,
    MONO_STYLE,
    Run,
    format_number,
    format_value,
    status_badge,
)
from nbtrack.errors import InvalidValueError

_V = TypeVar("_V")


class Missing(enum.Enum):
    """The side of a change where the key was never logged; shows as '—'."""

    MISSING = "—"

    def __repr__(self) -> str:
        return "—"

    def __str__(self) -> str:
        return "—"


MISSING: Final = Missing.MISSING


class HasIdAndSnapshot(Protocol):
    """An open run (``ActiveRun``): anything with an ``id`` and a fresh ``snapshot()``."""

    @property
    def id(self) -> str: ...

    def snapshot(self) -> Run: ...


RunLike: TypeAlias = "str | Run | HasIdAndSnapshot"
Change: TypeAlias = "tuple[Any, Any]"


def diff(run_a: RunLike, run_b: RunLike) -> RunDiff:
    """The differences between two runs, which Jupyter shows as a colour diff.

    Each run is a run id, a ``Run`` or an open run. ``str()`` of the result is a plain-text
    unified diff followed by the param and metric changes.

    Examples
    --------
    >>> d = nbtrack.diff(baseline.id, tuned)  # doctest: +SKIP
    >>> d.param_changes  # doctest: +SKIP
    {'lr': (0.1, 0.01)}
    """
    a, b = _resolve(run_a, "run_a"), _resolve(run_b, "run_b")
    code = difflib.unified_diff(
        (a.source or "").splitlines(),
        (b.source or "").splitlines(),
        fromfile=_label(a),
        tofile=_label(b),
        lineterm="",
    )
    return RunDiff(
        run_a=a,
        run_b=b,
        code_lines=tuple(code),
        param_changes=_changes(a.params, b.params, _same_param),
        metric_changes=_changes(a.metrics, b.metrics, _same_metric),
    )


@dataclass(frozen=True)
class RunDiff:
    """Two runs and what differs between them.

    ``code_lines`` is a unified diff of their sources (empty when the code is the same);
    ``param_changes`` and ``metric_changes`` map each differing key to ``(a, b)``, with
    ``MISSING`` on the side that never logged it.
    """

    run_a: Run
    run_b: Run
    code_lines: tuple[str, ...]
    param_changes: dict[str, Change]
    metric_changes: dict[str, Change]

    @property
    def same_code(self) -> bool:
        return not self.code_lines

    @property
    def same_params(self) -> bool:
        return not self.param_changes

    @property
    def same_metrics(self) -> bool:
        return not self.metric_changes

    def __repr__(self) -> str:
        return (
            f"<RunDiff {self.run_a.name!r} → {self.run_b.name!r}: "
            f"{_changed_line_count(self.code_lines)} code lines, "
            f"{len(self.param_changes)} params, {len(self.metric_changes)} metrics differ>"
        )

    def __str__(self) -> str:
        a, b = self.run_a, self.run_b
        return "\n".join(
            [
                # A blank line ends the code diff, so a terminal reader sees where it stops.
                "\n".join([*self.code_lines, ""]) if self.code_lines else self._code_note(),
                _changes_text("params", self.param_changes, a.params, b.params, format_value),
                _changes_text("metrics", self.metric_changes, a.metrics, b.metrics, format_number),
            ]
        )

    def _code_note(self) -> str:
        if self.run_a.source or self.run_b.source:
            return "same code"
        return "no code recorded for either run"

    def _repr_html_(self) -> str:
        a, b = self.run_a, self.run_b
        names = (a.name, b.name)
        heading = f'{_run_html(a)}<span style="opacity:.6">→</span>{_run_html(b)}'
        sections = [
            f'<div style="display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 8px">'
            f"{heading}</div>",
            _code_html(self.code_lines) if self.code_lines else _note(self._code_note()),
            _table_html("params", self.param_changes, a.params, b.params, format_value, names),
            _table_html("metrics", self.metric_changes, a.metrics, b.metrics, format_number, names),
        ]
        return f'<div style="{CARD_STYLE}">{"".join(sections)}</div>'


# -- building the diff ----------------------------------------------------------------------------


def _resolve(value: object, what: str) -> Run:
    from nbtrack.tracking.fluent import get_run

    if isinstance(value, Run):
        return value
    if isinstance(value, str):
        return get_run(value)
    snapshot = getattr(value, "snapshot", None)
    if callable(snapshot) and isinstance(run := snapshot(), Run):
        return run
    raise InvalidValueError(
        f"diff({what}=...) takes a run id, a Run or an open run; "
        f"got {type(value).__name__}: {value!r}"
    )


def _label(run: Run) -> str:
    label = f"run {run.name!r} ({run.id[:8]})"
    return label if run.source else f"{label}: no code recorded"


def _changes(
    a: Mapping[str, _V], b: Mapping[str, _V], same: Callable[[_V, _V], bool]
) -> dict[str, Change]:
    return {
        key: (a.get(key, MISSING), b.get(key, MISSING))
        for key in sorted({**a, **b})
        if key not in a or key not in b or not same(a[key], b[key])
    }


def _same_param(a: Any, b: Any) -> bool:
    # By the JSON the store keeps, not by ==: 1, 1.0 and True are equal in Python but were
    # logged as different values.
    return _encoded(a) == _encoded(b)


def _encoded(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr, allow_nan=True)


def _same_metric(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _changed_line_count(lines: tuple[str, ...]) -> int:
    return sum(1 for line in lines[2:] if line[:1] in "+-")


# -- the text view --------------------------------------------------------------------------------

Values: TypeAlias = Mapping[str, Any]


def _headline(kind: str, changes: Mapping[str, Change], a: Values, b: Values) -> str:
    if not a and not b:
        return f"no {kind} logged"
    if not changes:
        return f"same {kind}"
    same = len({**a, **b}) - len(changes)
    return f"{kind}: {len(changes)} changed" + (f", {same} the same" if same else "")


def _changes_text(
    kind: str, changes: Mapping[str, Change], a: Values, b: Values, fmt: Callable[[Any], str]
) -> str:
    lines = [_headline(kind, changes, a, b)]
    width = min(max((len(key) for key in changes), default=0), 30)
    for key, (old, new) in changes.items():
        line = f"  {key:<{width}}  {_text(old, fmt)} → {_text(new, fmt)}"
        delta = _delta(old, new) if kind == "metrics" else ""
        lines.append(f"{line}  ({delta})" if delta else line)
    return "\n".join(lines)


def _text(value: Any, fmt: Callable[[Any], str]) -> str:
    return "—" if value is MISSING else fmt(value)


def _delta(old: Any, new: Any) -> str:
    if old is MISSING or new is MISSING or not math.isfinite(new - old):
        return ""
    return f"{new - old:+.4g}"


# -- the HTML view --------------------------------------------------------------------------------
# Styled like the Run card in entities.py: inline styles, translucent mid-tone colours.

_LINE_STYLES: Final = {
    "+": "background:rgba(46,160,67,.18)",
    "-": "background:rgba(229,57,53,.18)",
    "@": "color:rgb(33,150,243);opacity:.85",
    " ": "opacity:.6",
}
_HEADER_STYLE = "font-weight:600;opacity:.75"
_CHANGED = "background:rgba(255,193,7,.22)"
_CELL = "border:none;padding:1px 14px 1px 4px;vertical-align:top;text-align:left"


def _run_html(run: Run) -> str:
    e = html.escape
    return (
        f"<strong>{e(run.name)}</strong> {status_badge(run.status)} "
        f'<span style="{MONO_STYLE};font-size:.8em;opacity:.55">{e(run.id[:8])}</span>'
    )


def _note(text: str) -> str:
    return f'<div style="opacity:.6;margin-top:6px">{html.escape(text)}</div>'


def _code_html(lines: tuple[str, ...]) -> str:
    rows = "".join(
        f'<div style="{_HEADER_STYLE if n < 2 else _LINE_STYLES.get(line[:1], "")};'
        f'padding:0 6px">{html.escape(line) or " "}</div>'
        for n, line in enumerate(lines)
    )
    return (
        f'<div style="{MONO_STYLE};font-size:12px;white-space:pre;overflow-x:auto;margin-top:6px;'
        f'border:1px solid rgba(128,128,128,.25);border-radius:4px;padding:2px 0">{rows}</div>'
    )


def _table_html(
    kind: str,
    changes: Mapping[str, Change],
    a: Values,
    b: Values,
    fmt: Callable[[Any], str],
    names: tuple[str, str],
) -> str:
    # Every key, so a changed value is seen next to the ones that stayed; changed cells marked.
    headline = _note(_headline(kind, changes, a, b))
    if not changes:
        return headline
    e = html.escape
    deltas = kind == "metrics"
    titles = ["", names[0], names[1]] + (["change"] if deltas else [])
    head = "".join(f'<th style="{_CELL};font-weight:600;opacity:.6">{e(t)}</th>' for t in titles)
    rows = []
    for key in sorted({**a, **b}):
        old, new = a.get(key, MISSING), b.get(key, MISSING)
        look = _CHANGED if key in changes else "opacity:.6"
        cells = [f'<td style="{_CELL};opacity:.75">{e(key)}</td>']
        cells += [
            f'<td style="{_CELL};{MONO_STYLE};{look}">{e(_text(v, fmt))}</td>' for v in (old, new)
        ]
        if deltas:
            cells.append(f'<td style="{_CELL};{MONO_STYLE};opacity:.75">{_delta(old, new)}</td>')
        rows.append(f'<tr style="background:transparent">{"".join(cells)}</tr>')
    return (
        f'{headline}<table style="border-collapse:collapse;margin:2px 0 0;font-size:inherit">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
