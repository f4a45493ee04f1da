from pathlib import Path

import nbtrack


def test_a_logged_run_reads_back(store_path: Path) -> None:
    with nbtrack.start_run(name="smoke") as run:
        nbtrack.log_param("lr", 0.1)
        nbtrack.log_metric("loss", 0.5)
    got = nbtrack.get_run(run.id)
    assert got.params == {"lr": 0.1}
    assert got.metrics == {"loss": 0.5}
    assert got.status == "FINISHED"
    assert store_path.exists()
