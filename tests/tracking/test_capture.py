"""What a run records about where it ran: git's commit and dirty flag, in a real repository."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.tracking import capture


@pytest.fixture
def repo(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with one committed file, as the working directory."""
    folder = store_path.parent / "repo"
    folder.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=folder, check=True)
    (folder / "train.py").write_text("lr = 0.1\n")
    subprocess.run([*git, "add", "train.py"], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "start"], cwd=folder, check=True)
    monkeypatch.chdir(folder)
    return folder


def _dirty_tag(run_id: str) -> str | None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tag = nbtrack.get_run(run_id).tags.get("nbtrack.git.dirty")
        if tag is not None:
            return tag
        time.sleep(0.02)
    return None


def test_a_run_records_the_commit_and_whether_tracked_files_changed(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "DIRTY_REUSE_S", 0.0)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    with nbtrack.start_run() as clean:
        pass
    assert _dirty_tag(clean.id) == "false"
    assert nbtrack.get_run(clean.id).git_commit == head

    (repo / "train.py").write_text("lr = 0.2\n")
    with nbtrack.start_run() as edited:
        pass
    assert _dirty_tag(edited.id) == "true"


def test_a_sweep_of_runs_asks_git_once_and_every_run_gets_the_answer(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path | None] = []
    real = capture.git_dirty

    def counted(start: Path | None = None) -> bool | None:
        calls.append(start)
        time.sleep(0.2)  # git status is slow on a big repository
        return real(start)

    monkeypatch.setattr(capture, "git_dirty", counted)
    ids = []
    for _ in range(50):
        with nbtrack.start_run() as run:
            pass
        ids.append(run.id)
    assert [_dirty_tag(run_id) for run_id in ids] == ["false"] * 50
    assert len(calls) == 1


def _commit_all(folder: Path, message: str) -> str:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], cwd=folder, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_each_run_records_the_commit_checked_out_when_it_started(repo: Path) -> None:
    # Where the repository keeps its files is remembered between runs; the commit is not.
    with nbtrack.start_run() as first:
        pass
    (repo / "train.py").write_text("lr = 0.3\n")
    second_commit = _commit_all(repo, "second")
    with nbtrack.start_run() as second:
        pass
    subprocess.run(["git", "checkout", "-q", "-b", "branch"], cwd=repo, check=True)
    (repo / "train.py").write_text("lr = 0.4\n")
    third_commit = _commit_all(repo, "third")
    with nbtrack.start_run() as third:
        pass

    commits = [nbtrack.get_run(run.id).git_commit for run in (first, second, third)]
    assert commits[1:] == [second_commit, third_commit]
    assert commits[0] not in (None, second_commit, third_commit)


def test_a_repository_made_or_removed_while_the_process_runs_is_seen(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = store_path.parent / "later"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert capture.git_commit() is None
    (folder / "a.txt").write_text("a\n")
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
    made = _commit_all(folder, "first")
    assert capture.git_commit() == made

    shutil.rmtree(folder / ".git")
    assert capture.git_commit() is None
