"""Third fault round (issue 27, sections 3-6): untrusted text stays text, every signal is honoured, exact answers
from git and files, and verdicts that say what is true. Each test names the rule it holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from juniper_release.ecosystem.registry import Package
from juniper_release.ecosystem.tags import release_tag
from juniper_release.gitops import Git
from packaging.version import Version

PKG = Package("p", "o/p", "p", (), 0, (), False, tag_format="v{version}")


def _commit_at(git: Git, date: str, message: str, version: str | None = None) -> None:
    if version is not None:
        (git.root / "pyproject.toml").write_text(f'[project]\nname = "p"\nversion = "{version}"\n', encoding="utf-8")
    else:
        (git.root / "notes.txt").write_text(message, encoding="utf-8")
    git.run("add", "-A")
    dated = Git(git.root, env={"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date})
    dated.run("commit", "-q", "-m", message)


# ------------------------------------------------------------------------------------ 5. exact answers from git


def test_a_tag_in_a_clock_skewed_history_is_an_ancestor(tmp_path: Path) -> None:
    """Rule 5.1: ancestry is asked of git exactly. A release tag on a commit dated in the future, followed by commits
    dated in the past (a skewed clock), is still reachable from HEAD; `git tag --merged HEAD` misses it."""
    git = Git(tmp_path / "p")
    git.root.mkdir()
    git.run("init", "-q", "-b", "main")
    _commit_at(git, "2020-01-01T00:00:00", "first", "0.1.0")
    _commit_at(git, "2030-01-01T00:00:00", "release", "0.2.0")
    git.tag_annotated("v0.2.0", "Release 0.2.0")
    git.run("tag", "light-0.2.0")
    for i in range(8):
        _commit_at(git, f"2001-01-0{i + 1}T00:00:00", f"fix {i}")
    assert git.tags(merged="HEAD") == ["light-0.2.0", "v0.2.0"]
    choice = release_tag(git, PKG, Version("0.2.0"), Version("0.2.0"))
    assert choice.tag == "v0.2.0"
    # the failure path: a tag on another line of history is not an ancestor, however it is dated
    git.run("switch", "-q", "-c", "side", "HEAD~3")
    _commit_at(git, "2040-01-01T00:00:00", "side", "0.3.0")
    git.tag_annotated("v0.3.0", "Release 0.3.0")
    git.run("switch", "-q", "main")
    assert "v0.3.0" not in git.tags(merged="HEAD")
    assert set(git.tags()) == {"light-0.2.0", "v0.2.0", "v0.3.0"}
