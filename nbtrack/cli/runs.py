"""``nbtrack runs list | show | rename | delete | restore``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nbtrack.cli.output import json_flag, terminal_width


def add_commands(commands: Any) -> None:
    group = commands.add_parser("runs", help="list, show, rename, delete runs")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="list the runs of an experiment",
        description="The runs of an experiment (Default unless -n), newest first, as a table "
        "that fits the terminal (every column when printing to a file or a pipe).",
    )
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--experiment-name", "-n", help="name or id (default: Default)")
    which.add_argument(
        "--all-experiments", "-A", action="store_true", help="the runs of every experiment"
    )
    listing.add_argument("--filter", "-f", help="e.g. \"metrics.acc > 0.9 and params.lr = '0.1'\"")
    listing.add_argument("--order-by", "-o", action="append", help='e.g. "metrics.acc DESC"')
    listing.add_argument("--max-results", type=int)
    listing.add_argument(
        "--columns",
        "-c",
        metavar="C1,C2",
        help="columns by name or prefix, e.g. run_name,params.lr,metrics. (also for --json)",
    )
    listing.add_argument("--include-deleted", action="store_true", help="deleted runs too")
    # Deprecated: read as "all experiments" by people who got no runs; kept for scripts.
    listing.add_argument("--all", action="store_true", help=argparse.SUPPRESS)
    json_flag(listing)
    listing.set_defaults(handler=list_runs)
    show = actions.add_parser("show", help="everything about one run")
    show.add_argument("run_id", metavar="RUN", help="a run id, its first 4+ characters, or a name")
    json_flag(show)
    show.set_defaults(handler=show_run)
    rename = actions.add_parser("rename", help="give a run another name")
    rename.add_argument("run_id")
    rename.add_argument("name")
    rename.set_defaults(handler=rename_run)
    for action in ("delete", "restore"):
        one = actions.add_parser(action, help=f"{action} a run")
        one.add_argument("run_id")
        one.set_defaults(handler=change_stage)


def list_runs(args: argparse.Namespace) -> int:
    from nbtrack.tracking.formatting import choose_columns, with_duration
    from nbtrack.tracking.run_listing import RunListing
    from nbtrack.tracking.search import search_runs

    include_deleted = args.include_deleted or args.all
    if args.all:
        print(ALL_IS_DEPRECATED, file=sys.stderr)
    wanted = _every_experiment(include_deleted) if args.all_experiments else args.experiment_name
    frame = search_runs(
        experiment=wanted,
        filter=args.filter,
        order_by=args.order_by,
        max_results=args.max_results,
        include_deleted=include_deleted,
    )
    if args.json:
        if args.columns and len(frame):  # raw values still; the duration in seconds
            frame = with_duration(frame)
            frame = frame[choose_columns(frame, args.columns)]
        print(frame.to_json(orient="records", date_format="iso", date_unit="us"))
        return 0
    if not len(frame):
        print(_nothing_listed(args))
        return 0
    print(RunListing(frame, args.columns).text(terminal_width()))
    return 0


ALL_IS_DEPRECATED = (
    "nbtrack: --all is deprecated: it means --include-deleted (deleted runs too); "
    "the runs of every experiment are --all-experiments"
)


def _every_experiment(include_deleted: bool) -> list[str]:
    from nbtrack.store import experiments
    from nbtrack.store.current import current_store

    every = current_store().read(experiments.list_experiments, include_deleted=include_deleted)
    return [experiment.id for experiment in every]


def _nothing_listed(args: argparse.Namespace) -> str:
    """Why the table is empty: another experiment holds the runs, the filter, or no runs."""
    from nbtrack.tracking.fluent import current_experiment_name
    from nbtrack.tracking.search import empty_experiment_hint

    if args.all_experiments:
        where = "any experiment"
    elif hint := empty_experiment_hint(args.experiment_name, command_line=True):
        return hint
    else:
        where = f"experiment {args.experiment_name or current_experiment_name()!r}"
    return f"no run in {where} matches the filter" if args.filter else f"no runs in {where}"


def show_run(args: argparse.Namespace) -> int:
    from nbtrack.tracking.fluent import get_run
    from nbtrack.tracking.run_refs import resolve_run

    run = get_run(resolve_run(args.run_id, "run"))
    record: dict[str, Any] = {
        "run_id": run.id,
        "name": run.name,
        "experiment_id": run.experiment_id,
        "status": run.status,
        "start_time": run.start_time.isoformat(),
        "end_time": run.end_time.isoformat() if run.end_time else None,
        "duration_s": run.duration.total_seconds() if run.duration else None,
        "source_name": run.source_name,
        "git_commit": run.git_commit,
        "user": run.user,
        "host": run.host,
        "parent_run_id": run.parent_run_id,
        "artifact_uri": run.artifact_uri,
        "params": run.params,
        "metrics": run.metrics,
        "tags": run.tags,
        "children": [
            {"run_id": child.id, "name": child.name, "status": child.status}
            for child in run.children
        ],
        "error": run.error,
    }
    if args.json:
        print(json.dumps(record, default=str))
        return 0
    for field in ("run_id", "name", "experiment_id", "status", "start_time", "end_time",
                  "duration_s", "source_name", "git_commit", "user", "host", "parent_run_id",
                  "artifact_uri"):  # fmt: skip
        if record[field] is not None:
            print(f"{field:<14} {record[field]}")
    for section in ("params", "metrics", "tags"):
        if record[section]:
            print(f"{section}:")
            for key, value in record[section].items():
                print(f"  {key:<28} {value!r}")
    if run.children:
        print("children:")
        for child in run.children:
            print(f"  {child.id[:8]}  {child.name:<28} {child.status}")
    if record["error"]:
        print("error:\n" + record["error"])
    return 0


def rename_run(args: argparse.Namespace) -> int:
    from nbtrack.tracking import manage

    manage.rename_run(args.run_id, args.name)
    print(f"run {args.run_id} is now named {args.name!r}")
    return 0


def change_stage(args: argparse.Namespace) -> int:
    from nbtrack.tracking import manage

    action = args.action
    (manage.delete_run if action == "delete" else manage.restore_run)(args.run_id)
    print(
        f"run {args.run_id} {action}d" + (" (purged by `nbtrack gc`)" if action == "delete" else "")
    )
    return 0
