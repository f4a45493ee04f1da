"""How a run looks when a notebook displays it (HTML) or a console prints it (text)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from IPython.lib.pretty import pretty

from nbtrack.entities import ChildRun, Run, RunSpan, format_duration, format_number
from nbtrack.tracking.models import ModelInfo

START = dt.datetime(2024, 5, 1, 12, 0, 3, tzinfo=dt.UTC)
EVIL = "<script>alert(1)</script>"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "<cell>", line 3, in <module>\n'
    "    train()\n"
    "ValueError: loss exploded at epoch 3\n\n"
)


def _run(**changes: Any) -> Run:
    run = Run(
        id="3f2a9c1e8b1d0e774c2a9f1e8b1d0e77",
        name="swift-otter-042",
        experiment_id="1",
        status="FINISHED",
        start_time=START,
        end_time=START + dt.timedelta(seconds=1.2),
        params={"lr": 0.1, "epochs": 3},
        metrics={"acc": 0.95123, "loss": 0.12012},
        tags={"team": "vision", "nbtrack.kernel_id": "k-123"},
    )
    return dataclasses.replace(run, **changes)


def _badge_colour(page: str, status: str) -> str:
    found = re.search(rf"color:rgb\(([\d,]+)\)[^>]*>{status}</span>", page)
    assert found, f"no {status} badge in {page}"
    return found.group(1)


# -- the HTML card -------------------------------------------------------------------------------


def test_displaying_a_finished_run_shows_name_status_duration_params_metrics_and_id() -> None:
    page = _run()._repr_html_()

    assert "swift-otter-042" in page
    assert ">FINISHED</span>" in page
    assert "1.2 s" in page
    assert "started 2024-05-01" in page
    assert ">lr</td>" in page and ">0.1</td>" in page
    assert ">epochs</td>" in page and ">3</td>" in page
    assert ">acc</td>" in page and ">0.9512</td>" in page
    assert ">loss</td>" in page and ">0.1201</td>" in page
    assert "team=vision" in page
    assert "3f2a9c1e8b1d0e774c2a9f1e8b1d0e77" in page


@pytest.mark.parametrize(
    ("status", "colour"),
    [
        ("RUNNING", "33,150,243"),
        ("FINISHED", "46,160,67"),
        ("FAILED", "229,57,53"),
        ("KILLED", "128,128,128"),
    ],
)
def test_each_status_has_its_own_badge_colour(status: str, colour: str) -> None:
    end = None if status == "RUNNING" else START + dt.timedelta(seconds=5)
    page = _run(status=status, end_time=end)._repr_html_()

    assert _badge_colour(page, status) == colour


def test_user_text_is_escaped_everywhere_in_the_card() -> None:
    run = _run(
        name=EVIL,
        status="FAILED",
        params={EVIL: EVIL, "quote": '" onmouseover="alert(2)'},
        metrics={EVIL: 1.0},
        tags={EVIL: EVIL},
        error=f"Traceback ...\nValueError: {EVIL}",
    )
    page = run._repr_html_()

    assert "<script>" not in page
    assert 'onmouseover="' not in page
    # name, param key and value, metric key, tag key and value, error
    assert page.count(html.escape(EVIL)) == 7
    assert "&quot; onmouseover=&quot;alert(2)" in page


def test_tags_that_nbtrack_sets_itself_are_hidden() -> None:
    page = _run(tags={"nbtrack.kernel_id": "k-123", "nbtrack.git.dirty": "true"})._repr_html_()

    assert "nbtrack." not in page
    assert "k-123" not in page


def test_a_nan_metric_shows_as_nan() -> None:
    run = _run(metrics={"loss": float("nan"), "best": float("inf")})

    assert ">NaN</td>" in run._repr_html_()
    assert ">inf</td>" in run._repr_html_()
    assert "loss=NaN best=inf" in run.summary_text()


def test_a_running_run_without_an_end_time_shows_the_time_so_far() -> None:
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3, seconds=4)
    run = _run(status="RUNNING", start_time=started, end_time=None)

    assert re.search(r"3 min [45] s so far", run._repr_html_())
    assert re.search(r"^run 'swift-otter-042' RUNNING for 3 min [45] s ·", run.summary_text())


def test_a_killed_run_without_an_end_time_shows_no_duration() -> None:
    run = _run(status="KILLED", end_time=None)

    assert run.summary_text().startswith("run 'swift-otter-042' KILLED · lr=0.1")
    assert " s ·" not in run._repr_html_()


def test_a_failed_run_shows_the_last_line_of_its_traceback() -> None:
    run = _run(status="FAILED", error=TRACEBACK)
    page = run._repr_html_()

    assert "ValueError: loss exploded at epoch 3" in page
    assert "Traceback" not in page
    assert run.summary_text().endswith("\n  ValueError: loss exploded at epoch 3")


def test_an_error_is_shown_only_for_a_failed_run() -> None:
    run = _run(status="KILLED", error="KeyboardInterrupt")

    assert "KeyboardInterrupt" not in run._repr_html_()
    assert "\n" not in run.summary_text()


def test_a_run_with_many_params_shows_the_first_twenty_and_a_count() -> None:
    page = _run(params={f"p{i:02}": i for i in range(25)})._repr_html_()

    assert ">p19</td>" in page
    assert ">p20</td>" not in page
    assert "… 5 more" in page


def test_a_reopened_run_shows_the_sum_of_its_spans_not_the_time_from_first_start_to_last_end() -> (
    None
):
    later = START + dt.timedelta(minutes=5)
    spans = (
        RunSpan(START, START + dt.timedelta(milliseconds=49)),
        RunSpan(later, later + dt.timedelta(milliseconds=250)),
    )
    run = _run(end_time=later + dt.timedelta(milliseconds=250), spans=spans)

    assert run.duration == dt.timedelta(milliseconds=299)
    assert "299 ms" in run._repr_html_()
    assert run.summary_text().startswith("run 'swift-otter-042' FINISHED in 299 ms ·")


def test_a_running_run_counts_its_open_span_until_now() -> None:
    now = dt.datetime.now(dt.UTC)
    spans = (
        RunSpan(now - dt.timedelta(hours=2), now - dt.timedelta(hours=2) + dt.timedelta(seconds=3)),
        RunSpan(now - dt.timedelta(seconds=10), None),
    )
    run = _run(status="RUNNING", start_time=spans[0].start_time, end_time=None, spans=spans)

    assert run.duration is not None
    assert dt.timedelta(seconds=13) <= run.duration < dt.timedelta(seconds=15)


def test_a_parents_card_lists_its_children_by_name_status_and_short_id() -> None:
    children = tuple(
        ChildRun(f"{n:08x}" + "0" * 24, f"{EVIL}-{n}" if n == 1 else f"trial-{n}", status)
        for n, status in enumerate(["FINISHED", "FAILED", "RUNNING"])
    )
    run = _run(children=children)
    page = run._repr_html_()

    assert "child runs (3)" in page
    assert "trial-0" in page and "trial-2" in page
    assert html.escape(f"{EVIL}-1") in page and EVIL not in page
    assert ">00000002</span>" in page
    assert _badge_colour(page, "FAILED") != _badge_colour(page, "RUNNING")
    assert "· 3 child runs" in run.summary_text()


def test_a_run_with_many_children_lists_the_first_twenty_and_a_count() -> None:
    children = tuple(ChildRun(f"{n:032x}", f"trial-{n}", "FINISHED") for n in range(23))
    page = _run(children=children)._repr_html_()

    assert "trial-19" in page and "trial-20" not in page
    assert "… 3 more" in page


# -- the text summary ----------------------------------------------------------------------------


def test_summary_text_is_one_line_with_status_duration_params_and_metrics() -> None:
    assert _run().summary_text() == (
        "run 'swift-otter-042' FINISHED in 1.2 s · lr=0.1 epochs=3 · acc=0.9512 loss=0.1201"
    )


def test_ipython_prints_the_summary_as_plain_text() -> None:
    assert pretty(_run()) == _run().summary_text()


def test_summary_text_of_a_bare_run_is_just_its_name_status_and_duration() -> None:
    assert _run(params={}, metrics={}).summary_text() == "run 'swift-otter-042' FINISHED in 1.2 s"


def test_summary_text_cuts_long_param_values_and_long_lists() -> None:
    run = _run(params={"prompt": "x" * 100, **{f"p{i}": i for i in range(10)}}, metrics={})
    text = run.summary_text()

    assert f"prompt={'x' * 23}…" in text
    assert text.endswith("p6=6 …+3")


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0.34, "340 ms"),
        (1.2, "1.2 s"),
        (59.97, "1 min 0 s"),
        (184, "3 min 4 s"),
        (2 * 3600 + 5 * 60 + 10, "2 h 5 min"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
    ],
)
def test_durations_read_as_a_person_would_say_them(seconds: float, said: str) -> None:
    assert format_duration(dt.timedelta(seconds=seconds)) == said


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.95123, "0.9512"), (3.0, "3"), (60000.0, "60000"), (1.23456e-7, "1.235e-07"),
     (float("-inf"), "-inf")],
)  # fmt: skip
def test_metric_values_show_four_significant_digits(value: float, shown: str) -> None:
    assert format_number(value) == shown


# -- ModelInfo: what log_model returns, in one line ------------------------------------------------


def _model_info(**changes: Any) -> ModelInfo:
    inputs = [{"type": "double", "name": f"x{i}", "required": True} for i in range(1, 7)]
    outputs = [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]
    info = ModelInfo(
        model_uri="runs:/3f2a9c1e8b1d0e774c2a9f1e8b1d0e77/model",
        run_id="3f2a9c1e8b1d0e774c2a9f1e8b1d0e77",
        artifact_path="model",
        flavor="sklearn",
        model_uuid="u",
        signature={"inputs": json.dumps(inputs), "outputs": json.dumps(outputs), "params": None},
        registered_model_version=2,
    )
    return dataclasses.replace(info, **changes)


def test_a_model_info_is_one_line_with_uri_flavor_version_and_signature_summary() -> None:
    text = repr(_model_info())

    assert text == (
        "<ModelInfo runs:/3f2a9c1e8b1d0e774c2a9f1e8b1d0e77/model · sklearn · registered "
        "version 2 · inputs: 6 columns (x1 double, x2 double, x3 double, x4 double, … 2 more) "
        "· outputs: tensor int64 (-1)>"
    )
    assert pretty(_model_info()) == text


def test_a_model_info_without_signature_or_registration_says_less() -> None:
    text = repr(_model_info(signature=None, registered_model_version=None))
    assert text == "<ModelInfo runs:/3f2a9c1e8b1d0e774c2a9f1e8b1d0e77/model · sklearn>"
    garbled = repr(_model_info(signature={"inputs": "{not json", "outputs": None}))
    assert "inputs: unreadable" in garbled and "outputs" not in garbled


def test_a_logged_and_registered_model_prints_as_one_short_line(store_path: Path) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import nbtrack

    features = pd.DataFrame({"x1": [0.0, 1, 2, 3], "x2": [1, 2, 3, 4], "x3": [0.5, 1, 1, 0]})
    with nbtrack.start_run() as run:
        info = nbtrack.log_model(
            LogisticRegression().fit(features, [0, 0, 1, 1]),
            input_example=features,
            registered_model_name="churn",
        )

    text = pretty(info)
    assert "\n" not in text and len(text) < 200 and "{" not in text
    assert text.startswith(f"<ModelInfo runs:/{run.id}/model · sklearn · registered version 1")
    assert "inputs: 3 columns (x1 double, x2 long, x3 double)" in text
