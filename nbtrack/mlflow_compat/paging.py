"""MLflow's pages and views: which lifecycle stages a ``view_type`` shows, and the opaque
page tokens of its searches (an offset, base64 JSON, checked when it comes back)."""

from __future__ import annotations

import base64
import json

from nbtrack.errors import InvalidValueError

VIEW_TYPES = {"ACTIVE_ONLY": "active", "DELETED_ONLY": "deleted", "ALL": "all"}


def offset_of(page_token: str | None) -> int:
    if not page_token:
        return 0
    try:
        offset = json.loads(base64.b64decode(page_token, validate=True))["offset"]
    except (ValueError, KeyError, TypeError):
        raise InvalidValueError(
            f"Invalid page token {page_token!r}: it was not made here"
        ) from None
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidValueError(f"Invalid page token {page_token!r}: it was not made here")
    return offset


def token_for(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()
