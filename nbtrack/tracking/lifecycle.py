"""Opening runs: the one way the fluent API, ``%%track``, projects and autolog start a run.

``open_run`` creates a run (or reopens one), decides its parent and closes the runs that earlier
notebook cells left open, so every caller gets the same rule for what "the active run" is.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
import uuid
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from nbtrack import config
from nbtrack.entities import (
    FAILED,
    FINISHED,
    KILLED,
    RUNNING,
    Experiment,
    Run,
    RunSpan,
    from_micros,
)
from nbtrack.store import experiments, records, runs
from nbtrack.store.current import current_store
from nbtrack.store.store import Store
from nbtrack.tracking import _current, attached, capture
from nbtrack.tracking.run import (
    CLOSED_BY_TAG,
    GIT_DIRTY_TAG,
    ActiveRun,
    format_error,
    log,
)
from nbtrack.tracking.validation import check_name, mapping, tag_value

# Per store object: a store opened afresh (after close_all) is checked again on its first run.
_experiments: weakref.WeakKeyDictionary[Store, dict[str, Experiment]] = weakref.WeakKeyDictionary()


def open_run(
    *,
    name: str | None = None,
    experiment: str | None = None,
    tags: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    nested: bool = False,
    cell: bool = False,
    source: str | None = None,
    source_name: str | None = None,
) -> ActiveRun:
    """Start a run (or reopen ``run_id``) and make it the active one.

    The parent is the active run when ``nested``, when the new run starts inside its ``with``
    block, its tracked cell or the same notebook cell; any other open run was left by an
    earlier cell and is closed FINISHED with a ``nbtrack.closed_by`` tag saying why. A tracked
    ``cell`` belongs only to a run still held open by what opened it (a ``with`` block, or a
    tracked cell that runs this one), so it is a top-level run unless cells nest. Starting is
    one journal record: any reader sees the run at once, and the flusher stores it within a
    second. In a process ``nbtrack run`` started, its project run is the outermost run (see
    ``tracking/attached.py``): ``start_run()`` with none open returns it, and any other run
    opened with none open is its child.
    """
    parent = _held_parent() if cell else _parent(nested)
    if parent is None and (outer := attached.outer_run()) is not None:
        # In a process `nbtrack run` started, its project run holds everything the process runs.
        if not (cell or nested) and run_id in (None, outer.id):
            return attached.resume(outer, tags)
        parent = outer
    if run_id is not None:
        return _reopen(check_name(run_id, "run_id"), parent, cell)
    return _start(
        name=name,
        experiment=experiment if experiment is not None else _current.experiment_name(),
        tags=tags,
        parent=parent,
        cell=cell,
        source=source,
        source_name=source_name,
    )


def active_run() -> ActiveRun | None:
    """The run ``log_*`` calls go to, or None."""
    return _current.top()


def last_started() -> ActiveRun | None:
    """The newest run this process started or reopened, ended or not."""
    return _current.last_started()


def _parent(nested: bool) -> ActiveRun | None:
    execution = capture.execution_marker()
    while (active := _current.top()) is not None:
        # A cell nested in a tracked cell (get_ipython().run_cell) may have moved the
        # execution count on: the tracked cell still holds its run.
        if nested or active.held or active.execution == execution:
            return active
        # Left over from an earlier cell execution: close it cleanly, say so, and go on.
        _close_leftover(active, "a new run started in a later cell")
    return None


def _held_parent() -> ActiveRun | None:
    # Not by execution count: a front end may run cells without counting them, and a run
    # left open by such a cell is still a leftover.
    while (active := _current.top()) is not None:
        if active.held:
            return active
        _close_leftover(active, "the next tracked cell started")
    return None


def _close_leftover(active: ActiveRun, why: str) -> None:
    if attached.is_outer(active):
        _current.remove(active)  # its owner, `nbtrack run`, ends it
        return
    active.set_tag(CLOSED_BY_TAG, why)
    active.end(FINISHED)


def _start(
    *,
    name: str | None,
    experiment: str,
    tags: Mapping[str, Any] | None,
    parent: ActiveRun | None,
    cell: bool = False,
    source: str | None = None,
    source_name: str | None = None,
) -> ActiveRun:
    # The run's start is a journal record, like everything it logs.
    store = current_store()
    run_name = capture.run_name() if name is None else check_name(name, "run name")
    check_name(experiment, "experiment name")
    checked_tags = mapping(tags or {}, "start_run(tags=...)")
    for key, value in checked_tags.items():
        check_name(key, "tag key")
        tag_value(key, value)
    target = _experiment(store, experiment)
    run_id = uuid.uuid4().hex
    # Before the run exists: a later change of stage, of this run or any other, is news.
    stages_seen = store.stages_state()
    started = time.time_ns() // 1000
    start_time = from_micros(started) or datetime.now(UTC)
    run = Run(
        id=run_id,
        name=run_name,
        experiment_id=target.id,
        status=RUNNING,
        start_time=start_time,
        end_time=None,
        spans=(RunSpan(start_time, None),),
        source=source,
        source_name=source_name if source_name is not None else capture.source_name(),
        git_commit=capture.git_commit(),
        artifact_uri=f"{target.artifact_location}/{run_id}/artifacts",
        parent_run_id=None if parent is None else parent.id,
        user=config.current_user(),
        host=config.host_name(),
    )
    fields = {
        "experiment_id": run.experiment_id,
        "name": run.name,
        "parent_run_id": run.parent_run_id,
        "source": run.source,
        "source_name": run.source_name,
        "git_commit": run.git_commit,
        "user": run.user,
        "host": run.host,
        "owner_pid": os.getpid(),
        "artifact_uri": run.artifact_uri,
    }
    journal = store.journal
    journal.append(records.start_line(run_id, started, journal.next_counter(), fields))
    active = ActiveRun(store, run, parent=parent, cell=cell, stages_seen=stages_seen)
    # A child is part of its parent's work: it starts with the parent's own tags (team,
    # dataset, ...), and its own tags win. nbtrack's tags describe one run each, not both.
    inherited = {} if parent is None else parent.user_tags()
    active.set_tags({**inherited, **capture.environment_tags(), **checked_tags})
    if parent is not None:
        parent.add_child(active)
    capture.git_dirty_later(lambda dirty: active.record_tag(GIT_DIRTY_TAG, str(dirty).lower()))
    _current.push(active)
    return active


def _experiment(store: Store, name: str) -> Experiment:
    # Get-or-create must happen under the lock (two kernels would make two "Default"s), but
    # only once per experiment and process.
    known = _experiments.setdefault(store, {})
    found = known.get(name)
    if found is None:
        found = known[name] = store.write(experiments.experiment_for_runs, name)
    return found


def forget_experiments() -> None:
    """Drop cached experiments (after one was deleted or restored)."""
    _experiments.clear()


def _reopen(run_id: str, parent: ActiveRun | None, cell: bool) -> ActiveRun:
    store = current_store()
    # Taken before the store refuses a deleted run or reopens this one: a deletion committed
    # after that read replaces the marker, and the next artifact write sees it.
    stages_seen = store.stages_state()
    state = store.write(runs.reopen_run, run_id, store.journal.id, os.getpid())
    run = ActiveRun(
        store,
        state.run,
        parent=parent,
        cell=cell,
        params_json=state.params_json,
        last_seq=state.last_seq,
        last_steps=state.last_steps,
        stages_seen=stages_seen,
    )
    _current.push(run)
    return run


@atexit.register
def _end_runs_at_exit() -> None:
    # Registered after the store's own exit hook, so it runs first (atexit is LIFO).
    crashed = getattr(sys, "last_value", None) if capture.execution_marker() is None else None
    for run in reversed(_current.all_active()):
        if run._pid != os.getpid() or attached.is_outer(run):
            continue  # a forked child must not end its parent's runs, nor this process its owner's
        try:
            if isinstance(crashed, KeyboardInterrupt):
                run.end(KILLED, format_error(crashed))
            elif crashed is not None:
                run.end(FAILED, format_error(crashed))
            else:
                run.record_tag(CLOSED_BY_TAG, "the process exited with the run open")
                run.end(FINISHED)
        except Exception:
            log.exception("nbtrack: could not end run %s at exit", run.id)
