"""One rule for referring to a run by a short id or a name, used by ``%%track --run`` and
``nbtrack runs show``; ``nbtrack.get_run`` keeps MLflow's full ids."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbtrack
from nbtrack.tracking.run_refs import resolve_run


def _run(name: str) -> str:
    with nbtrack.start_run(name=name) as run:
        pass
    return run.id


def test_a_full_id_a_prefix_and_a_unique_name_all_resolve_to_the_run(store_path: Path) -> None:
    run_id = _run("baseline")
    _run("other")
    assert resolve_run(run_id) == run_id
    assert resolve_run(run_id.upper()) == run_id
    assert resolve_run(run_id[:8]) == run_id
    assert resolve_run("baseline") == run_id


def test_fewer_than_four_characters_are_read_as_a_name_only(store_path: Path) -> None:
    run_id = _run("abc")
    _run("other")
    assert resolve_run("abc") == run_id
    with pytest.raises(nbtrack.NotFoundError, match="no run named 'fff'"):
        resolve_run("fff")


def test_a_run_that_is_not_deleted_is_preferred_and_a_deleted_one_is_still_found(
    store_path: Path,
) -> None:
    old = _run("baseline")
    nbtrack.delete_run(old)
    assert resolve_run("baseline") == old  # the only match, if deleted: `runs show` shows it
    new = _run("baseline")
    assert resolve_run("baseline") == new


def test_an_unknown_reference_names_it_and_what_is_accepted(store_path: Path) -> None:
    _run("baseline")
    with pytest.raises(nbtrack.NotFoundError) as caught:
        resolve_run("0000dead", "--run")
    message = str(caught.value)
    assert "--run '0000dead': no run whose id starts with '0000dead' and none named so" in message
    assert "a run id, its first 4 or more characters" in message and "or a run name" in message


def test_a_bad_reference_is_refused_before_the_store_is_asked(store_path: Path) -> None:
    with pytest.raises(nbtrack.InvalidValueError, match="run must not be empty"):
        resolve_run("")


def test_get_run_takes_a_full_id_only_and_points_at_the_run_a_short_id_means(
    store_path: Path,
) -> None:
    run_id = _run("baseline")
    with pytest.raises(nbtrack.NotFoundError) as caught:
        nbtrack.get_run(run_id[:8])
    message = str(caught.value)
    assert "get_run takes a full run id" in message
    assert f"{run_id} ('baseline')" in message
    with pytest.raises(nbtrack.NotFoundError, match="no run with id 'ffffffff'") as unknown:
        nbtrack.get_run("ffffffff")
    assert "full run id" not in str(unknown.value)
