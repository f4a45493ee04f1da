"""The flusher ingests a growing journal in batches: once it is quiet, full, or waited long."""

from __future__ import annotations

from pathlib import Path

import nbtrack
from nbtrack.store.flusher import MAX_DELAY_S, _Batch
from nbtrack.store.journal import Journal


def test_a_journal_written_at_every_look_waits_for_the_longest_delay(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "nbtrack.duckdb")
    batch = _Batch(journal.position)
    looks = []
    for tick in range(30):
        journal.append('{"k":"g"}\n')
        looks.append(batch.ready(now=tick * 0.1))
    # The first look that finds the oldest new record MAX_DELAY_S old is the first flush.
    assert looks.index(True) == round(MAX_DELAY_S / 0.1)
    journal.remove()


def test_a_journal_that_stopped_moving_is_flushed_at_the_next_look(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "nbtrack.duckdb")
    batch = _Batch(journal.position)
    journal.append('{"k":"g"}\n')
    assert not batch.ready(now=0.0)
    assert batch.ready(now=0.1)
    batch.flushed()
    assert batch.ready(now=0.2)  # nothing new: the caller's check of what is pending decides
    journal.remove()


def test_a_full_journal_is_flushed_without_waiting(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "nbtrack.duckdb")
    batch = _Batch(journal.position)
    journal.append('{"k":"g"}\n')
    batch.full = True
    assert batch.ready(now=0.0)
    batch.flushed()
    journal.append('{"k":"g"}\n')
    assert not batch.ready(now=0.1)
    journal.remove()


def test_a_read_right_after_logging_sees_what_the_flusher_has_not_ingested(
    store_path: Path,
) -> None:
    with nbtrack.start_run() as run:
        for step in range(50):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        history = nbtrack.get_metric_history(run.id, "loss")
    assert list(history["step"]) == list(range(50))
