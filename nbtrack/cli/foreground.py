"""A server started in a daemon thread, kept in the foreground until Ctrl-C or SIGTERM:
``nbtrack serve``, ``nbtrack ui`` and ``nbtrack server``."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Protocol


class RunningServer(Protocol):
    @property
    def running(self) -> bool: ...

    def stop(self) -> None: ...


def wait_until_stopped(server: RunningServer, what: str) -> int:
    """Block until Ctrl-C or SIGTERM (then stop ``server``: 0) or until it dies (1).

    ``what`` names the server in the message printed when it stopped on an error."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    try:
        while not stopping.wait(0.5):
            if not server.running:
                print(f"nbtrack: {what} stopped on an error (see above)", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0
