"""invoke bump: strict versions, byte-preserving edits, CHANGELOG, dependents, atomic writes, commit and tag."""

from __future__ import annotations

import datetime as dt
import difflib
import os

import pytest
from conftest import run_task
from juniper_release.ecosystem.project import find_module_version, read_project
from juniper_release.ecosystem.registry import load_registry
from juniper_release.errors import JuniperError
from juniper_release.gitops import Git
from juniper_release.release.versioning import (
    VersionError,
    apply_edits,
    bump,
    changelog_section,
    draft_notes,
    next_version,
    parse_strict,
    plan_bump,
    update_changelog,
)
from packaging.version import Version

TODAY = dt.date(2026, 2, 3)


@pytest.mark.parametrize("bad", ["1.0", "v1.2.3", "01.2.3", "1.2.3.4", "banana", "1.2.3+local", "1.2.3-rc1"])
def test_bad_or_unnormalized_versions_are_clear_errors(bad):
    with pytest.raises(VersionError, match=r"(not a normalized|not a valid).*Fix: "):
        parse_strict(bad, "--to")


@pytest.mark.parametrize(
    ("current", "part", "pre", "expected"),
    [
        ("0.3.1", "patch", None, "0.3.2"),
        ("0.3.1", "minor", None, "0.4.0"),
        ("0.3.1", "major", None, "1.0.0"),
        ("0.3.1", "minor", "rc", "0.4.0rc1"),
        ("0.3.1", "pre", None, "0.3.2rc1"),
        ("0.4.0rc1", "pre", None, "0.4.0rc2"),
        ("0.4.0a2", "pre", "b", "0.4.0b1"),
        ("0.4.0rc2", "release", None, "0.4.0"),
        ("0.4.0rc2", "patch", None, "0.4.0"),
    ],
)
def test_next_version(current, part, pre, expected):
    assert next_version(Version(current), part, pre) == Version(expected)


def test_next_version_refuses_backwards_pre_and_release_of_final():
    with pytest.raises(VersionError, match="back to"):
        next_version(Version("1.0.0rc1"), "pre", "a")
    with pytest.raises(VersionError, match="not a pre-release"):
        next_version(Version("1.0.0"), "release")


def test_patch_bump_changes_only_the_version_bytes(ecosystem, registry):
    root = ecosystem.checkout("juniper-data-client")
    before = (root / "pyproject.toml").read_text()
    out: list[str] = []
    bump(registry, ecosystem.workspace, "juniper-data-client", "patch", out=out.append)
    after = (root / "pyproject.toml").read_text()
    changed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert changed == ['- version = "0.3.1"', '+ version = "0.3.2"']
    assert len(before) == len(after)
    mv = find_module_version(root, "juniper_data_client")
    assert mv.value == "0.3.2"
    init = (root / "src/juniper_data_client/__init__.py").read_text()
    assert init.count("0.3.2") == 1 and "0.3.1" not in init


def test_version_file_and_meta_package(ecosystem, registry):
    bump(registry, ecosystem.workspace, "juniper-cascor-client", "minor", out=lambda _m: None)
    cc = ecosystem.checkout("juniper-cascor-client")
    assert (cc / "src/juniper_cascor_client/_version.py").read_text() == '__version__ = "0.5.0"\n'
    bump(registry, ecosystem.workspace, "juniper-ml", to="0.7.0", out=lambda _m: None)
    assert read_project(load_registry().get("juniper-ml"), ecosystem.checkout("juniper-ml")).version == Version("0.7.0")


def test_changelog_drafted_from_conventional_commits_when_unreleased_is_empty(make_ecosystem, registry):
    eco = make_ecosystem(unreleased=["juniper-data"])
    git = Git(eco.checkout("juniper-data"))
    (eco.checkout("juniper-data") / "x.txt").write_text("x\n")
    git.run("add", "x.txt")
    git.run("commit", "-q", "-m", "feat(api)!: rename the dataset endpoint")
    plan = plan_bump(registry, eco.workspace, "juniper-data", "minor", today=TODAY)
    log = next(e for e in plan.edits if e.path.name == "CHANGELOG.md").new
    section = changelog_section(log, "0.7.0")
    assert section is not None
    assert "## [0.7.0] - 2026-02-03" in log and "## [Unreleased]" in log
    assert "### Breaking changes\n\n- Rename the dataset endpoint" in section
    assert "### Bug fixes\n\n- Handle empty datasets" in section
    assert "Initial import" not in section  # only commits since the released tag


