"""Listing a checkout's files (Git.files), the atomic JSON writer and the unified diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from juniper_release.errors import GitError
from juniper_release.files import unified_diff, write_json
from juniper_release.gitops import Git


def _repo(root: Path) -> Git:
    root.mkdir()
    git = Git(root)
    git.run("init", "-q")
    return git


def test_files_are_tracked_plus_untracked_not_ignored(tmp_path):
    git = _repo(tmp_path / "r")
    root = git.root
    for rel, text in {".gitignore": "ignored.txt\nbuild/\n", "a.py": "", "gone.py": "", "sub/b.py": ""}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    git.run("add", "-A")
    git.run("commit", "-q", "-m", "init")
    (root / "gone.py").unlink()  # tracked but deleted: not a file a build sees
    (root / "new.md").write_text("untracked\n", encoding="utf-8")
    (root / "ignored.txt").write_text("ignored\n", encoding="utf-8")
    (root / "build").mkdir()
    (root / "build" / "x.py").write_text("", encoding="utf-8")
    (root / "a.py").write_text("changed\n", encoding="utf-8")  # modified: listed once
    os.symlink("a.py", root / "link.py")
    assert git.files() == [".gitignore", "a.py", "link.py", "new.md", "sub/b.py"]


def test_files_outside_a_repository_is_a_git_error(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(GitError, match="ls-files"):
        Git(tmp_path / "plain").files()


def test_write_json_is_atomic_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "state.json"
    write_json(path, {"b": 1, "a": [1, 2]}, sort_keys=True)
    assert path.read_text(encoding="utf-8") == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    write_json(path, {"b": 2})
    assert json.loads(path.read_text(encoding="utf-8")) == {"b": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_unified_diff_of_a_change_and_of_a_new_file():
    assert unified_diff("a\nb\n", "a\nc\n", "x.txt").splitlines()[:3] == [
        "--- a/x.txt",
        "+++ b/x.txt",
        "@@ -1,2 +1,2 @@",
    ]
    assert unified_diff(None, "new\n", "y.txt").splitlines() == [
        "--- /dev/null",
        "+++ b/y.txt",
        "@@ -0,0 +1 @@",
        "+new",
    ]
    assert unified_diff("same\n", "same\n", "z.txt") == ""
