"""``nbtrack run PROJECT_DIR|NOTEBOOK``: an entry point of a project, as one run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

RUN_HELP = """\
Runs an entry point of a project (a folder with an MLproject file, or a notebook or script) as
one run: its parameters checked against their types before anything runs, its output shown
and kept as output.log, and the process logging to the run through NBTRACK_RUN_ID. Exits with
the entry point's exit status (130 after Ctrl-C)."""


def add_commands(commands: Any) -> None:
    run = commands.add_parser(
        "run", help="run an MLproject entry point or a notebook as a run", description=RUN_HELP
    )
    run.add_argument("project", metavar="PROJECT_DIR|NOTEBOOK")
    run.add_argument("-e", "--entry-point", default="main", metavar="ENTRY",
                     help="an entry point of the MLproject, or a .py, .sh or .ipynb file of the "
                     "project (default: main)")  # fmt: skip
    run.add_argument("-P", "--param-list", action="append", default=[], metavar="KEY=VALUE",
                     help="a parameter, once per key")  # fmt: skip
    run.add_argument("--experiment-name", "-n", metavar="NAME",
                     help="the experiment (created if missing)")  # fmt: skip
    run.add_argument("--run-name", metavar="NAME", help="the run's name (default: a generated one)")
    run.add_argument("--env-manager", metavar="local|uv|virtualenv",
                     help="local: this Python (the default); uv or virtualenv: an environment "
                     "built from the project's python_env.yaml, cached")  # fmt: skip
    run.add_argument("--no-conda", action="store_true",
                     help="MLflow's spelling of --env-manager local")  # fmt: skip
    run.set_defaults(handler=run_project)


def run_project(args: argparse.Namespace) -> int:
    from nbtrack.errors import InvalidValueError
    from nbtrack.projects.parameters import parse_assignments
    from nbtrack.projects.running import execute

    if args.no_conda and args.env_manager not in (None, "local"):
        raise InvalidValueError(
            f"--no-conda means --env-manager local, and --env-manager {args.env_manager} "
            "was given too: give one of them"
        )
    try:
        outcome = execute(
            args.project,
            entry_point=args.entry_point,
            parameters=parse_assignments(args.param_list),
            experiment=args.experiment_name,
            run_name=args.run_name,
            env_manager=args.env_manager or "local",
        )
    except KeyboardInterrupt:
        return 130
    print(f"nbtrack run: see it with: nbtrack runs show {outcome.run.id}", file=sys.stderr)
    return outcome.returncode
