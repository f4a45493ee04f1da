"""The plugin's runs built straight from the service's JSON (``mlflow_compat/run_entities``)
equal what MLflow's own road gives (``parse_dict`` into its protobuf messages, then
``from_proto``), for every kind of run the service answers with."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from mlflow.entities import RunInfo
from mlflow.protos import service_pb2
from mlflow.utils.proto_json_utils import parse_dict

from nbtrack.mlflow_compat import run_entities
from nbtrack.mlflow_compat.plugin import run_through_messages
from nbtrack.mlflow_compat.service import TrackingService


def _runs(service: TrackingService) -> dict[str, dict[str, Any]]:
    """A run of each kind, as ``service.get_run`` answers."""
    made: dict[str, str] = {}

    def new(kind: str, **given: Any) -> str:
        found = service.create_run("0", given.get("user"), 1_000, given.get("tags", []), kind)
        made[kind] = found["info"]["run_id"]
        return str(made[kind])

    new("fresh")
    new("with user and tags", user="ada", tags=[("team", "a"), ("mlflow.source.name", "x.py")])
    logged = new("logged")
    service.log_batch(
        logged,
        [("loss", 0.5, 10, 1), ("nan", math.nan, 11, 0), ("inf", -math.inf, 12, 2)],
        [("lr", "0.1"), ("empty", "")],
        [("note", "")],
    )
    ended = new("ended")
    service.update_run(ended, "FAILED", 2_000)
    deleted = new("deleted")
    service.delete_run(deleted)
    inputs = new("with inputs")
    service.log_inputs(inputs, [{"dataset": {"name": "d", "digest": "1", "source_type": "code",
                                             "source": "{}"}, "tags": []}])  # fmt: skip
    answered = {kind: service.get_run(run_id) for kind, run_id in made.items()}
    # create_run's own answer, made from what was written rather than read back.
    answered["as created"] = service.create_run("0", None, 5, [("k", "v")], "created")
    return answered


@pytest.fixture
def runs(store_path: Path) -> dict[str, dict[str, Any]]:
    return _runs(TrackingService(store_path))


KINDS = ["as created", "fresh", "with user and tags", "logged", "ended", "deleted", "with inputs"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_run_built_directly_equals_mlflows_own_parse(
    runs: dict[str, dict[str, Any]], kind: str
) -> None:
    found = runs[kind]
    direct, parsed = run_entities.run(found, run_through_messages), run_through_messages(found)
    assert direct.to_proto() == parsed.to_proto()
    assert repr(direct.data.to_dictionary()) == repr(parsed.data.to_dictionary())
    assert direct.info == parsed.info
    assert (direct.info.end_time, direct.info.run_name) == (
        parsed.info.end_time,
        parsed.info.run_name,
    )
    assert bool(direct.inputs) == bool(parsed.inputs)
    assert bool(direct.outputs) == bool(parsed.outputs)


@pytest.mark.parametrize("kind", KINDS)
def test_a_run_info_built_directly_equals_mlflows_own_parse(
    runs: dict[str, dict[str, Any]], kind: str
) -> None:
    info = runs[kind]["info"]
    parsed = service_pb2.RunInfo()
    parse_dict(info, parsed)
    assert run_entities.run_info(info) == RunInfo.from_proto(parsed)
    assert run_entities.run_info(info).end_time == RunInfo.from_proto(parsed).end_time


def test_the_run_with_inputs_goes_through_mlflows_messages(
    runs: dict[str, dict[str, Any]],
) -> None:
    built = run_entities.run(runs["with inputs"], run_through_messages)
    assert [d.dataset.name for d in built.inputs.dataset_inputs] == ["d"]
