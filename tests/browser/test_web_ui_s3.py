"""The run page of ``nbtrack server --artifacts-destination s3://...`` in a real browser: the
files MLflow's client logged into the bucket (moto's S3 server on loopback) are listed, the
picture is shown and the table previewed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import UiPage, screenshot_path
from tests.mlflow_compat.conftest import RunningServer, reset_mlflow
from tests.team.artifact_servers import bucket_object
from tests.team.conftest import s3, s3_team_server  # noqa: F401  (fixtures)


@pytest.fixture
def run_in_bucket(s3_team_server: RunningServer, tmp_path: Path) -> Iterator[str]:  # noqa: F811
    """A run whose picture and table MLflow's client logged into the bucket; its id."""
    import mlflow

    figure, axes = plt.subplots(figsize=(4, 3))
    axes.plot([0, 1, 2], [1.0, 0.5, 0.25])
    figure.savefig(tmp_path / "loss.png")
    plt.close(figure)
    (tmp_path / "losses.csv").write_text("epoch,loss\n0,1.0\n1,0.5\n2,0.25\n")
    mlflow.set_tracking_uri(s3_team_server.url)
    try:
        with mlflow.start_run(run_name="in-the-bucket") as run:
            mlflow.log_metric("loss", 0.25)
            mlflow.log_artifact(str(tmp_path / "loss.png"), artifact_path="plots")
            mlflow.log_artifact(str(tmp_path / "losses.csv"), artifact_path="eval")
    finally:
        reset_mlflow()
    tree = run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
    assert bucket_object(f"{tree}/plots/loss.png") == (tmp_path / "loss.png").read_bytes()
    yield run.info.run_id


def test_the_run_page_shows_files_held_in_the_bucket(
    s3_team_server: RunningServer,  # noqa: F811
    run_in_bucket: str,
    ui_page: UiPage,
) -> None:
    page = ui_page.page
    page.goto(f"{s3_team_server.url}/nbtrack/ui/#/runs/{run_in_bucket}")
    expect(page.locator('button[data-path="plots/loss.png"]')).to_be_visible()
    expect(page.locator('button[data-path="eval/losses.csv"]')).to_be_visible()
    # The picture is the first one shown: read from the bucket through the server.
    page.wait_for_function("() => document.querySelector('img.nbt-image')?.naturalWidth > 100")
    page.screenshot(path=screenshot_path("run_page_s3", "image"), full_page=True)
    page.locator('button[data-path="eval/losses.csv"]').click()
    expect(page.locator(".nbt-preview table tbody tr")).to_have_count(3)
    page.screenshot(path=screenshot_path("run_page_s3", "table"), full_page=True)
    assert ui_page.errors == []
