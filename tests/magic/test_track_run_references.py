"""``%%track --run`` takes a run as people refer to it: the 8-character id the widgets show,
any unique prefix of 4 or more, or a unique name; an ambiguous one lists the candidates."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbtrack
from nbtrack.tracking import lifecycle
from tests.magic.conftest import cell, last


class _Ids:
    """uuid4 for run ids that share a prefix, so an ambiguous prefix can be made on purpose."""

    def __init__(self, ids: Iterator[str]) -> None:
        self._ids = ids

    def uuid4(self) -> _Ids._Id:
        return self._Id(next(self._ids))

    class _Id:
        def __init__(self, hex_: str) -> None:
            self.hex = hex_


@pytest.fixture
def shared_prefix_ids(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ids = [f"beef{n:04x}" + "0" * 24 for n in range(1, 4)]
    monkeypatch.setattr(lifecycle, "uuid", _Ids(itertools.chain(ids, iter([]))))
    return ids


def test_run_accepts_the_eight_character_id_the_widgets_show(ip: InteractiveShell) -> None:
    cell(ip, "%%track --name trained\nnbtrack.log_metric('loss', 0.3)")
    trained = last()
    cell(ip, "%%track --name other\nx = 1")

    result = cell(ip, f"%%track --run {trained.id[:8]} --metrics test_acc\ntest_acc = 0.5 + 0.38")

    assert result.success
    run = nbtrack.get_run(trained.id)
    assert run.metrics == {"loss": 0.3, "test_acc": 0.88}
    assert run.status == "FINISHED"


def test_run_accepts_any_unique_prefix_of_four_or_more_in_any_case(ip: InteractiveShell) -> None:
    cell(ip, "%%track --name upper\nx = 1")
    trained = last()
    cell(ip, f"%%track --run {trained.id[:5].upper()}\nnbtrack.log_metric('later', 1)")
    assert nbtrack.get_run(trained.id).metrics == {"later": 1.0}


def test_run_accepts_a_unique_run_name(ip: InteractiveShell) -> None:
    cell(ip, "%%track --name 'baseline model'\nx = 1")
    baseline = last()
    cell(ip, "%%track --run 'baseline model'\nnbtrack.log_metric('auc', 0.9)")
    assert nbtrack.get_run(baseline.id).metrics == {"auc": 0.9}


def test_an_ambiguous_prefix_is_an_error_that_lists_the_candidates(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], shared_prefix_ids: list[str]
) -> None:
    cell(ip, "%%track --experiment refs --name first\nx = 1")
    cell(ip, "%%track --experiment refs --name second\nx = 2")
    capsys.readouterr()

    result = cell(ip, "%%track --run beef\ny = 3")

    assert result.success  # the cell ran, untracked, as for any run it cannot log to
    assert ip.user_ns["y"] == 3
    shown = capsys.readouterr().out
    assert "this cell is not tracked: --run 'beef' is ambiguous: 2 runs match it" in shown
    assert "beef0001 'first' (refs, FINISHED" in shown
    assert "beef0002 'second' (refs, FINISHED" in shown
    assert "give more characters of the id" in shown
    assert all(nbtrack.get_run(i).metrics == {} for i in shared_prefix_ids[:2])
    # One more character picks one of them.
    cell(ip, "%%track --run beef0002\nnbtrack.log_metric('m', 1)")
    assert nbtrack.get_run(shared_prefix_ids[1]).metrics == {"m": 1.0}


def test_a_name_several_runs_share_is_an_error_that_lists_them_by_id(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell(ip, "%%track --name twin\nx = 1")
    first = last()
    cell(ip, "%%track --name twin\nx = 2")
    second = last()
    capsys.readouterr()

    cell(ip, "%%track --run twin\ny = 1")

    shown = capsys.readouterr().out
    assert "--run 'twin' is ambiguous: 2 runs match it" in shown
    assert first.id[:8] in shown and second.id[:8] in shown
    assert "give one of their ids" in shown


def test_a_reference_no_run_matches_says_what_run_accepts(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    cell(ip, "%%track --run no-such-run\nx = 1")
    shown = capsys.readouterr().out
    assert "--run 'no-such-run': no run named 'no-such-run' in this store" in shown
    assert "its first 4 or more characters" in shown
