"""Which tag is the release: real git repositories carrying stale, foreign and mismatched tags."""

from __future__ import annotations

from pathlib import Path

import pytest
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import Package
from juniper_release.ecosystem.status import State, package_status, render
from juniper_release.ecosystem.tags import (
    TagChoice,
    behind,
    matching_tags,
    newest_release,
    previous_release_tag,
    release_tag,
    released_version,
    tag_version,
    version_at,
)
from juniper_release.gitops import Git
from juniper_release.release.versioning import plan_bump
from packaging.version import Version

FMT = "v{version}"
PKG = Package("p", "o/p", "p", (), 0, (), False, tag_format=FMT)
V = Version


def _commit(git: Git, version: str | None, message: str) -> None:
    if version is not None:
        (git.root / "pyproject.toml").write_text(f'[project]\nname = "p"\nversion = "{version}"\n', encoding="utf-8")
    else:
        (git.root / "notes.txt").write_text(message, encoding="utf-8")
    git.run("add", "-A")
    git.run("commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Git:
    """0.3.0 and 0.3.1 released and tagged, then bumped to 0.4.0; plus a stale, a foreign and an invalid tag."""
    git = Git(tmp_path / "p")
    git.root.mkdir()
    git.run("init", "-q")
    _commit(git, "0.3.0", "first")
    git.tag_annotated("v0.3.0", "Release 0.3.0")
    git.run("tag", "cascor-pre-migration-v0.3.17")
    _commit(git, "0.3.1", "Bump to 0.3.1")
    git.tag_annotated("v0.3.1", "Release 0.3.1")
    git.run("tag", "v0.25.0-alpha")  # a pre-reset tag: above everything by version and by name
    git.run("tag", "vnext")
    _commit(git, "0.4.0", "Bump to 0.4.0")
    return git


def _above(ceiling: str, names: str) -> str:
    return (
        f"ignored tags above {ceiling}: {names} (if stale, delete them: `git tag -d TAG` and "
        "`git push origin :refs/tags/TAG`)"
    )


STALE = _above("0.4.0", "v0.25.0-alpha")
FOREIGN = "ignored tags not following tag_format 'v{version}': cascor-pre-migration-v0.3.17, vnext"

# --------------------------------------------------------------------------------------------------- naming


@pytest.mark.parametrize(
    ("fmt", "tag", "expected"),
    [
        (FMT, "v1.2.3", V("1.2.3")),
        (FMT, "v0.25.0-alpha", V("0.25.0a0")),
        (FMT, "v0.4.0rc1", V("0.4.0rc1")),
        (FMT, "cascor-pre-migration-v0.3.17", None),
        (FMT, "vnext", None),
        (FMT, "v", None),
        (FMT, "vv1.0", None),  # packaging alone would read this as 1.0
        (FMT, "1.2.3", None),
        ("juniper-data-{version}", "juniper-data-1.0.0", V("1.0.0")),
        ("{version}-release", "1.0.0-release", V("1.0.0")),
        ("{version}-release", "1.0.0", None),
        ("{version}", "V1.0", None),
    ],
)
def test_tag_version_matches_the_format_and_pep_440(fmt, tag, expected):
    assert tag_version(fmt, tag) == expected


def test_the_tag_the_format_writes_wins_among_equal_versions():
    assert matching_tags(FMT, ["v1.0.0", "v1.0", "x"]) == {V("1.0.0"): "v1.0.0"}
    assert matching_tags(FMT, ["v1.0", "v1.00"]) == {V("1.0"): "v1.0"}
    assert matching_tags(FMT, ["v1.00", "v1.0.0.0"]) == {V("1.0"): "v1.0.0.0"}  # neither is canonical: first by name


def test_released_version_is_the_newest_final_whatever_the_checkout_declares():
    assert released_version([V("0.3.1"), V("0.4.0")]) == V("0.4.0")  # a checkout declaring 0.3.1 is behind
    assert released_version([V("0.3.1"), V("0.4.0rc1")]) == V("0.3.1")
    assert released_version([V("0.4.0rc1"), V("0.4.0b1")]) == V("0.4.0rc1")
    assert released_version([]) is None
    assert newest_release([]) is None
    assert behind(V("0.1.0"), V("0.8.0")) and not behind(V("0.8.0"), V("0.8.0")) and not behind(V("0.1.0"), None)


# --------------------------------------------------------------------------------------------------- the choice


def test_the_released_versions_tag_wins_and_stale_and_foreign_tags_are_warnings(repo):
    choice = release_tag(repo, PKG, V("0.4.0"), V("0.3.1"))
    assert choice == TagChoice("v0.3.1", V("0.3.1"), (STALE, FOREIGN), None)


def test_without_a_released_version_the_highest_tag_at_or_below_the_declared_one(repo):
    assert release_tag(repo, PKG, V("0.4.0"), None).tag == "v0.3.1"
    assert release_tag(repo, PKG, V("0.3.0"), None).tag == "v0.3.0"
    assert release_tag(repo, PKG, V("0.2.0"), None) == TagChoice(
        None, None, (_above("0.2.0", "v0.3.0, v0.3.1, v0.25.0-alpha"), FOREIGN)
    )


def test_a_released_version_without_a_tag_falls_back_to_the_tags_below_the_declared_one(repo):
    assert release_tag(repo, PKG, V("0.4.0"), V("0.3.5")).tag == "v0.3.1"
    assert release_tag(repo, PKG, V("0.4.0"), V("0.9.0")).tag == "v0.3.1"  # never the stale v0.25.0-alpha


def test_only_tags_reachable_from_head_count(repo):
    """A checkout of an older commit carries the tags of later releases: they are neither chosen nor warned about."""
    repo.run("checkout", "-q", "-b", "later")
    _commit(repo, "0.5.0", "Bump to 0.5.0")
    repo.tag_annotated("v0.5.0", "Release 0.5.0")
    repo.run("tag", "v0.26.0-alpha")
    repo.run("tag", "later-pre-migration-v0.5.0")
    repo.run("checkout", "-q", "-")
    choice = release_tag(repo, PKG, V("0.4.0"), V("0.5.0"))
    assert choice == TagChoice("v0.3.1", V("0.3.1"), (STALE, FOREIGN), None)
    repo.run("checkout", "-q", "later")
    assert release_tag(repo, PKG, V("0.5.0"), V("0.5.0")).tag == "v0.5.0"


def test_a_tag_on_a_commit_declaring_another_version_is_a_warning_not_a_blocker(repo):
    repo.run("tag", "-f", "-a", "v0.3.1", "-m", "moved onto the 0.4.0 bump")
    choice = release_tag(repo, PKG, V("0.4.0"), V("0.3.1"))
    mismatch = "tag v0.3.1 is on a commit whose pyproject says 0.4.0"
    assert choice == TagChoice("v0.3.1", V("0.3.1"), (STALE, FOREIGN, mismatch), mismatch)


def test_no_tags_at_all(tmp_path):
    git = Git(tmp_path / "empty")
    git.root.mkdir()
    git.run("init", "-q")
    _commit(git, "0.1.0", "first")
    assert release_tag(git, PKG, V("0.1.0"), V("0.1.0")) == TagChoice(None, None)


def test_the_previous_release_is_below_the_version_being_released(repo):
    repo.tag_annotated("v0.4.0", "Release 0.4.0")  # resuming: this release's own tag exists already
    on_pypi = [V("0.3.0"), V("0.3.1"), V("0.4.0"), V("0.5.0rc1")]
    choice = previous_release_tag(repo, PKG, V("0.4.0"), on_pypi)
    assert (choice.tag, choice.version) == ("v0.3.1", V("0.3.1"))
    assert choice.warnings == (STALE, FOREIGN)
    assert previous_release_tag(repo, PKG, V("0.4.0"), []).tag == "v0.3.1"
    assert previous_release_tag(repo, PKG, V("0.4.0"), [V("0.3.0")]).tag == "v0.3.0"


def test_the_previous_release_prefers_the_last_final_over_a_pre_release(repo):
    repo.tag_annotated("v0.4.0rc1", "Release 0.4.0rc1")
    assert previous_release_tag(repo, PKG, V("0.4.0"), [V("0.3.1"), V("0.4.0rc1")]).tag == "v0.3.1"
    assert previous_release_tag(repo, PKG, V("0.4.0"), [V("0.4.0rc1")]).tag == "v0.4.0rc1"


def test_version_at_reads_pyproject_at_a_revision(repo):
    assert version_at(PKG, repo, "HEAD") == V("0.4.0")
    assert version_at(PKG, repo, "v0.3.0") == V("0.3.0")
    assert version_at(PKG, repo, "no-such-rev") is None
    (repo.root / "pyproject.toml").write_text('[project]\nname = "p"\ndynamic = ["version"]\n', encoding="utf-8")
    _commit(repo, None, "dynamic version")
    assert version_at(PKG, repo, "HEAD") is None
    (repo.root / "pyproject.toml").write_text('[project]\nversion = "not a version"\n', encoding="utf-8")
    repo.run("commit", "-q", "-am", "invalid")
    assert version_at(PKG, repo, "HEAD") is None
    (repo.root / "pyproject.toml").write_text("project = [\n", encoding="utf-8")
    repo.run("commit", "-q", "-am", "broken")
    assert version_at(PKG, repo, "HEAD") is None
    repo.run("rm", "-q", "pyproject.toml")
    repo.run("commit", "-q", "-m", "gone")
    assert version_at(PKG, repo, "HEAD") is None


# --------------------------------------------------------------------------------------------------- callers


def test_status_lists_ignored_tags_as_warnings_and_stays_up_to_date(ecosystem, registry):
    pkg = registry.get("juniper-data-client")
    root = ecosystem.checkout(pkg.path)
    git = Git(root)
    git.run("tag", "v0.25.0-alpha")
    git.run("tag", "cascor-pre-migration-v0.3.17")
    row = package_status(registry, pkg, read_project(pkg, root), 0, (V("0.3.1"),), ())
    assert (row.state, row.latest_tag, row.reasons) == (State.UP_TO_DATE, "v0.3.1", ())
    assert row.warnings == (
        _above("0.3.1", "v0.25.0-alpha"),
        "ignored tags not following tag_format 'v{version}': cascor-pre-migration-v0.3.17",
    )
    table = render([row])
    assert "anomalies:" not in table and "warnings:\n- juniper-data-client: ignored tags above 0.3.1" in table
    assert "**Warnings**" in render([row], "markdown")
    assert "warnings" not in render([row], "json")


def test_status_never_released_ignores_a_stale_tag(ecosystem, registry):
    pkg = registry.get("juniper-data-client")
    root = ecosystem.checkout(pkg.path)
    Git(root).run("tag", "v0.25.0-alpha")
    row = package_status(registry, pkg, read_project(pkg, root), 0, (), ())
    assert (row.state, row.latest_tag) == (State.NEVER_RELEASED, "v0.3.1")


def test_bump_notes_start_at_the_release_tag_and_warn_about_ignored_tags(ecosystem, registry):
    pkg = registry.get("juniper-data-client")
    root = ecosystem.checkout(pkg.path)
    git = Git(root)
    (root / "NOTES.md").write_text("new\n", encoding="utf-8")
    git.run("add", "NOTES.md")
    git.run("commit", "-q", "-m", "feat: a new thing")
    git.run("tag", "v0.25.0-alpha")  # on the new commit: picking it would drop "a new thing" from the notes
    plan = plan_bump(registry, ecosystem.workspace, pkg.name, "patch")
    assert any(w.startswith("juniper-data-client: ignored tags above 0.3.1: v0.25.0-alpha") for w in plan.warnings)
    changelog = next(e for e in plan.edits if e.path.name == "CHANGELOG.md")
    assert "- A new thing" in changelog.new


# --------------------------------------------------------------------------------------------------- stand-in quirks


def _row(registry, eco, name: str, on_pypi: tuple[str, ...]):
    pkg = registry.get(name)
    return package_status(registry, pkg, read_project(pkg, eco.checkout(pkg.path)), 0, tuple(map(V, on_pypi)), ())


def test_stale_foreign_and_mismatched_tags_are_warnings_never_anomalies(make_ecosystem, registry):
    eco = make_ecosystem("stale-tag,foreign-tag,mismatched-tag")
    data = _row(registry, eco, "juniper-data", ("0.6.0",))
    assert (data.state, data.latest_tag, data.reasons) == (State.UP_TO_DATE, "v0.6.0", ())
    assert data.warnings == (_above("0.6.0", "v0.25.0-alpha"),)
    cascor = _row(registry, eco, "juniper-cascor", ("0.5.0",))
    assert (cascor.state, cascor.latest_tag, cascor.reasons) == (State.UP_TO_DATE, "v0.5.0", ())
    assert cascor.warnings == ("ignored tags not following tag_format 'v{version}': cascor-pre-migration-v0.5.0",)
    client = _row(registry, eco, "juniper-data-client", ("0.3.0", "0.3.1"))
    assert (client.state, client.latest_tag, client.reasons) == (State.UP_TO_DATE, "v0.3.1", ())
    assert client.warnings == ("tags on commits whose pyproject says another version: v0.3.0 (0.2.9)",)
    # Without an index, the stale tag is still never the diff base: the highest tag at or below the declared version.
    never = _row(registry, eco, "juniper-data", ())
    assert (never.state, never.latest_tag) == (State.NEVER_RELEASED, "v0.6.0")


def test_a_mismatched_tag_as_the_fallback_release_tag_is_a_warning(make_ecosystem, registry):
    """v0.3.0 (on a 0.2.9 commit) is the highest tag when v0.3.1 is gone: the diff base, with a warning."""
    eco = make_ecosystem("mismatched-tag")
    Git(eco.checkout("juniper-data-client")).run("tag", "-d", "v0.3.1")
    row = _row(registry, eco, "juniper-data-client", ())
    assert (row.state, row.latest_tag, row.reasons) == (State.NEVER_RELEASED, "v0.3.0", ())
    assert row.warnings == ("tag v0.3.0 is on a commit whose pyproject says 0.2.9",)


def test_a_checkout_behind_pypi_is_an_anomaly_not_up_to_date(ecosystem, registry):
    """A seed-era checkout at 0.3.1 while PyPI has 0.8.0: its own tag is the diff base, the state says behind."""
    row = _row(registry, ecosystem, "juniper-data-client", ("0.3.1", "0.8.0"))
    assert (row.state, row.latest_tag) == (State.ANOMALY, "v0.3.1")
    assert row.reasons == ("checkout behind PyPI: pyproject 0.3.1 is below the released 0.8.0",)
    off = Git(ecosystem.checkout("juniper-data-client"))
    off.run("switch", "-q", "-c", "old-line")
    assert _row(registry, ecosystem, "juniper-data-client", ("0.8.0",)).reasons == (
        "checkout behind PyPI: pyproject 0.3.1 is below the released 0.8.0 (on branch old-line, not main)",
    )


def test_a_pre_release_tagged_locally_is_unknown_while_testpypi_cannot_be_read(ecosystem, registry):
    pkg = registry.get("juniper-data-client")
    root = ecosystem.checkout(pkg.path)
    for rel in ("pyproject.toml", "src/juniper_data_client/__init__.py"):
        (root / rel).write_text((root / rel).read_text(encoding="utf-8").replace('"0.3.1"', '"0.6.0rc1"'))
    Git(root).run("commit", "-q", "-am", "Bump to 0.6.0rc1")
    Git(root).run("tag", "-a", "v0.6.0rc1", "-m", "rc")
    project = read_project(pkg, root)
    unread = package_status(registry, pkg, project, 0, (V("0.3.1"),), None)
    assert unread.state is State.UNKNOWN
    assert unread.reasons == (
        "TestPyPI could not be read, so whether the pre-release 0.6.0rc1 is released there is unknown",
    )
    on_test = package_status(registry, pkg, project, 0, (V("0.3.1"),), (V("0.6.0rc1"),))
    assert (on_test.state, on_test.latest_tag) == (State.UP_TO_DATE, "v0.6.0rc1")
    assert package_status(registry, pkg, project, 0, (V("0.3.1"),), ()).state is State.BUMPED_NOT_RELEASED