def test_changelog_moves_a_filled_unreleased_section_and_handles_missing_file():
    text = "# Changelog\n\n## [Unreleased]\n\n- Added X.\n\n## [0.1.0] - 2025-01-01\n\n- First.\n"
    new = update_changelog(text, Version("0.2.0"), "2026-02-03", "- drafted\n")
    assert new.startswith("# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2026-02-03\n\n- Added X.\n\n## [0.1.0]")
    assert "drafted" not in new
    created = update_changelog(None, Version("0.2.0"), "2026-02-03", draft_notes(["fix: a", "chore: b", "odd"]))
    assert "### Bug fixes\n\n- A" in created and "### Chores" in created and "### Other\n\n- Odd" in created


def test_dry_run_prints_a_diff_and_writes_nothing(ecosystem, registry):
    root = ecosystem.checkout("juniper-data")
    snapshot = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}
    out: list[str] = []
    bump(registry, ecosystem.workspace, "juniper-data", "patch", dry_run=True, out=out.append)
    text = "\n".join(out)
    assert '-version = "0.6.0"' in text and '+version = "0.6.1"' in text and "+++ b/juniper-data/CHANGELOG.md" in text
    assert {p: p.read_bytes() for p in snapshot} == snapshot
    assert Git(root).is_clean()


def test_minor_bump_reports_and_rewrites_escaped_dependents(ecosystem, registry):
    out: list[str] = []
    bump(registry, ecosystem.workspace, "juniper-data-client", "minor", dry_run=True, out=out.append)
    text = "\n".join(out)
    assert "warning: juniper-data-client 0.3.1 -> 0.4.0 is a minor bump before 1.0" in text
    for dep in ("juniper-data", "juniper-cascor", "juniper-ml"):
        assert f"dependent {dep}:" in text
    assert Git(ecosystem.checkout("juniper-ml")).is_clean()  # reported only
    ml_before = (ecosystem.checkout("juniper-ml") / "pyproject.toml").read_text()
    plan = plan_bump(registry, ecosystem.workspace, "juniper-data-client", "minor", update_dependents=True)
    apply_edits(plan.edits)
    ml_after = (ecosystem.checkout("juniper-ml") / "pyproject.toml").read_text()
    # Only the ceiling moves: the floor (>=0.3.1) and every other specifier stay.
    assert '"juniper-data-client>=0.3.1,<0.5"' in ml_after
    assert '"juniper-cascor-client>=0.4.0,<0.5"' in ml_after  # untouched sibling
    changed = [line for line in difflib.ndiff(ml_before.splitlines(), ml_after.splitlines()) if line[:1] in "+-"]
    assert len(changed) == 2
    data = read_project(load_registry().get("juniper-data"), ecosystem.checkout("juniper-data"))
    assert str(data.optional["api"][0].specifier) == "<0.5,>=0.3.1"


def test_writes_are_atomic_when_a_rename_fails(ecosystem, registry, monkeypatch):
    root = ecosystem.checkout("juniper-data-client")
    snapshot = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}
    real_replace = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(JuniperError, match="every file was restored"):
        bump(registry, ecosystem.workspace, "juniper-data-client", "patch", out=lambda _m: None)
    monkeypatch.setattr(os, "replace", real_replace)
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == snapshot
    assert Git(root).is_clean()


def _snapshot(root):
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}


