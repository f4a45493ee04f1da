"""A project run names where its project comes from: the git remote (never its credentials)
and sub-folder, the commit and the dirty flag; outside git, the folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

from nbtrack.projects.source import source_tags


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=a@b.c", "-c", "user.name=n", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def test_a_project_in_git_is_named_by_its_remote_without_credentials(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "train.py").write_text("print(1)\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "remote", "add", "origin", "https://me:s3cret@example.com/org/repo.git")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "first")

    clean = source_tags(tmp_path / "sub")
    (tmp_path / "sub" / "train.py").write_text("print(2)\n")
    dirty = source_tags(tmp_path / "sub")

    assert clean["nbtrack.project.source"] == "https://example.com/org/repo.git#sub"
    assert len(clean["nbtrack.project.git.commit"]) == 40
    assert clean["nbtrack.project.git.dirty"] == "false"
    assert dirty["nbtrack.project.git.dirty"] == "true"
    assert "s3cret" not in str(clean)


def test_a_project_outside_git_is_named_by_its_folder(tmp_path: Path) -> None:
    assert source_tags(tmp_path) == {"nbtrack.project.source": str(tmp_path)}
