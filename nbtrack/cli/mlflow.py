"""``nbtrack mlflow import | export``: bring an MLflow history in, or take the store back out."""

from __future__ import annotations

import argparse
from typing import Any

from nbtrack.cli.output import progress


def add_commands(commands: Any) -> None:
    group = commands.add_parser(
        "mlflow", help="import an MLflow history into the store, or export the store to MLflow"
    )
    actions = group.add_subparsers(dest="mlflow_command", required=True, metavar="ACTION")
    importing = actions.add_parser(
        "import",
        help="experiments, runs, artifacts, logged models and the registry of an MLflow store",
        description=(
            "Import from SOURCE: an mlruns folder (read as files), a database URI MLflow opens "
            "(sqlite:///mlflow.db, postgresql://...), or an MLflow server (http(s)://...). "
            "Runs keep their MLflow ids; importing again writes only what is new."
        ),
    )
    importing.add_argument("source", metavar="SOURCE")
    importing.add_argument(
        "--experiment",
        action="append",
        metavar="NAME",
        help="import only this experiment (a name or an id; repeat for more)",
    )
    importing.set_defaults(handler=import_history)
    exporting = actions.add_parser(
        "export",
        help="write the store into an MLflow tracking URI through MLflow's client",
        description=(
            "Export into TARGET, any tracking URI MLflow's client accepts "
            "(sqlite:///mlflow.db, http://host:5000, ...). Each run keeps the store's run id "
            "as the tag nbtrack.run_id; exporting again writes only what is new."
        ),
    )
    exporting.add_argument("target", metavar="TARGET")
    exporting.add_argument(
        "--experiment", action="append", metavar="NAME", help="export only this experiment"
    )
    exporting.set_defaults(handler=export_history)


def _report(phase: str, done: int, total: int, detail: str = "") -> None:
    progress(phase, done, total, detail[:30])


def import_history(args: argparse.Namespace) -> int:
    from nbtrack.mlflow_compat.importing import import_mlflow

    print(import_mlflow(args.source, args.experiment, progress=_report))
    return 0


def export_history(args: argparse.Namespace) -> int:
    from nbtrack.mlflow_compat.exporting import export_mlflow

    print(export_mlflow(args.target, args.experiment, progress=_report))
    return 0
