"""The ``nbtrack`` command: thin, every subcommand calls the layers below."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nbtrack import config
from nbtrack._version import __version__
from nbtrack.errors import NbtrackError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbtrack", description="Experiment tracking on one local DuckDB file."
    )
    parser.add_argument("--version", action="version", version=f"nbtrack {__version__}")
    parser.add_argument(
        "--store", metavar="PATH", help="the .duckdb store (default: NBTRACK_URI, else discovery)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="log a small learning-rate sweep and print it")
    commands.add_parser("doctor", help="check the store, ingest leftover journals, end stuck runs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.store:
        config.set_tracking_uri(args.store)
    try:
        if args.command == "demo":
            return _demo()
        return _doctor()
    except NbtrackError as exc:
        print(f"nbtrack: {exc}", file=sys.stderr)
        return 1


def _demo() -> int:
    from nbtrack.demo import run_demo, table

    print(f"store: {config.get_tracking_uri()}")
    runs = run_demo()
    print()
    print(table(runs))
    print()
    print("In Python: nbtrack.get_run(run_id), nbtrack.get_metric_history(run_id, 'loss')")
    return 0


def _doctor() -> int:
    from pathlib import Path

    from nbtrack.store.doctor import examine

    report = examine(Path(config.get_tracking_uri()))
    marks = {"ok": "ok   ", "fixed": "FIXED", "warning": "WARN ", "error": "ERROR"}
    for finding in report.findings:
        print(f"[{marks[finding.level]}] {finding.message}")
    return 0 if report.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
