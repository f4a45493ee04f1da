"""A run with a picture, a table and a model logged to a real ``nbtrack server`` by a client
process, and a real ``nbtrack ui`` process whose tracking URI is that server."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tests.conftest import REPO

CLIENT = textwrap.dedent(
    """
    import json
    from sklearn.linear_model import LinearRegression
    import nbtrack

    with nbtrack.start_run(name="with-files") as run:
        nbtrack.log_metric("loss", 0.25)
        nbtrack.log_artifact("loss.png", artifact_path="plots")
        nbtrack.log_artifact("losses.csv", artifact_path="eval")
        nbtrack.log_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0]), "model")
    print(json.dumps({"run": run.id}), flush=True)
    """
)
LOSSES = "epoch,loss\n0,1.0\n1,0.5\n2,0.25\n"


@dataclass(frozen=True)
class Logged:
    """The run a client logged, and the files it logged, as they were on its disk."""

    run_id: str
    png: bytes
    csv: bytes


def env_for(url: str) -> dict[str, str]:
    """A process whose tracking URI is the server at ``url``, importing this checkout."""
    return {**os.environ, "NBTRACK_URI": url, "PYTHONPATH": str(REPO)}


def log_run_with_files(url: str, folder: Path) -> Logged:
    """A client process in ``folder`` logs the run to the server; it has sent every file when
    it exits."""
    folder.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(4, 3))
    axes.plot([0, 1, 2], [1.0, 0.5, 0.25])
    figure.savefig(folder / "loss.png")
    plt.close(figure)
    (folder / "losses.csv").write_text(LOSSES, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", CLIENT],
        cwd=folder, env=env_for(url), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout.splitlines()[-1])["run"]
    return Logged(run_id, (folder / "loss.png").read_bytes(), LOSSES.encode())


@contextlib.contextmanager
def ui_of(url: str, folder: Path) -> Iterator[str]:
    """``nbtrack ui --port 0`` run in ``folder`` with ``NBTRACK_URI`` = the server; its page's
    URL (``.../nbtrack/ui/``). It must stop on SIGTERM without a traceback."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "ui.err").open("w+", encoding="utf-8") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "nbtrack.cli", "ui", "--port", "0"],
            cwd=folder, env=env_for(url), stdout=subprocess.PIPE, stderr=err, text=True,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert " at " in line, (line, (folder / "ui.err").read_text(encoding="utf-8"))
            yield line.split(" at ")[1].split()[0]
        finally:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
            assert process.stdout is not None
            process.stdout.close()
        err.seek(0)
        assert "Traceback" not in err.read()
