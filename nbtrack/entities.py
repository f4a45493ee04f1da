"""The things nbtrack records, as frozen values. No I/O happens here."""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

RUNNING: Final = "RUNNING"
FINISHED: Final = "FINISHED"
FAILED: Final = "FAILED"
KILLED: Final = "KILLED"
RUN_STATUSES: Final = (RUNNING, FINISHED, FAILED, KILLED)
END_STATUSES: Final = (FINISHED, FAILED, KILLED)


def from_micros(micros: int | None) -> dt.datetime | None:
    """A timezone-aware UTC datetime from microseconds since the epoch."""
    if micros is None:
        return None
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)


@dataclass(frozen=True)
class Experiment:
    """A named group of runs."""

    id: str
    name: str
    lifecycle_stage: str
    created_at: dt.datetime
    artifact_location: str

    @property
    def deleted(self) -> bool:
        return self.lifecycle_stage == "deleted"


@dataclass(frozen=True)
class Metric:
    """One logged point of a metric."""

    key: str
    value: float
    step: int
    timestamp: dt.datetime


@dataclass(frozen=True)
class RunSpan:
    """A stretch of time a run was active: from its start, or from a reopen, to the end that
    followed; ``end_time`` is None while the span is still open."""

    start_time: dt.datetime
    end_time: dt.datetime | None


@dataclass(frozen=True)
class ChildRun:
    """A run started inside another run, as its parent lists it."""

    id: str
    name: str
    status: str


@dataclass(frozen=True)
class Run:
    """A snapshot of one run as the store holds it.

    ``params`` keeps values as logged (numbers, strings, bools, lists); ``metrics`` holds the
    latest value of each key; ``tags`` are strings. ``spans`` are the stretches of time it was
    active (one per start or reopen), oldest first; ``children`` the runs started inside it,
    oldest first.
    """

    id: str
    name: str
    experiment_id: str
    status: str
    start_time: dt.datetime
    end_time: dt.datetime | None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    source_name: str | None = None
    git_commit: str | None = None
    error: str | None = None
    artifact_uri: str = ""
    parent_run_id: str | None = None
    user: str | None = None
    host: str | None = None
    spans: tuple[RunSpan, ...] = ()
    children: tuple[ChildRun, ...] = ()

    @property
    def duration(self) -> dt.timedelta | None:
        """The time the run's code ran: the sum of its spans, from its start and from each
        reopen to the end that followed. A run reopened an hour later to log a model does not
        count the hour in between. A span still open counts until now while the run is
        RUNNING. A run without spans (built by hand) counts from its start to its end."""
        if not self.spans:
            if self.end_time is not None:
                return self.end_time - self.start_time
            if self.status == RUNNING:
                return dt.datetime.now(dt.UTC) - self.start_time
            return None
        total = dt.timedelta(0)
        for span in self.spans:
            end = span.end_time
            if end is None:
                # An open span ends now while the run runs; in a run that ended without
                # closing it (a damaged store), at the run's end.
                end = dt.datetime.now(dt.UTC) if self.status == RUNNING else self.end_time
                if end is None:
                    return None
            total += max(end - span.start_time, dt.timedelta(0))
        return total

    def __repr__(self) -> str:
        return f"<Run {self.name!r} id={self.id} status={self.status}>"

    # Jupyter calls the two methods below on display, so they build strings and nothing else.

    def summary_text(self) -> str:
        """The run in a line (two for a FAILED run: its error), for consoles and text/plain.

        Examples
        --------
        >>> run.summary_text()  # doctest: +SKIP
        "run 'swift-otter-042' FINISHED in 1.2 s · lr=0.1 epochs=3 · acc=0.9512 loss=0.1201"
        """
        took = format_duration(self.duration)
        parts = [f"run {self.name!r} {self.status}"]
        if took:
            parts[0] += f" {'for' if self.status == RUNNING else 'in'} {took}"
        if self.params:
            parts.append(_first(f"{k}={format_value(v, 24)}" for k, v in self.params.items()))
        if self.metrics:
            parts.append(_first(f"{k}={format_number(v)}" for k, v in self.metrics.items()))
        if self.children:
            count = len(self.children)
            parts.append(f"{count} child run{'s' if count > 1 else ''}")
        text = " · ".join(parts)
        error = last_line(self.error) if self.status == FAILED else ""
        return f"{text}\n  {error}" if error else text

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's text/plain: the summary reads better in a console than the repr.
        printer.text(repr(self) if cycle else self.summary_text())

    def _repr_html_(self) -> str:
        e = html.escape
        parts = [_heading_html(self)]
        if self.status == FAILED and (error := last_line(self.error)):
            parts.append(f'<div style="{MONO_STYLE};color:rgb({_RED})">{e(error)}</div>')
        tables = _table("params", [(k, format_value(v)) for k, v in self.params.items()], "left")
        tables += _table("metrics", [(k, format_number(v)) for k, v in self.metrics.items()])
        if tables:
            parts.append(f'<div style="{_ROW};gap:4px 28px">{tables}</div>')
        chips = "".join(
            f'<span style="{_CHIP}">{e(key)}={e(format_value(value))}</span>'
            for key, value in self.tags.items()
            if not key.startswith(HIDDEN_TAG_PREFIX)
        )
        if chips:
            parts.append(f'<div style="{_ROW};gap:4px">{chips}</div>')
        if self.children:
            parts.append(_children_html(self.children))
        parts.append(f'<div style="{_ID}">{e(self.id)}</div>')
        return f'<div style="{CARD_STYLE}">{"".join(parts)}</div>'


