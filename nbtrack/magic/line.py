"""The magics IPython registers: ``%nbtrack`` and the fallback ``%%track``."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import MagicArgumentParser

from nbtrack import config
from nbtrack.errors import NbtrackError
from nbtrack.tracking import fluent, lifecycle
from nbtrack.tracking.run_listing import RunListing
from nbtrack.tracking.search import empty_experiment_hint, search_runs

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from nbtrack.magic.extension import TrackedCells

DEFAULT_COUNT = 20


def parse_nbtrack_line(line: str) -> argparse.Namespace:
    """``%nbtrack``'s line as options; a mistake raises ``UsageError`` naming it."""
    try:
        words = shlex.split(line)  # as %%track splits its line: quotes group a name's words
    except ValueError as exc:
        raise UsageError(f"%nbtrack {line.strip()}: {exc}") from None
    args = _PARSER.parse_args(words)
    if args.action == "runs" and args.experiment is not None and args.all_experiments:
        raise UsageError("%nbtrack runs: give --experiment or --all-experiments, not both")
    if args.action is None and (
        args.count or args.experiment is not None or args.all_experiments or args.columns
    ):
        raise UsageError(f"%nbtrack {line.strip()}: N and the options go with %nbtrack runs")
    args.count = args.count or DEFAULT_COUNT
    return args


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"N is how many runs to show, a whole number from 1; got {text!r}"
        )
    return int(text)


def _parser() -> MagicArgumentParser:
    # IPython's parser raises UsageError instead of exiting.
    parser = MagicArgumentParser(prog="%nbtrack")
    parser.add_argument(
        "action",
        nargs="?",
        choices=["runs"],
        help="runs: the newest runs as a table; none: the store, the experiment, the active run",
    )
    parser.add_argument("count", nargs="?", type=_count, metavar="N", help="how many runs (20)")
    parser.add_argument("--experiment", "-e", help="the runs of this experiment (name or id)")
    parser.add_argument(
        "--all-experiments", "-A", action="store_true", help="the runs of every experiment"
    )
    parser.add_argument(
        "--columns", "-c", metavar="C1,C2", help="by name or prefix: run_name,params.lr,metrics."
    )
    return parser


_PARSER = _parser()


@magics_class
class NbtrackMagics(Magics):
    def __init__(self, shell: InteractiveShell, cells: TrackedCells) -> None:
        super().__init__(shell)
        self._cells = cells

    @line_magic
    def nbtrack(self, line: str) -> RunListing | None:
        """%nbtrack [runs [N] [--experiment NAME | --all-experiments] [--columns C1,C2]]

        ``%nbtrack``: the store, the current experiment and the active run.
        ``%nbtrack runs``: the N (20) newest runs of the current experiment as a table, times
        local, durations with units; ``--experiment`` / ``--all-experiments`` list others,
        ``--columns`` chooses columns by name or prefix (``run_name,params.lr,metrics.``).
        ``_.frame`` holds the raw values.
        """
        args = parse_nbtrack_line(line)
        try:
            if args.action == "runs":
                return runs_listing(args.count, args.experiment, args.all_experiments, args.columns)
            print(status_text())
            return None
        except NbtrackError as exc:
            raise UsageError(str(exc)) from None

    @cell_magic
    def track(self, line: str, cell: str) -> None:
        try:
            self._cells.track_magic(line, cell)
        except NbtrackError as exc:
            raise UsageError(str(exc)) from None


def status_text() -> str:
    active = lifecycle.active_run()
    last = lifecycle.last_started()
    lines = [
        f"store       {config.get_tracking_uri()}",
        f"experiment  {fluent.current_experiment_name()}",
        f"active run  {f'{active.name} ({active.id})' if active else 'none'}",
    ]
    if last is not None and last is not active:
        lines.append(f"last run    {last.name} ({last.id})")
    # Only a store that exists: a look at the status must not create one.
    if Path(config.get_tracking_uri()).is_file() and (hint := empty_experiment_hint()):
        lines.append(hint)
    return "\n".join(lines)


def runs_listing(
    count: int, experiment: str | None, all_experiments: bool, columns: str | None
) -> RunListing | None:
    """The newest ``count`` runs as a table; None, after saying why, when there are none."""
    if all_experiments:
        wanted: str | list[str] | None = [e.id for e in fluent.list_experiments()]
        where = "every experiment"
    else:
        wanted = experiment
        name = experiment or fluent.current_experiment_name()
        where = f"{'experiment' if experiment else 'the current experiment'} {name!r}"
    frame = search_runs(experiment=wanted, max_results=count)
    if frame.empty:
        hint = None if all_experiments else empty_experiment_hint(experiment)
        print(
            hint
            or f"No runs yet in {where}: they appear here as they are logged (with %%track or "
            "nbtrack.start_run())."
        )
        return None
    newest = f"the {count} newest" if len(frame) == count else f"{len(frame)}"
    plural = "" if len(frame) == 1 else "s"
    return RunListing(frame, columns, caption=f"{where}: {newest} run{plural}, newest first")
