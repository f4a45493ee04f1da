"""A static snapshot of the comparison widget: plain HTML, for where no widget front end runs.

``jupyter nbconvert --to html`` without saved widget state, GitHub's notebook preview and other
read-only viewers cannot draw a widget; they show the ``text/html`` entry of the output's
mime bundle instead. This module writes that entry: the widget's status line, the page of runs
as a table and the chart as a PNG drawn by vl-convert.

The snippet is self-contained on purpose: no ``<script>`` (GitHub strips it, and a static page
must not run code), no ``<style>`` block (HTML sanitizers commonly drop it: inline ``style``
attributes instead, and the markup still reads without them: bold rows and a ● marker), no
external URL (the exported file must work offline), and every value from a user is escaped.
"""

from __future__ import annotations

import base64
import html
import json
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Any, Final

from nbtrack.entities import STATUS_COLOURS, format_duration

# Device pixels per CSS pixel of the chart image. 1.5 stays crisp on high-density screens; a
# 560 by 280 loss chart is then ≈ 60 kB of PNG once recompressed (see _recompress), 1 gives ≈ 37 kB
# but blurs on them, 2 gives ≈ 90 kB for little gain.
PNG_SCALE: Final = 1.5
# zlib level for the recompressed image data: 6 takes ≈ 15 ms for such a chart, 9 ≈ 60 ms for
# a file only 8 % smaller.
ZLIB_LEVEL: Final = 6
# Values longer than this are cut in the cell; the full text stays in its title attribute.
MAX_CELL_CHARS: Final = 60
# Column prefixes shown as a grouping header row above the short names.
GROUPS: Final = ("metrics.", "params.", "tags.")
MARKER: Final = "●"
PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"

# Inline styles only, kept short (they repeat on every cell of 25 rows): what inherits (font,
# nowrap) sits on the table, row borders on the <tr> (drawn there with collapsed borders).
# Mid-tone colours on translucent backgrounds read in light and dark themes alike.
_FONT = "font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px"
_TABLE = "border-collapse:collapse;white-space:nowrap;width:max-content"
_ROW = "border-bottom:1px solid rgba(127,127,127,.3)"
_HEAD_ROW = f"{_ROW};background:rgba(127,127,127,.12)"
_SELECTED_ROW = f"{_ROW};font-weight:600;background:rgba(33,150,243,.15)"
# Alignment is explicit: JupyterLab's and nbconvert's stylesheet right-aligns every cell of an
# HTML output's tables.
_PAD = "padding:2px 8px"
_TD = f"{_PAD};text-align:left"
_TH = _TD
_GROUP = f"{_TD};font-weight:normal;opacity:.75"
_NUMBER = f"{_PAD};text-align:right"
_MISSING = f"{_TD};opacity:.5"
_MARK = "padding:2px 0 2px 6px;color:rgb(25,118,210)"
_NOTE = "opacity:.7;font-size:.9em;margin:4px 0"


def static_html(
    *,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    selected: Sequence[str],
    caption: str,
    total: int,
    chart: Any,
) -> str:
    """The comparison widget as one self-contained HTML snippet: caption, table, chart image.

    Parameters
    ----------
    columns : sequence of str
        Column names in display order, e.g. ``"run_name"``, ``"metrics.acc"``, ``"params.lr"``.
    rows : sequence of mappings
        One page of runs, JSON-ready values keyed by ``columns``, each with its ``run_id``.
    selected : sequence of str
        Ids of the runs the chart shows; their rows are marked.
    caption : str
        The widget's status line, already HTML (it is inserted as it is).
    total : int
        How many runs match; a page with fewer rows says it shows only part of them.
    chart : Altair chart or None
        Drawn as a PNG with vl-convert; a chart that cannot be drawn leaves a short note.

    Returns
    -------
    str
        HTML with no script, no style block and no external URL. Never raises for a chart
        that fails to draw: this runs inside ``_repr_mimebundle_``, where an exception would
        lose the whole output.

    Examples
    --------
    >>> text = static_html(columns=["run_name"], rows=[{"run_id": "r1", "run_name": "a<b"}],
    ...                    selected=["r1"], caption="1 run", total=1, chart=None)
    >>> "a&lt;b" in text and "<script" not in text
    True
    """
    parts = [f'<div class="nbtrack-static" style="{_FONT}">']
    if caption:
        parts.append(f'<div style="margin:2px 0 6px">{caption}</div>')
    parts.append(_table(columns, rows, set(selected)))
    if len(rows) < total:
        # Only one page reached the snapshot: say so, or a reader takes it for all the runs.
        parts.append(
            f'<div style="{_NOTE}">showing {len(rows):,} of {total:,} runs'
            " (open the notebook in Jupyter to page through them)</div>"
        )
    if chart is not None:
        parts.append(_chart_html(chart))
    parts.append("</div>")
    return "".join(parts)


