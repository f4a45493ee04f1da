"""%nbtrack and %nbtrack runs in a real IPython shell: the table a notebook shows, and what it
says when the current experiment is empty (as after a kernel restart)."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbtrack
from nbtrack.magic.line import parse_nbtrack_line
from nbtrack.tracking.run_listing import RunListing
from tests.magic.conftest import cell


def log_sweep_elsewhere() -> None:
    """Runs in "sweep" while the current experiment stays Default: what a kernel that was
    restarted finds."""
    for C in (0.01, 1.0):
        with nbtrack.start_run(name=f"logreg-C{C}", experiment="sweep"):
            nbtrack.log_params({"model": "logreg", "C": C})
            nbtrack.log_metric("acc", 0.9 + C / 100)
    with nbtrack.start_run(name="tree", experiment="sweep"):
        nbtrack.log_params({"model": "tree", "max_depth": 3})
    assert nbtrack.get_tracking_uri() and nbtrack.search_runs().empty


def formats(shell: InteractiveShell, listing: object) -> dict[str, str]:
    data: dict[str, str] = shell.display_formatter.format(listing)[0]
    return data


def test_runs_of_an_empty_current_experiment_say_where_the_runs_are(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    log_sweep_elsewhere()

    result = cell(ip, "%nbtrack runs")

    assert result.success and result.result is None
    out = capsys.readouterr().out
    assert "The current experiment 'Default' has no runs" in out
    assert "'sweep' (3 runs)" in out
    assert "nbtrack.set_experiment('sweep')" in out and "%nbtrack runs --experiment sweep" in out


def test_the_status_says_so_too(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    log_sweep_elsewhere()

    cell(ip, "%nbtrack")

    out = capsys.readouterr().out
    assert "experiment  Default" in out and "'sweep' (3 runs)" in out


def test_a_status_look_creates_no_store(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], store_path: Path
) -> None:
    cell(ip, "%nbtrack")
    assert str(store_path) in capsys.readouterr().out
    assert not store_path.exists()


def test_runs_show_an_html_table_and_a_text_one_formatted_alike(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    log_sweep_elsewhere()

    result = cell(ip, "%nbtrack runs --experiment sweep")

    listing = result.result
    assert isinstance(listing, RunListing)
    shown = formats(ip, listing)
    page, text = shown["text/html"], shown["text/plain"]
    assert text.splitlines()[0] == "experiment 'sweep': 3 runs, newest first"
    assert "<table" in page and "experiment &#x27;sweep&#x27;: 3 runs" in page
    start = listing.cells["start_time"][0]
    assert len(start) == len("2024-05-01 12:00:03") and start in page and start in text
    assert all(value.endswith(" ms") or value.endswith(" s") for value in listing.cells["duration"])
    assert ">FINISHED</span>" in page
    assert listing.cells["params.C"][0] == "-"  # the tree has no C
    for noise in ("NaN", "<NA>", "NaT", "days", "+00:00"):
        assert noise not in text and f">{noise}<" not in page
    assert list(listing.frame["run_name"]) == ["tree", "logreg-C1.0", "logreg-C0.01"]


def test_runs_take_a_count_columns_and_every_experiment(ip: InteractiveShell) -> None:
    log_sweep_elsewhere()
    with nbtrack.start_run(name="stray"):
        pass

    two = cell(ip, "%nbtrack runs 2 -e sweep -c run_name,metrics").result
    every = cell(ip, "%nbtrack runs --all-experiments").result

    assert isinstance(two, RunListing) and isinstance(every, RunListing)
    assert two.columns == ["run_name", "metrics.acc"] and len(two) == 2
    assert two.caption == "experiment 'sweep': the 2 newest runs, newest first"
    assert sorted(every.frame["experiment"]) == ["Default", "sweep", "sweep", "sweep"]
    assert "experiment" in every.columns


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("runs x", "got 'x'"),
        ("runs 0", "got '0'"),
        ("frobnicate", "'frobnicate'"),
        ("-A", "go with %nbtrack runs"),
        ("runs -A -e sweep", "not both"),
        ("runs -e 'no such'", "'no such'"),
        ("runs -e sweep -c metric.acc", "metrics.acc"),
        ('runs -e "sweep', "quotation"),
    ],
)
def test_a_bad_line_is_one_usage_error_naming_the_culprit(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], line: str, said: str
) -> None:
    log_sweep_elsewhere()

    result = cell(ip, f"%nbtrack {line}")

    assert type(result.error_in_exec).__name__ == "UsageError"
    assert said in str(result.error_in_exec)


def test_the_line_is_parsed_without_a_shell() -> None:
    args = parse_nbtrack_line("runs 5 --experiment 'my sweep' --columns params.lr,metrics.")
    assert (args.action, args.count, args.experiment) == ("runs", 5, "my sweep")
    assert args.columns == "params.lr,metrics." and not args.all_experiments
    assert parse_nbtrack_line("runs").count == 20
    assert parse_nbtrack_line("").action is None
