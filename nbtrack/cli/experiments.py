"""``nbtrack experiments create | list | delete | restore``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from nbtrack.cli.output import json_flag, print_rows

if TYPE_CHECKING:
    pass


def add_commands(commands: Any) -> None:
    group = commands.add_parser("experiments", help="create, list, delete experiments")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create an experiment")
    create.add_argument("--experiment-name", "-n", required=True)
    create.set_defaults(handler=create_experiment)
    listing = actions.add_parser("list", help="list experiments")
    listing.add_argument("--include-deleted", action="store_true", help="deleted ones too")
    # The older spelling, kept: here "all experiments" cannot be misread.
    listing.add_argument("--all", action="store_true", help=argparse.SUPPRESS)
    json_flag(listing)
    listing.set_defaults(handler=list_experiments)
    for action in ("delete", "restore"):
        one = actions.add_parser(action, help=f"{action} an experiment")
        one.add_argument("--experiment-name", "-n", required=True)
        one.set_defaults(handler=change_stage)


def create_experiment(args: argparse.Namespace) -> int:
    from nbtrack.tracking.fluent import create_experiment

    experiment = create_experiment(args.experiment_name)
    print(f"created experiment {experiment.name!r} with id {experiment.id}")
    return 0


def list_experiments(args: argparse.Namespace) -> int:
    from nbtrack.store import combined
    from nbtrack.store.current import current_store

    # With how many runs each holds: the way to see where the runs went.
    experiments, counts = current_store().read(
        combined.experiments_with_run_counts, args.include_deleted or args.all
    )
    rows = [
        {
            "experiment_id": e.id,
            "name": e.name,
            "runs": counts.get(e.name),
            "lifecycle_stage": e.lifecycle_stage,
            "created_at": e.created_at,
        }
        for e in experiments
    ]
    return print_rows(rows, args.json)


def change_stage(args: argparse.Namespace) -> int:
    from nbtrack.tracking import manage

    change = manage.delete_experiment if args.action == "delete" else manage.restore_experiment
    experiment = change(args.experiment_name)
    print(f"experiment {experiment.name!r} is {experiment.lifecycle_stage}")
    return 0
