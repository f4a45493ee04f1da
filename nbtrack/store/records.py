"""The journal's record format: one JSON object per line, written by tracking, read by ``ingest``.

This module is the whole format. ``k`` is the kind: ``m`` metric, ``p`` param, ``g`` tag,
``start`` and ``end`` of a run (records too: starting or ending a run costs microseconds, and a
run ended just before a crash still ends as it should), ``model`` the payload hashes of a model
saved under a run (``n`` its artifact path, ``x`` its uuid, ``j`` the files and their SHA-256).
``r`` run id, ``n`` key, ``v`` metric value, ``s`` step, ``t`` time in microseconds, ``q``
order (a metric's per-run sequence, otherwise the journal's counter), ``x`` text, ``j`` JSON
payload. NaN and ±Infinity are
written as JSON5 literals, which DuckDB's ``read_json`` reads back exactly.

A ``start`` record carries the run's fixed fields in ``j``, named as ``RUN_FIELDS`` lists
them: adding a field to runs means adding it there and to the ``runs`` table.
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

# The fields of a start record's payload and the ``runs`` column each fills.
RUN_FIELDS = {
    "experiment_id": "experiment_id",
    "name": "run_name",
    "parent_run_id": "parent_run_id",
    "source": "source",
    "source_name": "source_name",
    "git_commit": "git_commit",
    "user": "user_id",
    "host": "host",
    "owner_pid": "owner_pid",
    "artifact_uri": "artifact_uri",
}

# Which fields a line of each kind must have: a line without them is set aside, not ingested.
REQUIRED = {
    "m": ("r", "n", "v", "s", "t", "q"),
    "p": ("r", "n", "x", "j", "t", "q"),
    "g": ("r", "n", "x", "t", "q"),
    "start": ("r", "t", "q", "j"),
    "end": ("r", "x", "t", "q"),
    "model": ("r", "n", "x", "j", "t", "q"),
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


def model_line(
    run_id: str, artifact_path: str, model_uuid: str, hashes: dict[str, str], at: int, order: int
) -> str:
    # Two parallel lists rather than an object: file names become data, never JSON paths.
    files = {"files": list(hashes), "sha256": list(hashes.values())}
    record = {"k": "model", "r": run_id, "n": artifact_path, "x": model_uuid,
              "j": json.dumps(files, ensure_ascii=False), "t": at, "q": order}  # fmt: skip
    return json.dumps(record, ensure_ascii=False) + "\n"


def start_line(run_id: str, at: int, order: int, fields: dict[str, Any]) -> str:
    unknown = set(fields) - set(RUN_FIELDS)
    if unknown:
        raise ValueError(f"a start record has no fields {sorted(unknown)}; see RUN_FIELDS")
    record = {"k": "start", "r": run_id, "t": at, "q": order, "j": json.dumps(fields)}
    return json.dumps(record, ensure_ascii=False) + "\n"


_INT64 = (-(2**63), 2**63 - 1)


def is_complete(line: bytes) -> bool:
    """Whether ``line`` (one journal line, newline excluded) is a record ``ingest`` can use:
    an object of a known kind with every field it needs, each of the column's type."""
    try:
        record = json.loads(line)
    except ValueError:
        return False
    if not isinstance(record, dict):
        return False
    required = REQUIRED.get(record.get("k"))  # type: ignore[arg-type]
    if required is None or any(record.get(name) is None for name in required):
        return False
    return all(_fits(COLUMNS[name], value) for name, value in record.items() if name in COLUMNS)


def _fits(column: str, value: object) -> bool:
    if value is None:
        return True
    if column == "VARCHAR":
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    if column == "BIGINT":
        return isinstance(value, int) and _INT64[0] <= value <= _INT64[1]
    return isinstance(value, int | float)
