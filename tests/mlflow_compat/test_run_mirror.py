"""``runs/get`` answered from what the server wrote itself must be what a read of the store
answers, and must give way to the store as soon as another process changed it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from nbtrack.mlflow_compat.service import TrackingService
from nbtrack.store import whole_runs

OTHER_PROCESS_TAGS = r"""
import os, sys, time
from mlflow import MlflowClient
client = MlflowClient("nbtrack:" + sys.argv[1])
client.set_tag(sys.argv[2], "from", "elsewhere")
client.log_metric(sys.argv[2], "loss", -1.0, step=99)
if sys.argv[3] == "kill":
    print("logged", flush=True)
    time.sleep(60)  # killed here: its lines stay in a journal no one has ingested
"""


def _from_store(service: TrackingService, run_id: str) -> dict[str, Any]:
    full = service.store.read(whole_runs.full_run, run_id)
    return service._run_json(full)


def _same(mirrored: dict[str, Any], stored: dict[str, Any]) -> None:
    # NaN is not equal to itself: compared as text.
    assert repr(mirrored) == repr(stored)


def test_a_run_answered_from_memory_is_the_run_the_store_holds(store_path: Path) -> None:
    service = TrackingService(store_path, mirror_runs=True)
    run_id = service.create_run("0", user_id="ann", tags=[("team", "a")])["info"]["run_id"]
    writer = service.writer(run_id)
    service.log_batch(
        run_id,
        metrics=[
            ("loss", 1.0, 1000, 3),
            ("loss", 0.5, 900, 3),  # same step, older: not the latest
            ("loss", 0.7, 1000, 3),  # same step and time, logged last: the latest
            ("loss", 9.0, 5000, 1),  # lower step: not the latest however new
            ("acc", float("nan"), 1, 0),
            ("inf", float("inf"), 2, 0),
        ],
        params=[("lr", "0.1"), ("depth", 3)],
        tags=[("team", "b"), ("note", "")],
    )
    service.log_batch(run_id, params=[("lr", "0.1")], tags=[("team", "c")])
    service.update_run(run_id, "FINISHED", 123_456)

    assert writer.mirror is not None
    mirrored = service.get_run(run_id)
    acc, inf, loss = mirrored["data"]["metrics"]
    assert (loss["value"], loss["step"], inf["value"]) == (0.7, 3, "Infinity")
    assert acc["value"] == "NaN"
    _same(mirrored, _from_store(service, run_id))


def test_a_run_read_once_is_mirrored_from_then_on(store_path: Path) -> None:
    service = TrackingService(store_path, mirror_runs=True)
    run_id = service.create_run("0")["info"]["run_id"]
    service.log_batch(run_id, tags=[("mlflow.runName", "renamed")])  # a synchronous write
    writer = service.writer(run_id)
    assert writer.mirror is not None
    generation = writer.mirror.generation

    first = service.get_run(run_id)  # the rename is not in the journal: read from the store
    assert first["info"]["run_name"] == "renamed"
    assert writer.mirror.generation != generation

    service.log_batch(run_id, metrics=[("m", 2.0, 10, 0)], params=[("p", "x")])
    _same(service.get_run(run_id), _from_store(service, run_id))


@pytest.mark.parametrize("how", ["exits", "kill"])
def test_another_process_logging_to_the_run_is_seen(store_path: Path, how: str) -> None:
    service = TrackingService(store_path, mirror_runs=True)
    run_id = service.create_run("0")["info"]["run_id"]
    service.log_batch(run_id, metrics=[("loss", 1.0, 10, 0)])
    assert service.get_run(run_id)["data"]["tags"][0]["key"] != "from"

    with subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS_TAGS, str(store_path), run_id, how],
        stdout=subprocess.PIPE,
        text=True,
    ) as other:
        if how == "kill":
            assert other.stdout is not None
            assert other.stdout.readline().strip() == "logged"
            os.kill(other.pid, signal.SIGKILL)
        other.communicate(timeout=120)

    seen = service.get_run(run_id)
    assert {"key": "from", "value": "elsewhere"} in seen["data"]["tags"]
    assert seen["data"]["metrics"] == [
        {"key": "loss", "value": -1.0, "timestamp": seen["data"]["metrics"][0]["timestamp"],
         "step": 99}
    ]  # fmt: skip


def test_mlflows_client_through_the_plugin_reads_back_what_it_logged(store_path: Path) -> None:
    client = MlflowClient(f"nbtrack:{store_path}")
    run_id = client.create_run("0").info.run_id
    for step in range(5):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    client.log_param(run_id, "lr", "0.1")
    client.set_terminated(run_id)
    run = client.get_run(run_id)
    assert run.data.metrics == {"loss": 0.2}
    assert run.data.params == {"lr": "0.1"}
    assert run.info.status == "FINISHED"


def test_the_plugins_service_reads_every_run_from_the_store(store_path: Path) -> None:
    # A notebook using the plugin may also log to the run through nbtrack's own API, in the
    # same journal: only nbtrack server, whose journal only this service writes, mirrors.
    service = TrackingService(store_path)
    run_id = service.create_run("0")["info"]["run_id"]
    service.get_run(run_id)
    assert service.writer(run_id).mirror is None
