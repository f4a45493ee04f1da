"""MLflow's ``Run`` and ``RunInfo`` entities built straight from the service's JSON.

The plugin answers MLflow's client with MLflow's entities. Going through MLflow's protobuf
messages (``parse_dict`` then ``from_proto``) keeps the shapes those of the server's answers,
but costs about 60 µs per run: more than the rest of ``create_run``. Here the fields are
copied as ``from_proto`` would copy them, with protobuf's defaults for absent ones (an empty
text, 0, and no end time for 0). A run with dataset inputs or model outputs still goes through
the messages. ``tests/mlflow_compat/test_run_entities.py`` checks both roads give equal
protobuf messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlflow.entities import Metric, Param, Run, RunData, RunInfo, RunInputs, RunOutputs, RunTag

from nbtrack.mlflow_compat.mapping import number_in


def run_info(info: dict[str, Any]) -> RunInfo:
    """``RunInfo.from_proto`` of the ``RunInfo`` message ``info`` describes."""
    return RunInfo(
        run_id=info.get("run_id") or info.get("run_uuid") or "",
        run_name=info.get("run_name") or "",
        experiment_id=info.get("experiment_id") or "",
        user_id=info.get("user_id") or "",
        status=info.get("status") or "RUNNING",
        start_time=info.get("start_time") or 0,
        end_time=info.get("end_time") or None,
        lifecycle_stage=info.get("lifecycle_stage") or "",
        artifact_uri=info.get("artifact_uri") or "",
    )


def run(found: dict[str, Any], through_messages: Callable[[dict[str, Any]], Run]) -> Run:
    """``Run.from_proto`` of the ``Run`` message ``found`` describes; ``through_messages``
    builds the runs this module does not (dataset inputs, model outputs)."""
    inputs = found.get("inputs") or {}
    outputs = found.get("outputs") or {}
    if inputs.get("dataset_inputs") or inputs.get("model_inputs") or outputs.get("model_outputs"):
        return through_messages(found)
    data = found.get("data") or {}
    run_data = RunData(
        metrics=[
            Metric(m["key"], float(number_in(m["value"])), m.get("timestamp") or 0,  # type: ignore[arg-type]
                   m.get("step") or 0)
            for m in data.get("metrics", ())
        ],
        params=[Param(p["key"], p.get("value") or "") for p in data.get("params", ())],
        tags=[RunTag(t["key"], t.get("value") or "") for t in data.get("tags", ())],
    )  # fmt: skip
    return Run(run_info(found["info"]), run_data, RunInputs([], []), RunOutputs([]))