# -- display helpers, shared with the diff view ---------------------------------------------------
# Inline styles only, so a saved notebook shows the same thing anywhere; mid-tone colours on
# translucent backgrounds stay readable in light and dark Jupyter themes alike.

_BLUE, _GREEN, _RED, _GREY = "33,150,243", "46,160,67", "229,57,53", "128,128,128"
STATUS_COLOURS: Final = {RUNNING: _BLUE, FINISHED: _GREEN, FAILED: _RED, KILLED: _GREY}
HIDDEN_TAG_PREFIX: Final = "nbtrack."
MONO_STYLE = "font-family:var(--jp-code-font-family,ui-monospace,SFMono-Regular,Menlo,monospace)"
CARD_STYLE = (
    "display:inline-block;max-width:100%;box-sizing:border-box;padding:8px 12px;"
    "border:1px solid rgba(128,128,128,.35);border-radius:6px;line-height:1.45;"
    "font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;text-align:left"
)
_ROW = "display:flex;flex-wrap:wrap;margin-top:6px"
_ID = f"{MONO_STYLE};font-size:.8em;opacity:.55;margin-top:6px"
_SHORT_ID = f"{MONO_STYLE};font-size:.8em;opacity:.55"
_CHIP = "background:rgba(128,128,128,.15);border-radius:3px;padding:0 5px;font-size:.9em"
_CELL = "border:none;padding:1px 14px 1px 0;vertical-align:top;background:transparent"
_MAX_ROWS = 20


def format_duration(delta: dt.timedelta | None) -> str:
    """A duration as a person says it: '340 ms', '1.2 s', '3 min 4 s', '2 h 5 min'."""
    if delta is None:
        return ""
    seconds = max(delta.total_seconds(), 0.0)
    if seconds < 0.9995:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    if (whole := round(seconds)) < 3600:
        return f"{whole // 60} min {whole % 60} s"
    if (minutes := round(seconds / 60)) < 24 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    hours = round(seconds / 3600)
    return f"{hours // 24} d {hours % 24} h"


def format_number(value: float) -> str:
    """A metric value to 4 significant digits; whole numbers in full, NaN as 'NaN'."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def format_value(value: Any, limit: int = 60) -> str:
    """A param or tag value as text on one line, cut to ``limit`` characters."""
    text = (value if isinstance(value, str) else repr(value)).replace("\n", "↵")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def last_line(text: str | None) -> str:
    """The last non-blank line of a traceback: the exception and its message."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def status_badge(status: str) -> str:
    rgb = STATUS_COLOURS.get(status, _GREY)
    return (
        f'<span style="background:rgba({rgb},.15);color:rgb({rgb});border:1px solid '
        f'rgba({rgb},.45);border-radius:9px;padding:0 7px;font-size:.8em;font-weight:600">'
        f"{html.escape(status)}</span>"
    )


