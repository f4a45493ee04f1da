"""The parser and the dispatch: each command group adds its subcommands and their handlers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nbtrack import config
from nbtrack._version import __version__
from nbtrack.cli import experiments, models, runs, serve, store
from nbtrack.errors import NbtrackError

GROUPS = (experiments, runs, models, serve, store)


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
    if args.store:
        config.set_tracking_uri(args.store)
    try:
        result: int = args.handler(args)
    except NbtrackError as exc:
        print(f"nbtrack: {exc}", file=sys.stderr)
        return 1
    return result
