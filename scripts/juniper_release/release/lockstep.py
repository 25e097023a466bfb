"""The bump of a lockstep group: every member moves to one version in one commit, tagged once.

:func:`juniper_release.release.versioning.plan_group_bump` plans each member's bump to the group's new version
(:func:`juniper_release.release.versioning.plan_package_bump`: its version file or pyproject, its ``__version__``
literals, its CHANGELOG *where it has one*; a hatch-vcs or setuptools-scm member has no version file, the one tag
is the version) and merges them (:func:`merge_edits`, here) into one :class:`~juniper_release.release.versioning.BumpPlan`, which
``invoke bump``, ``invoke propose`` and the rehearsal then commit, tag and show as any bump.

A uv workspace's ``uv.lock`` is refreshed with the bump: the tracked files are copied to a scratch directory, the
edits applied there, and ``uv lock --offline`` run (``uv lock`` when the cache lacks something and the network is
allowed); a changed lock joins the edits, so ``uv lock --check`` passes on the bump commit. A group versioned by git
tags edits no version, and ``uv.lock`` records none for a dynamic version: its lock is left as it is.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from packaging.version import Version

from juniper_release.commands import run
from juniper_release.ecosystem.model import Group
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import Registry, require_checkout
from juniper_release.ecosystem.semver import parse_strict
from juniper_release.errors import CommandError, JuniperError
from juniper_release.gitops import Git
from juniper_release.offline import is_offline
from juniper_release.release.edits import FileEdit

UV_LOCK = "uv.lock"


def current_versions(registry: Registry, workspace: Path, group: Group) -> dict[str, Version]:
    """Each member's current version as a bump starts from it: a version from git tags is its release tag's."""
    found: dict[str, Version] = {}
    for name in group.members:
        pkg = registry.get(name)
        project = read_project(pkg, require_checkout(pkg, workspace))
        found[name] = (
            project.module_target
            if project.is_vcs
            else parse_strict(project.raw_version, f"{project.pyproject}: version")
        )
    return found


def merge_edits(edits: Sequence[FileEdit]) -> list[FileEdit]:
    """One edit per file: two edits of one file (a member's version and a sibling's raised ceiling in the same
    pyproject) are merged line by line; edits of the same line that disagree are refused."""
    by_path: dict[Path, FileEdit] = {}
    for edit in edits:
        earlier = by_path.get(edit.path)
        if earlier is None or earlier.new == edit.new:
            by_path[edit.path] = edit
            continue
        by_path[edit.path] = FileEdit(edit.path, earlier.old, _merge_lines(edit.path, earlier, edit))
    return list(by_path.values())


def _merge_lines(path: Path, first: FileEdit, second: FileEdit) -> str:
    base = (first.old or "").splitlines(keepends=True)
    one, two = first.new.splitlines(keepends=True), second.new.splitlines(keepends=True)
    if not len(base) == len(one) == len(two):
        raise JuniperError(
            f"{path}: two edits of the group's bump change its lines differently",
            "bump the group's members one at a time (--to) and raise the ceilings by hand",
        )
    merged = []
    for b, x, y in zip(base, one, two, strict=True):
        if x != b and y != b and x != y:
            raise JuniperError(f"{path}: two edits of the group's bump change one line: {b.strip()!r}", "edit by hand")
        merged.append(y if x == b else x)
    return "".join(merged)


def refreshed_lock(repo_root: Path, edits: Sequence[FileEdit], version: Version) -> FileEdit | None:
    """The workspace's ``uv.lock`` after ``edits`` (None: it has none, or it still holds): ``uv lock`` in a scratch
    copy of the repository's files with the edits applied (no git there: a package of the workspace whose version
    comes from git tags is told ``version``)."""
    lock = repo_root / UV_LOCK
    if not lock.is_file():
        return None
    old = lock.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="juniper-uvlock-") as tmp:
        scratch = Path(tmp) / repo_root.name
        for rel in Git(repo_root).files():
            source = repo_root / rel
            if source.is_file():
                (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, scratch / rel)
        for edit in edits:
            if edit.path.is_relative_to(repo_root):
                target = scratch / edit.path.relative_to(repo_root)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(edit.new, encoding="utf-8")
        _uv_lock(scratch, repo_root, version)
        new = (scratch / UV_LOCK).read_text(encoding="utf-8")
    return None if new == old else FileEdit(lock, old, new)


def _uv_lock(scratch: Path, shown: Path, version: Version) -> None:
    """``uv lock`` in ``scratch``: offline first (the cache), then with the network unless offline."""
    from juniper_release.verify.envs import tool_env, uv_binary

    uv = uv_binary()
    if uv is None:
        raise JuniperError(f"{shown / UV_LOCK}: refreshing it needs uv", "install uv (pip install uv)")
    env = {**tool_env(), "SETUPTOOLS_SCM_PRETEND_VERSION": str(version)}
    try:
        run([uv, "lock", "--check", "--offline"], cwd=scratch, env=env, what="uv lock --check", timeout=120)
        return
    except CommandError:
        pass
    attempts = [["--offline"]] + ([] if is_offline() else [[]])
    last: CommandError | None = None
    for flags in attempts:
        try:
            run([uv, "lock", *flags], cwd=scratch, env=env, what=f"uv lock {' '.join(flags)}".strip(), timeout=300)
            return
        except CommandError as exc:
            last = exc
    raise JuniperError(
        f"{shown / UV_LOCK}: the bump cannot refresh it ({last.what if last else 'uv lock failed'})",
        f"run `uv lock` in {shown} to see why, fix it, then bump again",
    )
