"""``nbtrack demo``: a small learning-rate sweep, logged and then read back as a table."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from nbtrack.entities import Run
from nbtrack.tracking import fluent

EXPERIMENT = "nbtrack-demo"
LEARNING_RATES = (0.003, 0.01, 0.03)
EPOCHS = 60


def _data(seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [
        (x, 3.0 * x - 1.0 + rng.gauss(0, 0.3)) for x in (rng.uniform(-2, 2) for _ in range(200))
    ]


def train(lr: float, seed: int = 7) -> Run:
    """Fit y = w*x + b by stochastic gradient descent, logging loss every epoch."""
    points = _data(seed)
    w = b = 0.0
    with fluent.start_run(name=f"sgd-lr{lr}", experiment=EXPERIMENT) as run:
        fluent.log_params({"lr": lr, "epochs": EPOCHS, "seed": seed, "model": "linear"})
        for epoch in range(EPOCHS):
            for x, y in points:
                error = w * x + b - y
                w -= lr * error * x
                b -= lr * error
            mse = sum((w * x + b - y) ** 2 for x, y in points) / len(points)
            fluent.log_metrics({"loss": mse, "w": w, "b": b}, step=epoch)
        fluent.log_metric("rmse", math.sqrt(mse))
        fluent.set_tag("purpose", "demo")
    return run.snapshot()


def run_demo(say: Callable[[str], None] = print) -> list[Run]:
    runs = []
    for lr in LEARNING_RATES:
        say(f"training with lr={lr} ...")
        runs.append(train(lr))
    return runs


def table(runs: list[Run]) -> str:
    header = (
        f"{'run':<14} {'status':<9} {'lr':>6} {'epochs':>6} {'final loss':>11} {'rmse':>7} "
        f"{'time':>7}"
    )
    lines = [header, "-" * len(header)]
    for run in runs:
        duration = run.duration.total_seconds() if run.duration else float("nan")
        lines.append(
            f"{run.name:<14} {run.status:<9} {run.params['lr']:>6} {run.params['epochs']:>6} "
            f"{run.metrics['loss']:>11.5f} {run.metrics['rmse']:>7.4f} {duration:>6.2f}s"
        )
    return "\n".join(lines)