# -- the table ------------------------------------------------------------------------------------


def _table(columns: Sequence[str], rows: Sequence[Mapping[str, Any]], selected: set[str]) -> str:
    head = _header(columns)
    if rows:
        body = "".join(_row(columns, row, str(row.get("run_id")) in selected) for row in rows)
    else:
        body = (
            f'<tr><td colspan="{len(columns) + 1}" style="{_MISSING};font-style:italic">'
            "No runs</td></tr>"
        )
    return (
        '<div style="overflow-x:auto;max-width:100%">'
        f'<table style="{_TABLE}"><thead>{head}</thead><tbody>{body}</tbody></table></div>'
    )


def _split(column: str) -> tuple[str, str]:
    """``"metrics.acc"`` → ``("metrics", "acc")``; fixed columns have no group."""
    for prefix in GROUPS:
        if column.startswith(prefix) and len(column) > len(prefix):
            return prefix[:-1], column[len(prefix) :]
    return "", column


def _header(columns: Sequence[str]) -> str:
    """Short names under a row of group labels (metrics / params / tags): the prefixes repeated
    on every column would take more width than the values. The full name is each title."""
    split = [_split(column) for column in columns]
    grouped = any(group for group, _ in split)
    rowspan = ' rowspan="2"' if grouped else ""
    marker = f'<th style="{_MARK}" title="charted: the runs the chart shows"{rowspan}>{MARKER}</th>'
    names = "".join(
        f'<th style="{_TH}" title="{_e(column)}">{_e(short)}</th>'
        for column, (_, short) in zip(columns, split, strict=True)
    )
    if not grouped:
        return f'<tr style="{_HEAD_ROW}">{marker}{names}</tr>'
    spans: list[tuple[str, int]] = []  # consecutive columns of one group share a cell
    for group, _ in split:
        if spans and spans[-1][0] == group:
            spans[-1] = (group, spans[-1][1] + 1)
        else:
            spans.append((group, 1))
    groups = "".join(
        f'<th colspan="{count}" style="{_GROUP}">{_e(group)}</th>' for group, count in spans
    )
    return f'<tr style="{_HEAD_ROW}">{marker}{groups}</tr><tr style="{_HEAD_ROW}">{names}</tr>'


def _row(columns: Sequence[str], row: Mapping[str, Any], is_selected: bool) -> str:
    cells = "".join(_cell(column, row.get(column)) for column in columns)
    return (
        f'<tr data-run-id="{_e(str(row.get("run_id", "")))}"'
        f' style="{_SELECTED_ROW if is_selected else _ROW}">'
        f'<td style="{_MARK}">{MARKER if is_selected else ""}</td>{cells}</tr>'
    )


def _cell(column: str, value: Any) -> str:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if value is None:
        return f'<td style="{_MISSING}">—</td>'
    if column == "status" and isinstance(value, str):
        rgb = STATUS_COLOURS.get(value, "128,128,128")
        return f'<td style="{_TD};color:rgb({rgb})">{_e(value)}</td>'
    if column == "duration" and number:
        # Seconds in the data; "3 min 4 s" reads better, the exact value stays in the title.
        text = format_duration(timedelta(seconds=float(value)))
        return f'<td style="{_NUMBER}" title="{value} s">{_e(text)}</td>'
    text = str(value)
    shown = text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"
    title = f' title="{_e(text)}"' if shown != text else ""
    return f'<td style="{_NUMBER if number else _TD}"{title}>{_e(shown)}</td>'