def _heading_html(run: Run) -> str:
    e = html.escape
    took = format_duration(run.duration)
    when = run.start_time.astimezone().strftime("%Y-%m-%d %H:%M")
    facts = [f"{took} so far" if run.status == RUNNING else took] if took else []
    facts.append(f'<span title="{e(run.start_time.isoformat())}">started {when}</span>')
    return (
        f'<div style="display:flex;flex-wrap:wrap;align-items:baseline;gap:2px 10px">'
        f'<strong style="font-size:1.1em">{e(run.name)}</strong>{status_badge(run.status)}'
        f'<span style="opacity:.7">{" · ".join(facts)}</span></div>'
    )


def _children_html(children: tuple[ChildRun, ...]) -> str:
    """The runs started inside a run, one line each: name, status and short id."""
    e = html.escape
    lines = "".join(
        f'<div style="display:flex;flex-wrap:wrap;align-items:baseline;gap:2px 8px">'
        f"<span>{e(child.name)}</span>{status_badge(child.status)}"
        f'<span style="{_SHORT_ID}" title="{e(child.id)}">{e(child.id[:8])}</span></div>'
        for child in children[:_MAX_ROWS]
    )
    if len(children) > _MAX_ROWS:
        lines += f'<div style="opacity:.6">… {len(children) - _MAX_ROWS} more</div>'
    title = f"child runs ({len(children)})"
    return (
        f'<div style="margin-top:6px"><div style="font-weight:600;opacity:.6">{title}</div>'
        f"{lines}</div>"
    )


def _first(items: Iterable[str], limit: int = 8) -> str:
    shown = list(items)
    more = f" …+{len(shown) - limit}" if len(shown) > limit else ""
    return " ".join(shown[:limit]) + more


def _table(title: str, rows: list[tuple[str, str]], align: str = "right") -> str:
    if not rows:
        return ""
    e = html.escape
    body = "".join(
        f'<tr style="background:transparent"><td style="{_CELL};text-align:left;opacity:.75">'
        f'{e(key)}</td><td style="{_CELL};text-align:{align};{MONO_STYLE}">{e(value)}</td></tr>'
        for key, value in rows[:_MAX_ROWS]
    )
    if len(rows) > _MAX_ROWS:
        more = f"… {len(rows) - _MAX_ROWS} more"
        body += f'<tr><td colspan="2" style="{_CELL};text-align:left;opacity:.6">{more}</td></tr>'
    return (
        f'<table style="border-collapse:collapse;margin:0;font-size:inherit"><thead><tr>'
        f'<th colspan="2" style="{_CELL};text-align:left;font-weight:600;opacity:.6">{title}</th>'
        f"</tr></thead><tbody>{body}</tbody></table>"
    )


READY: Final = "READY"
ARCHIVED: Final = "ARCHIVED"
MODEL_VERSION_STATUSES: Final = (READY, ARCHIVED)


@dataclass(frozen=True)
class ModelVersion:
    """One version of a registered model: the registry's own copy of a model folder.

    ``source`` is the model URI it was registered from; ``storage_path`` the absolute path of
    the copy (which never depends on the run's artifacts staying put); ``aliases`` the aliases
    pointing at it, sorted.
    """

    name: str
    version: int
    run_id: str | None
    source: str
    status: str
    aliases: tuple[str, ...]
    created_at: dt.datetime
    storage_path: str
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def model_uri(self) -> str:
        """``models:/<name>/<version>``: the URI that loads this version."""
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model: its versions are numbered 1, 2, ... and ``aliases`` maps each alias
    to the version it points at (``models:/<name>@<alias>`` loads it)."""

    name: str
    description: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    latest_version: int | None
    version_count: int
    aliases: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
