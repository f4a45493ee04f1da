"""Diffing two runs: their code line by line, their params and their latest metrics."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.errors import InvalidValueError, NotFoundError
from nbtrack.tracking.diff import MISSING, RunDiff, diff
from nbtrack.tracking.lifecycle import open_run
from nbtrack.tracking.run import ActiveRun

BASELINE = "data = load()\nlr = 0.1\nfit(data, lr)\nscore(data)\n"
TUNED = "data = load()\nlr = 0.01\nfit(data, lr)\nscore(data)\n"


def _tracked(
    name: str,
    source: str | None,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
) -> ActiveRun:
    # As %%track does it: the cell's source recorded when the run starts.
    with open_run(name=name, experiment="Default", source=source) as run:
        nbtrack.log_params(params or {})
        nbtrack.log_metrics(metrics or {})
    return run


@pytest.fixture
def two_runs(store_path: Path) -> tuple[ActiveRun, ActiveRun]:
    baseline = _tracked(
        "baseline",
        BASELINE,
        params={"lr": 0.1, "epochs": 3, "dropout": 0.2},
        metrics={"acc": 0.9, "loss": 0.25},
    )
    tuned = _tracked(
        "tuned",
        TUNED,
        params={"lr": 0.01, "epochs": 3, "seed": 7},
        metrics={"acc": 0.95, "f1": 0.5},
    )
    return baseline, tuned


def test_the_changed_line_shows_as_removed_then_added_in_the_text(
    two_runs: tuple[ActiveRun, ActiveRun],
) -> None:
    baseline, tuned = two_runs
    lines = str(diff(baseline.id, tuned.id)).splitlines()

    assert lines[0] == f"--- run 'baseline' ({baseline.id[:8]})"
    assert lines[1] == f"+++ run 'tuned' ({tuned.id[:8]})"
    assert lines[2].startswith("@@ -1,4 +1,4 @@")
    assert lines[3:7] == [" data = load()", "-lr = 0.1", "+lr = 0.01", " fit(data, lr)"]


def test_the_text_lists_param_and_metric_changes_after_the_code(
    two_runs: tuple[ActiveRun, ActiveRun],
) -> None:
    text = str(diff(*two_runs))
    after_code = text.split(" score(data)\n\n", 1)[1]

    assert after_code.splitlines() == [
        "params: 3 changed, 1 the same",
        "  dropout  0.2 → —",
        "  lr       0.1 → 0.01",
        "  seed     — → 7",
        "metrics: 3 changed",
        "  acc   0.9 → 0.95  (+0.05)",
        "  f1    — → 0.5",
        "  loss  0.25 → —",
    ]


def test_param_and_metric_changes_name_each_key_with_both_sides(
    two_runs: tuple[ActiveRun, ActiveRun],
) -> None:
    d = diff(*two_runs)

    assert d.param_changes == {"lr": (0.1, 0.01), "dropout": (0.2, MISSING), "seed": (MISSING, 7)}
    assert d.metric_changes == {"acc": (0.9, 0.95), "loss": (0.25, MISSING), "f1": (MISSING, 0.5)}
    assert repr(MISSING) == "—"
    assert not d.same_code and not d.same_params and not d.same_metrics


def test_the_html_colours_removed_lines_red_added_lines_green_and_context_grey(
    two_runs: tuple[ActiveRun, ActiveRun],
) -> None:
    page = diff(*two_runs)._repr_html_()

    def style_of(line: str) -> str:
        found = re.search(rf'<div style="([^"]*)">{re.escape(html.escape(line))}</div>', page)
        assert found, f"{line!r} is not a line of {page}"
        return found.group(1)

    assert "rgba(229,57,53" in style_of("-lr = 0.1")
    assert "rgba(46,160,67" in style_of("+lr = 0.01")
    assert "opacity:.6" in style_of(" fit(data, lr)")
    assert "monospace" in page


def test_the_html_marks_changed_param_and_metric_cells_and_dims_the_same_ones(
    two_runs: tuple[ActiveRun, ActiveRun],
) -> None:
    page = diff(*two_runs)._repr_html_()

    changed = re.findall(r'<td style="[^"]*rgba\(255,193,7,[^"]*">([^<]*)</td>', page)
    # keys in order: dropout, lr, seed; acc, f1, loss
    assert changed == ["0.2", "—", "0.1", "0.01", "—", "7", "0.9", "0.95", "—", "0.5", "0.25", "—"]
    assert re.search(r'<td style="[^"]*opacity:\.6">3</td>', page)
    assert ">+0.05</td>" in page


def test_ids_runs_and_open_runs_are_all_accepted(
    two_runs: tuple[ActiveRun, ActiveRun],
) -> None:
    baseline, tuned = two_runs
    by_id = diff(baseline.id, tuned.id)
    by_run = diff(nbtrack.get_run(baseline.id), nbtrack.get_run(tuned.id))
    by_active_run = diff(baseline, tuned)

    for d in (by_run, by_active_run):
        assert d.code_lines == by_id.code_lines
        assert d.param_changes == by_id.param_changes
        assert d.metric_changes == by_id.metric_changes
    assert by_id.run_a.name == "baseline"
    assert by_id.run_b.name == "tuned"


def test_a_run_still_open_is_diffed_as_it_is_now(store_path: Path) -> None:
    done = _tracked("done", BASELINE, params={"lr": 0.1}, metrics={"loss": 0.5})
    with open_run(name="live", experiment="Default", source=TUNED) as live:
        nbtrack.log_params({"lr": 0.01})
        nbtrack.log_metric("loss", 0.4)
        d = diff(done, live)

    assert d.run_b.status == "RUNNING"
    assert d.param_changes == {"lr": (0.1, 0.01)}
    assert d.metric_changes == {"loss": (0.5, 0.4)}


def test_identical_runs_say_same_code_same_params_and_same_metrics(store_path: Path) -> None:
    first = _tracked("first", BASELINE, params={"lr": 0.1}, metrics={"loss": float("nan")})
    second = _tracked("second", BASELINE, params={"lr": 0.1}, metrics={"loss": float("nan")})
    d = diff(first, second)

    assert d.code_lines == ()
    assert d.same_code and d.same_params and d.same_metrics
    assert str(d) == "same code\nsame params\nsame metrics"
    page = d._repr_html_()
    assert "same code" in page and "same params" in page and "same metrics" in page


def test_params_logged_as_different_types_count_as_changed(store_path: Path) -> None:
    a = _tracked("a", None, params={"flag": 1, "n": 3})
    b = _tracked("b", None, params={"flag": True, "n": 3.0})

    assert diff(a, b).param_changes == {"flag": (1, True), "n": (3, 3.0)}


def test_a_run_without_recorded_code_diffs_as_empty_and_says_so(store_path: Path) -> None:
    with nbtrack.start_run(name="script") as plain:
        nbtrack.log_param("lr", 0.1)
    cell = _tracked("cell", "fit()\n", params={"lr": 0.1})
    d = diff(plain, cell)

    assert d.code_lines[0] == f"--- run 'script' ({plain.id[:8]}): no code recorded"
    assert d.code_lines[3:] == ("+fit()",)
    assert "no code recorded" in d._repr_html_()
    assert str(diff(plain, plain)).startswith("no code recorded for either run\n")


def test_every_user_text_is_escaped_in_the_html(store_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    a = _tracked(evil, f"x = '{evil}'\n", params={evil: evil}, metrics={evil: 1.0})
    b = _tracked(evil, "x = 1\n", params={evil: "safe"}, metrics={evil: 2.0})
    page = diff(a, b)._repr_html_()

    assert "<script>" not in page
    # each name in the heading, a diff header and both table heads (2 x 4); the removed code
    # line, the param key and value, the metric key
    assert page.count(html.escape(evil)) == 12


def test_an_unknown_run_id_raises_not_found_naming_it(store_path: Path) -> None:
    known = _tracked("known", None)

    with pytest.raises(NotFoundError, match="no-such-run"):
        diff(known, "no-such-run")


@pytest.mark.parametrize("bad", [42, None, ["abc"]])
def test_something_that_is_not_a_run_raises_invalid_value_naming_it(
    store_path: Path, bad: object
) -> None:
    known = _tracked("known", None)

    with pytest.raises(InvalidValueError, match=re.escape(repr(bad))):
        diff(bad, known)  # type: ignore[arg-type]


def test_the_repr_is_one_short_line(two_runs: tuple[ActiveRun, ActiveRun]) -> None:
    d = diff(*two_runs)

    assert isinstance(d, RunDiff)
    assert repr(d) == "<RunDiff 'baseline' → 'tuned': 2 code lines, 3 params, 3 metrics differ>"
