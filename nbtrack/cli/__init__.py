"""The ``nbtrack`` command: one module per command group, each thin over the layers below.

Readable tables by default, ``--json`` for scripts; errors are one line on stderr, exit 1.
"""

from nbtrack.cli.main import main

__all__ = ["main"]
