"""A store operation run by the `nbtrack server` instead of on a local DuckDB file.

``call(connection, "read", runs.get_run, run_id)`` is ``store.read(runs.get_run, run_id)`` on
the server's store: the operation goes by its name (``operations.operation_name``), its
arguments and result through ``codec``, and an nbtrack error the operation raised there is
raised here as the same class with the same message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from nbtrack.errors import ServerError
from nbtrack.store.remote import codec
from nbtrack.store.remote.connection import ServerConnection
from nbtrack.store.remote.operations import Kind, operation_name

# Where the server answers store calls, below its URL.
PREFIX: Final = "/nbtrack/store/v1"
CALL_PATH: Final = f"{PREFIX}/call"
JSON_HEADERS: Final = {"Content-Type": "application/json"}


def call(
    connection: ServerConnection,
    kind: Kind,
    operation: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> Any:
    """Run ``operation(con, *args, **kwargs)`` through the server's ``Store.<kind>``."""
    body = request_body(kind, operation_name(operation), args, kwargs)
    answer = connection.request("POST", CALL_PATH, body, JSON_HEADERS)
    try:
        document = json.loads(answer.body)
        return codec.decode(document["result"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ServerError(
            f"the server {connection.url} answered a store call with something that is not "
            f"a result ({exc}); is it an nbtrack server of the same version?"
        ) from None


def request_body(kind: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """The JSON a call sends: the kind, the operation's name, its arguments."""
    document = {
        "kind": kind,
        "operation": name,
        "args": [codec.encode(value) for value in args],
        "kwargs": {key: codec.encode(value) for key, value in kwargs.items()},
    }
    return json.dumps(document, allow_nan=False, separators=(",", ":")).encode()
