"""The magics IPython registers: ``%nbtrack`` and the fallback ``%%track``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from nbtrack import config
from nbtrack.errors import NbtrackError
from nbtrack.tracking import fluent, lifecycle
from nbtrack.tracking.search import search_runs

if TYPE_CHECKING:
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    from nbtrack.magic.extension import TrackedCells

NBTRACK_USAGE = (
    "usage: %nbtrack            the store, the experiment and the active run\n"
    "       %nbtrack runs [N]   the N (default 20) newest runs of the current experiment"
)


@magics_class
class NbtrackMagics(Magics):
    def __init__(self, shell: InteractiveShell, cells: TrackedCells) -> None:
        super().__init__(shell)
        self._cells = cells

    @line_magic
    def nbtrack(self, line: str) -> pd.DataFrame | None:
        words = line.split()
        try:
            if not words:
                print(status_text())
                return None
            if words[0] == "runs" and len(words) <= 2:
                count = int(words[1]) if len(words) == 2 and words[1].isdigit() else 20
                if len(words) == 2 and not words[1].isdigit():
                    raise UsageError(
                        f"%nbtrack runs takes a number, got {words[1]!r}\n{NBTRACK_USAGE}"
                    )
                return recent_runs(count)
        except NbtrackError as exc:
            raise UsageError(str(exc)) from None
        raise UsageError(f"%nbtrack does not know {line.strip()!r}\n{NBTRACK_USAGE}")

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
    return "\n".join(lines)


def recent_runs(count: int) -> pd.DataFrame:
    import pandas as pd

    frame = search_runs(max_results=count)
    # The time each run was active, not end - start: a run reopened later counts its spans.
    frame["duration"] = pd.to_timedelta(frame["duration"], unit="s")
    keep = [
        c for c in frame.columns
        if c not in ("experiment", "end_time", "parent_run_id")
        and not c.startswith("tags.nbtrack.")
    ]  # fmt: skip
    return frame[keep].set_index("run_id")