def _e(text: str) -> str:
    """Escaped for text and for double- or single-quoted attribute values alike."""
    return html.escape(text, quote=True)


# -- the chart ------------------------------------------------------------------------------------


def _chart_html(chart: Any) -> str:
    """The chart as an inline PNG, or a note saying why there is none."""
    try:
        spec = chart.to_dict()
        return _image_html(json.dumps(spec, sort_keys=True))
    except Exception as exc:  # a repr must never raise: vl-convert, schema or import errors
        return f'<div style="{_NOTE}">(the chart could not be drawn here: {_e(_reason(exc))})</div>'


def _reason(exc: Exception) -> str:
    """The error in one short line. vl-convert's message is a headline, the JavaScript error,
    then its stack ("at ..." lines naming CDN URLs of the bundled code): the stack is left out."""
    lines = [line.strip() for line in str(exc).splitlines()]
    message = " ".join(line for line in lines if line and not line.startswith("at "))
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


# Drawing takes ≈ 100 ms and the widget's repr runs on every display of it (a view shown
# twice, a notebook saved again): the same chart is drawn once.
@lru_cache(maxsize=8)
def _image_html(spec_json: str) -> str:
    import vl_convert

    png = vl_convert.vegalite_to_png(
        spec_json,
        vl_version=_vl_version(),
        scale=PNG_SCALE,
        # Inline data only: a chart pointing at a URL fails here at once instead of
        # waiting on a network that an offline export does not have.
        allowed_base_urls=[],
    )
    png = _recompress(png)
    width, height = _png_size(png)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" width="{round(width / PNG_SCALE)}"'
        f' height="{round(height / PNG_SCALE)}" alt="{_e(_alt_text(json.loads(spec_json)))}"'
        ' style="display:block;margin-top:8px;max-width:100%;height:auto">'
    )


def _vl_version() -> str:
    """The Vega-Lite version Altair writes (``"v6_1"``), so vl-convert reads the spec as meant."""
    from altair.vegalite import SCHEMA_VERSION

    return "_".join(SCHEMA_VERSION.split(".")[:2])


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in device pixels, from the PNG's IHDR chunk (always the first)."""
    if not png.startswith(PNG_SIGNATURE) or len(png) < 24:
        raise ValueError("vl-convert returned something that is not a PNG")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def _chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, data) of each chunk after the signature."""
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(png):
        (size,) = struct.unpack(">I", png[at : at + 4])
        yield png[at + 4 : at + 8], png[at + 8 : at + 8 + size]
        at += 12 + size


def _recompress(png: bytes) -> bytes:
    """The same image, its pixel data deflated again: vl-convert writes it with fast, light
    compression (a 1000 by 516 pixel chart: 170 kB, 61 kB after this, lossless, stdlib only)."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("vl-convert returned something that is not a PNG")
    chunks = list(_chunks(png))
    pixels = zlib.decompress(b"".join(data for kind, data in chunks if kind == b"IDAT"))
    first_idat = next(i for i, (kind, _) in enumerate(chunks) if kind == b"IDAT")
    # All the image data goes into one IDAT chunk, where the first one was.
    kept = [chunk for chunk in chunks if chunk[0] != b"IDAT"]
    kept.insert(first_idat, (b"IDAT", zlib.compress(pixels, ZLIB_LEVEL)))
    out = [PNG_SIGNATURE]
    for kind, data in kept:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        out.append(struct.pack(">I", len(data)) + kind + data + crc)
    return b"".join(out)


def _alt_text(spec: Mapping[str, Any]) -> str:
    """The chart's title and subtitle (``chart: loss — 3 points not drawn``), else its mark."""
    title = spec.get("title")
    words = [title.get("text"), title.get("subtitle")] if isinstance(title, Mapping) else [title]
    text = " — ".join(_flat(word) for word in words if word)
    if not text:
        mark = spec.get("mark")
        kind = mark.get("type") if isinstance(mark, Mapping) else mark
        text = f"{kind} chart" if isinstance(kind, str) else "chart"
    return f"chart: {text}"


def _flat(value: Any) -> str:
    """A title part as one line (Vega-Lite allows a list of lines)."""
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    return str(value)
