"""The journal's record format: one JSON object per line, written here and read by ``ingest``.

``k`` is the kind: ``m`` metric, ``p`` param, ``g`` tag, ``start`` and ``end`` of a run (records
too: starting or ending a run costs microseconds, and a run ended just before a crash still
ends as it should). ``r`` run id, ``n`` key, ``v``
metric value, ``s`` step, ``t`` time in microseconds, ``q`` order (a metric's per-run sequence,
otherwise the journal's counter), ``x`` text, ``j`` JSON payload. NaN and ±Infinity are
written as JSON5 literals, which DuckDB's ``read_json`` reads back exactly.
"""

from __future__ import annotations

import json
from typing import Any

COLUMNS = {
    "k": "VARCHAR",
    "r": "VARCHAR",
    "n": "VARCHAR",
    "v": "DOUBLE",
    "s": "BIGINT",
    "t": "BIGINT",
    "q": "BIGINT",
    "x": "VARCHAR",
    "j": "VARCHAR",
}

FLOAT_TEXT = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def metric_prefix(run_id: str) -> str:
    """The start of every metric line of one run; the hot path appends the rest."""
    return '{"k":"m","r":' + json.dumps(run_id) + ',"n":'


def metric_line(prefix: str, key_json: str, value: float, step: int, at: int, seq: int) -> str:
    text = repr(value)
    return f'{prefix}{key_json},"v":{FLOAT_TEXT.get(text, text)},"s":{step},"t":{at},"q":{seq}}}\n'


def param_line(run_id: str, key: str, text: str, value_json: str, at: int, order: int) -> str:
    record = {"k": "p", "r": run_id, "n": key, "x": text, "j": value_json, "t": at, "q": order}
    return json.dumps(record, ensure_ascii=False) + "\n"


def tag_line(run_id: str, key: str, value: str, at: int, order: int) -> str:
    record = {"k": "g", "r": run_id, "n": key, "x": value, "t": at, "q": order}
    return json.dumps(record, ensure_ascii=False) + "\n"


def end_line(run_id: str, status: str, error: str | None, at: int, order: int) -> str:
    record = {"k": "end", "r": run_id, "x": status, "j": error, "t": at, "q": order}
    return json.dumps(record, ensure_ascii=False) + "\n"


def start_line(run_id: str, at: int, order: int, fields: dict[str, Any]) -> str:
    record = {"k": "start", "r": run_id, "t": at, "q": order, "j": json.dumps(fields)}
    return json.dumps(record, ensure_ascii=False) + "\n"
