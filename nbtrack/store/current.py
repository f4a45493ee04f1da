"""The store this process logs to now: a store file, or an ``nbtrack server``.

Apart from ``store.py`` so that the store of a server (``remote/store.py``, a kind of
``Store``) and the store file's own module do not import each other.
"""

from __future__ import annotations

import atexit
import sys

from nbtrack import config
from nbtrack.store.store import Store, get_store


def current_store() -> Store:
    """The store this process logs to now (``set_tracking_uri``, ``NBTRACK_URI``, discovery):
    a server's URL gives a ``RemoteStore``, which logs to a journal here as a store file's
    does and reads from the server."""
    target = config.resolve_target()
    if isinstance(target, config.ServerAddress):
        # Imported here: a process that never logs to a server never loads the HTTP client.
        from nbtrack.store.remote.store import get_remote_store

        return get_remote_store(target)
    return get_store(target)


@atexit.register
def close_remote_stores() -> None:
    """Deliver and close the journals of the servers this process logged to. Registered when
    this module is first imported — before ``tracking.lifecycle`` registers its own exit hook,
    so (atexit runs last-registered first) runs are ended before their journal is closed."""
    remote = sys.modules.get("nbtrack.store.remote.store")
    if remote is not None:
        remote.close_all()