def test_writes_are_atomic_when_one_target_file_cannot_be_written(ecosystem, registry, monkeypatch):
    """A read-only CHANGELOG (os.access, since tests may run as root) stops the bump before any file changes."""
    root = ecosystem.checkout("juniper-data-client")
    snapshot = _snapshot(root)
    changelog = root / "CHANGELOG.md"
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(changelog) else real_access(p, mode))
    with pytest.raises(JuniperError, match=r"could not write .*CHANGELOG.md: Permission denied.*nothing was changed"):
        bump(registry, ecosystem.workspace, "juniper-data-client", "patch", out=lambda _m: None)
    assert _snapshot(root) == snapshot and Git(root).is_clean()


def test_writes_are_atomic_when_a_temp_file_cannot_be_created(ecosystem, registry):
    root = ecosystem.checkout("juniper-data-client")
    snapshot = _snapshot(root)
    blocker = root / ".CHANGELOG.md.juniper-tmp"
    blocker.mkdir()  # the CHANGELOG's temp file cannot be written
    with pytest.raises(JuniperError, match=r"could not write .*nothing was changed"):
        bump(registry, ecosystem.workspace, "juniper-data-client", "patch", out=lambda _m: None)
    blocker.rmdir()
    assert _snapshot(root) == snapshot and Git(root).is_clean()


def test_existing_tag_is_refused_before_anything_is_written_or_committed(ecosystem, registry):
    root = ecosystem.checkout("juniper-cascor-client")
    git = Git(root)
    git.run("tag", "-a", "v0.4.1", "-m", "stale")
    head, snapshot = git.head(), _snapshot(root)
    with pytest.raises(JuniperError, match=r"tag v0.4.1 already exists; nothing was changed.*Fix:.*tag -d v0.4.1"):
        bump(
            registry, ecosystem.workspace, "juniper-cascor-client", "patch", commit=True, tag=True, out=lambda _m: None
        )
    assert git.head() == head and _snapshot(root) == snapshot and git.is_clean()


def test_commit_and_tag(ecosystem, registry):
    root = ecosystem.checkout("juniper-cascor-client")
    bump(registry, ecosystem.workspace, "juniper-cascor-client", "patch", commit=True, tag=True, out=lambda _m: None)
    git = Git(root)
    assert git.is_clean()
    assert git.run("log", "-1", "--format=%s") == "Bump juniper-cascor-client to 0.4.1"
    assert git.run("cat-file", "-t", "v0.4.1") == "tag"
    assert git.run("rev-list", "-n", "1", "v0.4.1") == git.head()


def test_dirty_tree_refused_without_force(ecosystem, registry):
    root = ecosystem.checkout("juniper-data")
    (root / "README.md").write_text("changed\n")
    with pytest.raises(JuniperError, match=r"uncommitted changes.*--force"):
        bump(registry, ecosystem.workspace, "juniper-data", "patch", out=lambda _m: None)
    assert read_project(registry.get("juniper-data"), root).version == Version("0.6.0")
    bump(registry, ecosystem.workspace, "juniper-data", "patch", force=True, out=lambda _m: None)
    assert read_project(registry.get("juniper-data"), root).version == Version("0.6.1")


def test_tag_without_commit_and_not_greater_are_errors(ecosystem, registry):
    with pytest.raises(JuniperError, match="--tag needs --commit"):
        bump(registry, ecosystem.workspace, "juniper-data", "patch", tag=True, out=lambda _m: None)
    with pytest.raises(VersionError, match="not greater"):
        bump(registry, ecosystem.workspace, "juniper-data", to="0.5.0", out=lambda _m: None)
    with pytest.raises(VersionError, match="not a normalized"):
        bump(registry, ecosystem.workspace, "juniper-data", to="v0.7.0", out=lambda _m: None)


def test_invoke_bump_front_door_dry_run(ecosystem):
    env = {"JUNIPER_WORKSPACE": str(ecosystem.workspace)}
    proc = run_task("bump", "--package", "juniper-data", "--part", "patch", "--dry-run", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "nothing was written" in proc.stdout
    bad = run_task("bump", "--package", "juniper-data", "--to", "1.0", env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "'1.0' is not a normalized" in bad.stderr
