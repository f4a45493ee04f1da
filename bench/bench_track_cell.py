"""What `%%track` adds to a cell: an empty cell with and without it, in a real IPython shell.

Goal: at most 5 ms added. The tracked cell opens and ends a run, captures its source,
literals, session history and kernel state, and shows its summary; the store itself is
written by the flusher thread, which this measures only as the contention it causes.

    python bench/bench_track_cell.py [--cells 300]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

GOAL_MS = 5.0


def _time_cells(shell: object, source: str, count: int) -> list[float]:
    run_cell = shell.run_cell  # type: ignore[attr-defined]
    timings = []
    for _ in range(count):
        with contextlib.redirect_stdout(io.StringIO()):
            started = time.perf_counter()
            result = run_cell(source, store_history=True)
            timings.append(time.perf_counter() - started)
        if not result.success:
            raise SystemExit(f"cell failed: {result.error_in_exec!r}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=300, help="cells timed per variant")
    args = parser.parse_args()

    from IPython.core.interactiveshell import InteractiveShell

    import nbtrack

    folder = Path(tempfile.mkdtemp(prefix="nbtrack-bench-"))
    nbtrack.set_tracking_uri(folder / "nbtrack.duckdb")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "nbtrack")
    variants = {
        "plain empty cell": "pass",
        "%%track empty cell": "%%track\npass",
        "plain cell, 3 literals": "lr = 0.1\nepochs = 3\nname = 'adam'",
        "%%track cell, 3 literals": "%%track\nlr = 0.1\nepochs = 3\nname = 'adam'",
    }
    print(f"warming up; then {args.cells} cells per variant, interleaved in rounds")
    for source in variants.values():
        _time_cells(shell, source, 20)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    rounds = 10
    for done in range(rounds):
        for name, source in variants.items():
            samples[name] += _time_cells(shell, source, args.cells // rounds)
        print(f"  round {done + 1}/{rounds}", flush=True)
    medians = {name: statistics.median(times) * 1000 for name, times in samples.items()}
    print()
    print(f"{'variant':<28} {'median ms':>10}")
    for name, value in medians.items():
        print(f"{name:<28} {value:>10.3f}")
    for plain, tracked in (
        ("plain empty cell", "%%track empty cell"),
        ("plain cell, 3 literals", "%%track cell, 3 literals"),
    ):
        added = medians[tracked] - medians[plain]
        verdict = "MET" if added <= GOAL_MS else "MISSED"
        what = plain.split(" ", 1)[1]
        print(f"added by %%track ({what}): {added:.3f} ms (goal <= {GOAL_MS} ms: {verdict})")
    runs = nbtrack.search_runs()
    print(f"runs recorded: {len(runs)}, all FINISHED: {set(runs['status']) == {'FINISHED'}}")


if __name__ == "__main__":
    main()
