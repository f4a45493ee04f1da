"""``nbtrack gc | export | doctor | demo``: the store as a whole."""

from __future__ import annotations

import argparse
from typing import Any

from nbtrack import config
from nbtrack.cli.output import progress


def add_commands(commands: Any) -> None:
    commands.add_parser(
        "gc", help="purge deleted runs and experiments with their artifacts"
    ).set_defaults(handler=gc)
    exporting = commands.add_parser("export", help="write every table as Parquet into DIR")
    exporting.add_argument("dir")
    exporting.set_defaults(handler=export)
    commands.add_parser("demo", help="log a small learning-rate sweep and print it").set_defaults(
        handler=demo
    )
    commands.add_parser(
        "doctor", help="check the store, ingest leftover journals, end stuck runs"
    ).set_defaults(handler=doctor)


def gc(args: argparse.Namespace) -> int:
    from nbtrack.tracking import manage

    result = manage.gc(progress=lambda done, total: progress("removing artifacts", done, total))
    print(
        f"purged {result.runs} run(s), {result.experiments} experiment(s), "
        f"{result.metric_points} metric point(s), {result.artifact_bytes / 1e6:.1f} MB of artifacts"
    )
    return 0


def export(args: argparse.Namespace) -> int:
    from nbtrack.tracking import manage

    total = len(manage.EXPORTED_TABLES)
    written: list[str] = []

    def step(table: str) -> None:
        written.append(table)
        progress("exporting", len(written), total, table)

    paths = manage.export(args.dir, progress=step)
    for path in paths:
        print(f"{path}  {path.stat().st_size / 1e6:.2f} MB")
    return 0


def demo(args: argparse.Namespace) -> int:
    from nbtrack.demo import run_demo, table

    print(f"store: {config.get_tracking_uri()}")
    runs = run_demo()
    print()
    print(table(runs))
    print()
    print("Next: nbtrack runs list -n nbtrack-demo --order-by 'metrics.loss'")
    return 0


def doctor(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nbtrack.store.doctor import examine

    report = examine(Path(config.get_tracking_uri()))
    marks = {"ok": "ok   ", "fixed": "FIXED", "warning": "WARN ", "error": "ERROR"}
    for finding in report.findings:
        print(f"[{marks[finding.level]}] {finding.message}")
    return 0 if report.healthy else 1
