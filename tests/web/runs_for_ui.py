"""Runs a person would browse: three experiments, curves, code, an image, a table, an HTML
page, and a registered model with two versions. Logged through the public API."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbtrack
from nbtrack.tracking.lifecycle import open_run

# An HTML artifact that tries what a hostile page would: read the cookie, call the API.
HOSTILE_HTML = """<!doctype html><html><body><h1>report</h1><script>
window.top.document.title = "pwned " + document.cookie;
fetch("/nbtrack/api/models/churn/aliases", {method: "POST", credentials: "include",
  headers: {"Content-Type": "application/json"},
  body: JSON.stringify({alias: "champion", version: 1})});
</script></body></html>"""
FEATURES = [[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]]
LABELS = [0, 1, 0, 1]
CODE = """lr = {lr}
for epoch in range(8):
    loss = 1 / (epoch + 1) + lr
    nbtrack.log_metric("loss", loss, step=epoch)
"""


@dataclass
class Logged:
    experiments: list[str]
    runs: dict[str, list[str]] = field(default_factory=dict)
    model: str = "churn"
    showcase: str = ""


def log_runs(folder: Path, with_model: bool = True) -> Logged:
    """Three experiments of three runs each; the first run of ``sweep`` has everything."""
    logged = Logged(experiments=["baseline", "sweep", "tuning"])
    for e, experiment in enumerate(logged.experiments):
        nbtrack.set_experiment(experiment)
        for i in range(3):
            lr = round(0.1 * (i + 1) + e / 100, 3)
            # A notebook cell's run, as %%track records it: its code, notebook and cell id.
            with open_run(
                name=f"{experiment}-{i}",
                source=CODE.format(lr=lr),
                source_name=f"notebooks/{experiment}.ipynb",
                tags={"nbtrack.cell_id": f"cell-{i}"},
            ) as run:
                nbtrack.log_params({"lr": lr, "optimizer": "adam" if i % 2 else "sgd"})
                for step in range(8):
                    nbtrack.log_metric("loss", 1 / (step + 1) + lr, step=step)
                nbtrack.log_metric("acc", round(0.7 + 0.05 * i + 0.01 * e, 4))
                nbtrack.set_tag("team", "growth")
            logged.runs.setdefault(experiment, []).append(run.id)
    nbtrack.set_experiment("sweep")
    with nbtrack.start_run(run_id=logged.runs["sweep"][0]):
        _showcase_artifacts(folder)
        with nbtrack.start_run(name="sweep-0-fold-1", nested=True):
            nbtrack.log_metric("acc", 0.71)
    logged.showcase = logged.runs["sweep"][0]
    if with_model:
        _register(logged)
    return logged


def _showcase_artifacts(folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(3, 3), dpi=80)
    axes.imshow([[40, 3], [5, 52]], cmap="Blues")
    axes.set_title("confusion")
    nbtrack.log_figure(figure, "plots/confusion.png")
    pyplot.close(figure)
    nbtrack.log_text("epoch,loss\n0,1.1\n1,0.6\n", "eval/losses.csv")
    nbtrack.log_dict({"lr": 0.1, "layers": [64, 32]}, "config.yaml")
    nbtrack.log_text(HOSTILE_HTML, "report.html")
    # Where %%track keeps the kernel's inputs before the run.
    nbtrack.log_text("import nbtrack\nlr = 0.11\n", "nbtrack/session_history.py")


def _register(logged: Logged) -> None:
    from sklearn.linear_model import LogisticRegression

    # Version 1 learns the labels, version 2 their opposite: which one answers shows.
    versions = (LABELS, [1 - y for y in LABELS])
    for run_id, labels in zip(logged.runs["tuning"][:2], versions, strict=True):
        with nbtrack.start_run(run_id=run_id):
            model = LogisticRegression().fit(FEATURES, labels)
            nbtrack.log_model(model, "model", registered_model_name=logged.model)
    nbtrack.promote(logged.model, 1)
