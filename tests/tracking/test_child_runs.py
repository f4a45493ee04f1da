"""Runs inside runs: children take their parent's tags, the parent lists its children, and
tables of runs can group each child under its parent."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import nbtrack
from nbtrack.tracking.run_tree import under_parents


def test_a_child_run_starts_with_its_parents_tags_and_its_own_tags_win(store_path: Path) -> None:
    with nbtrack.start_run(name="sweep", tags={"team": "vision", "dataset": "mnist"}):
        nbtrack.set_tag("stage", "dev")
        with nbtrack.start_run(name="trial", tags={"dataset": "fashion"}) as child:
            pass
    tags = nbtrack.get_run(child.id).tags
    assert tags["team"] == "vision"
    assert tags["stage"] == "dev"
    assert tags["dataset"] == "fashion"


def test_nbtracks_own_tags_are_not_copied_to_a_child(store_path: Path) -> None:
    with nbtrack.start_run(name="sweep") as parent:
        nbtrack.set_tag("nbtrack.cell_id", "cell-of-the-parent")
        with nbtrack.start_run(name="trial") as child:
            pass
    assert nbtrack.get_run(parent.id).tags["nbtrack.cell_id"] == "cell-of-the-parent"
    tags = nbtrack.get_run(child.id).tags
    assert "nbtrack.cell_id" not in tags
    assert "nbtrack.python" in tags  # the child's own, recorded for it


def test_a_tag_the_parent_gets_after_a_child_started_stays_the_parents(store_path: Path) -> None:
    with nbtrack.start_run(name="sweep"):
        with nbtrack.start_run(name="trial") as child:
            pass
        nbtrack.set_tag("best", "trial")
    assert "best" not in nbtrack.get_run(child.id).tags


def test_a_run_without_a_parent_inherits_no_tags(store_path: Path) -> None:
    with nbtrack.start_run(tags={"team": "vision"}):
        pass
    with nbtrack.start_run() as later:
        pass
    assert "team" not in nbtrack.get_run(later.id).tags


def test_get_run_lists_a_parents_children_oldest_first_with_their_status(
    store_path: Path,
) -> None:
    with nbtrack.start_run(name="sweep") as parent:
        with nbtrack.start_run(name="trial-1") as first:
            pass
        try:
            with nbtrack.start_run(name="trial-2") as second:
                raise ValueError("diverged")
        except ValueError:
            pass
        with nbtrack.start_run(name="trial-3") as third:
            pass
    nbtrack.delete_run(third.id)

    run = nbtrack.get_run(parent.id)
    assert [(c.id, c.name, c.status) for c in run.children] == [
        (first.id, "trial-1", "FINISHED"),
        (second.id, "trial-2", "FAILED"),
    ]
    assert nbtrack.get_run(first.id).children == ()


def test_the_parents_card_lists_its_children_by_name_short_id_and_status(
    store_path: Path,
) -> None:
    with nbtrack.start_run(name="sweep") as parent:
        for c in (0.1, 1.0):
            with nbtrack.start_run(name=f"C={c}") as child:
                nbtrack.log_param("C", c)
    run = nbtrack.get_run(parent.id)
    page = run._repr_html_()
    assert "child runs (2)" in page
    assert "C=0.1" in page and "C=1.0" in page
    assert child.id[:8] in page
    assert page.count(">FINISHED</span>") == 3  # the parent's badge and one per child
    assert "2 child runs" in run.summary_text()
    # The summary under a cell comes from what the process logged, without a store read.
    assert "child runs (2)" in parent.local_view()._repr_html_()


def test_search_runs_gives_each_runs_parent_and_under_parents_groups_them(
    store_path: Path,
) -> None:
    with nbtrack.start_run(name="solo"):
        pass
    with nbtrack.start_run(name="sweep") as parent:
        with nbtrack.start_run(name="trial-1"), nbtrack.start_run(name="fold-1"):
            pass
        with nbtrack.start_run(name="trial-2"):
            pass
    with nbtrack.start_run(name="newest"):
        pass

    frame = nbtrack.search_runs()  # newest first: children start after their parent
    assert frame.set_index("run_name").loc["trial-1", "parent_run_id"] == parent.id
    assert pd.isna(frame.set_index("run_name").loc["sweep", "parent_run_id"])

    grouped = under_parents(frame)
    assert list(zip(grouped["run_name"], grouped["depth"], strict=True)) == [
        ("newest", 0),
        ("sweep", 0),
        ("trial-2", 1),
        ("trial-1", 1),
        ("fold-1", 2),
        ("solo", 0),
    ]


def test_under_parents_keeps_a_child_whose_parent_was_filtered_out_at_the_top(
    store_path: Path,
) -> None:
    with nbtrack.start_run(name="sweep"), nbtrack.start_run(name="trial"):
        nbtrack.log_metric("acc", 0.9)
    frame = nbtrack.search_runs(filter="metrics.acc > 0.5")
    grouped = under_parents(frame)
    assert list(zip(grouped["run_name"], grouped["depth"], strict=True)) == [("trial", 0)]
