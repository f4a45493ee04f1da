"""The parser and the dispatch: each command group adds its subcommands and their handlers.

A user's mistake is never a traceback: an ``NbtrackError`` is printed as ``nbtrack: <message>``
on stderr. Bad input (``InvalidValueError``) exits with 2, as argparse does for a bad option;
anything else nbtrack refuses (an unknown run, a store it cannot open) with 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nbtrack import config
from nbtrack._version import __version__
from nbtrack.cli import experiments, mlflow, models, run, runs, serve, server, store, sync, ui
from nbtrack.errors import InvalidValueError, NbtrackError

GROUPS = (experiments, runs, run, models, serve, server, sync, mlflow, store, ui)
BAD_INPUT = 2
REFUSED = 1


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="nbtrack", description="Experiment tracking on one local DuckDB file."
    )
    top.add_argument("--version", action="version", version=f"nbtrack {__version__}")
    top.add_argument(
        "--store", metavar="PATH", help="the .duckdb store (default: NBTRACK_URI, else discovery)"
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_commands(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.store:
            config.set_tracking_uri(args.store)
        result: int = args.handler(args)
    except NbtrackError as exc:
        print(f"nbtrack: {exc}", file=sys.stderr)
        return BAD_INPUT if isinstance(exc, InvalidValueError) else REFUSED
    return result
