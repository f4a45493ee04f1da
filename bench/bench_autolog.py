"""What autolog adds to a fit: LogisticRegression on 10,000 x 20, side by side with MLflow.

Each variant runs in a fresh process (MLflow's and nbtrack's patches never meet) with autolog
on, and times plain fits (scikit-learn's own ``fit``, which each library keeps as the original
of its patch) and autologged fits in turn, each autologged fit logging a run of its own (no run
open, as in a first notebook cell). The overhead is the median autologged fit over the median
plain fit of the same process; BLAS runs on one thread so the fit itself varies less.
Goal (DESIGN.md §3): at most 5 % on a fit of 10 ms or more. With and without model logging,
since writing the model is most of the cost for both.

    python bench/bench_autolog.py [--fits 15] [--rows 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from side_by_side import print_table, ratio_text

GOAL = 0.05
ROWS, COLUMNS = 10_000, 20

CHILD = """
import json, statistics, sys, time, warnings
warnings.simplefilter("ignore")
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
library, log_models, fits, folder = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), sys.argv[4]
X, y = make_classification(int(sys.argv[5]), COLUMNS, n_informative=10, random_state=0)
if library == "nbtrack":
    import nbtrack
    nbtrack.autolog(log_models=log_models, silent=True)
    plain_fit = LogisticRegression.fit.__wrapped__
    done = nbtrack.flush
else:
    import logging, mlflow
    from mlflow.utils import gorilla
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    mlflow.sklearn.autolog(log_models=log_models, silent=True)
    plain_fit = gorilla.get_original_attribute(LogisticRegression, "fit")
    done = lambda: None

def timed(fit):
    model = LogisticRegression(max_iter=200)
    started = time.perf_counter()
    fit(model)
    return time.perf_counter() - started

plain = lambda model: plain_fit(model, X, y)
logged = lambda model: model.fit(X, y)
for _ in range(2):  # the first logged fit creates the store, its schema, the experiment
    timed(plain), timed(logged)
# Interleaved, so both see the same machine: other processes come and go on a shared one.
pairs = [(timed(plain), timed(logged)) for _ in range(fits)]
started = time.perf_counter()
done()
print(json.dumps({"plain": statistics.median(p for p, _ in pairs),
                  "logged": statistics.median(l for _, l in pairs),
                  "drain": time.perf_counter() - started}))
""".replace("COLUMNS", str(COLUMNS))


def _measure(library: str, log_models: bool, fits: int, rows: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, NBTRACK_URI=str(Path(folder, "nbtrack.duckdb")))
        env |= {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        arguments = [library, *map(str, (int(log_models), fits, folder, rows))]
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *arguments],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=folder,
        )
    if done.returncode != 0:
        raise SystemExit(f"{library} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=15, help="fits timed per variant")
    parser.add_argument("--rows", type=int, default=ROWS, help="training rows (20 columns)")
    args = parser.parse_args()
    started = time.perf_counter()
    lines = []
    for log_models in (False, True):
        nb = _measure("nbtrack", log_models, args.fits, args.rows)
        ml = _measure("mlflow", log_models, args.fits, args.rows)
        nb_over, ml_over = (f["logged"] / f["plain"] - 1 for f in (nb, ml))
        nb_added, ml_added = (f["logged"] - f["plain"] for f in (nb, ml))
        verdict = "meets" if nb_over <= GOAL else "misses"
        lines.append(
            [
                f"log_models={log_models}",
                f"{nb['plain'] * 1e3:.1f} ms",
                f"+{nb_added * 1e3:.1f} ms ({nb_over:+.1%})",
                f"+{ml_added * 1e3:.1f} ms ({ml_over:+.1%})",
                ratio_text(nb_added, ml_added, higher_is_better=False),
                f"{verdict} <= {GOAL:.0%}",
            ]
        )
        lines.append(
            [
                "  autologged fit",
                "",
                f"{nb['logged'] * 1e3:.1f} ms",
                f"{ml['logged'] * 1e3:.1f} ms",
                ratio_text(nb["logged"], ml["logged"], higher_is_better=False),
                "",
            ]
        )
    print(f"LogisticRegression.fit on {args.rows:,} x {COLUMNS}, median of {args.fits} fits")
    header = ["variant", "plain fit", "nbtrack adds", "MLflow adds", "nbtrack/MLflow", "goal"]
    print_table(header, lines, right=(1, 2, 3, 4))
    print(f"\nload average {os.getloadavg()[0]:.2f}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
