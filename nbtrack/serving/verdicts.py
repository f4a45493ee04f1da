"""The signature's verdict on a request, worded so that it repeats nothing of the request.

``nbtrack.models.enforcement`` speaks to the person who called ``predict`` in their own
notebook, and may quote the offending value there ("12345.678 has a fractional part"). A
server's answer ends up in client logs, proxies and tickets, so its message is rebuilt here
from the forms enforcement uses: a column name is kept only when the model's signature has it,
types and shapes are kept, and values are left out. A message of any other form becomes a
general one that says what the model takes.
"""

from __future__ import annotations

import re

from nbtrack.http.errors import (
    BAD_REQUEST,
    INVALID_PARAMETER_VALUE,
    SCHEMA_ENFORCEMENT_FAILED,
)
from nbtrack.models.signatures import ColSpec, Signature

# A dtype or kind as enforcement names it (float64, str, empty, datetime64[ns, UTC], <U21):
# a closed list, so that no other word can pass for one.
_TYPE = (
    r"(?:string|bytes|boolean|integer|floating|empty|datetime|other|object|bool|str|category"
    r"|[Uu]?[Ii]nt\d+|[Ff]loat\d+|complex\d+|[<>|=]?U\d+|(?:datetime|timedelta)64\[\w+\]"
    r"|datetime64\[\w+, [\w/+-]+\])"
)
_MISSING = re.compile(r"input is missing column (?P<names>.+); the model takes .+")
_CAST = re.compile(
    rf"(?P<label>column (?P<name>'.+')|input) holds (?P<source>{_TYPE}) values, which cannot "
    r"become (?P<target>\w+)(?:: (?P<reason>.+))?"
)
_DATES = re.compile(
    rf"column (?P<name>'.+') holds (?P<source>{_TYPE}) values that are not ISO 8601 dates; "
    r"the model expects datetime"
)
_TENSOR_SHAPE = re.compile(
    r"input has shape \([\d, ]*\); the model takes shape \([-\d, ]*\) \(-1: any length\)"
)
_ARRAY_SHAPE = re.compile(
    r"input is an array of shape \([\d, ]*\); the model takes \d+ columns "
    r"\((?P<names>.*)\): give a DataFrame or records with those names"
)
_UNREAD = re.compile(r"input cannot be read as a table or an array: .*|input is \w+ \(.*")
# Why a number column refused its values. The one form that quotes a value is reworded; the
# others hold only types and limits.
_FRACTIONAL = re.compile(r".+ has a fractional part")
_REASONS = re.compile(
    r"some are missing \(NaN\) or infinite|they do not fit in \w+|some are too large for \w+"
    r"|beyond ±\d+ a \w+ loses digits"
)
_NO_CONVERSION = re.compile(rf"no conversion from ({_TYPE}) to (\w+) keeps every value")
# numpy's fixed-width text dtype carries the longest string's length: "str" says enough.
_TEXT_DTYPE = re.compile(r"[<>|=]?U\d+")


def verdict_code(message: str) -> tuple[str, str | None]:
    """MLflow's error code (and error class) for enforcement's ``message``.

    MLflow's server converts each column to the signature's type while it reads the request,
    and a value that does not convert is a ``BAD_REQUEST`` there; what its schema enforcement
    refuses afterwards (a missing column, a wrong shape) is ``INVALID_PARAMETER_VALUE`` with
    the class ``SCHEMA_ENFORCEMENT_FAILED``. The same split is kept here.
    """
    if _CAST.fullmatch(message) or _DATES.fullmatch(message) or _UNREAD.fullmatch(message):
        return BAD_REQUEST, None
    return INVALID_PARAMETER_VALUE, SCHEMA_ENFORCEMENT_FAILED


def verdict(message: str, signature: Signature | None) -> str:
    """What the server answers for enforcement's ``message`` about a request's input.

    Examples
    --------
    >>> verdict("column 'n' holds float64 values, which cannot become long: 2.5 has a "
    ...         "fractional part", signature)  # doctest: +SKIP
    "column 'n' holds float64 values, which cannot become long: some have a fractional part"
    """
    names = [repr(name) for name in _column_names(signature)]
    if found := _MISSING.fullmatch(message):
        # Listed from the signature, in its order: rebuilt from it, the list must be equal.
        missing = [name for name in names if name in found["names"]]
        if ", ".join(missing) == found["names"]:
            return f"input is missing column {found['names']}; {_takes(signature)}"
    elif (found := _CAST.fullmatch(message)) and found["name"] in (None, *names):
        return _cast(found["label"], found["source"], found["target"], found["reason"])
    elif (found := _DATES.fullmatch(message)) and found["name"] in names:
        return (
            f"column {found['name']} holds {_type(found['source'])} values that are not ISO "
            "8601 dates; the model expects datetime"
        )
    elif _shape_only(message, signature):
        return message
    elif _UNREAD.fullmatch(message):
        return f"the input cannot be read as a table or an array; {_takes(signature)}"
    return f"the input does not fit the model's signature; {_takes(signature)}"


def _cast(label: str, source: str, target: str, reason: str | None) -> str:
    text = f"{label} holds {_type(source)} values, which cannot become {target}"
    if reason is None:
        return text
    if _FRACTIONAL.fullmatch(reason):
        return f"{text}: some have a fractional part"
    if _REASONS.fullmatch(reason):
        return f"{text}: {reason}"
    if found := _NO_CONVERSION.fullmatch(reason):
        return f"{text}: no conversion from {_type(found[1])} to {found[2]} keeps every value"
    return text


def _shape_only(message: str, signature: Signature | None) -> bool:
    # Shapes are sizes, not values; the column list must be the signature's own.
    if _TENSOR_SHAPE.fullmatch(message):
        return True
    found = _ARRAY_SHAPE.fullmatch(message)
    return found is not None and found["names"] == ", ".join(_column_names(signature))


def _type(name: str) -> str:
    return "str" if _TEXT_DTYPE.fullmatch(name) else name


def _column_names(signature: Signature | None) -> list[str]:
    specs = signature.inputs if signature is not None else None
    return [spec.name for spec in specs or () if isinstance(spec, ColSpec) and spec.name]


def _takes(signature: Signature | None) -> str:
    specs = signature.inputs if signature is not None else None
    if not specs:
        return "GET /metadata describes the model"
    described = ", ".join(
        f"{spec.name} ({spec.type})"
        if isinstance(spec, ColSpec)
        else f"an array of {spec.dtype}, shape {spec.shape}"
        for spec in specs
    )
    return f"the model takes {described}"
