"""invoke propose: each release as a pull request (release/propose.py), on the stand-in with real git and the local
GitHub stand-in: golden dry-run diffs, ceiling co-changes in one repository and follow-ons in others, an idempotent
execute, a repository without push rights, and a protected branch that refuses a direct push while the PR lands."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from juniper_release.errors import GitError
from juniper_release.github.forge import GitHub
from juniper_release.gitops import Git
from juniper_release.release.propose import plan_proposals, render, run
from juniper_release.sandbox.fakeforge import FakeGitHub

GOLDEN = Path(__file__).resolve().parent / "golden"
TODAY = dt.date(2026, 1, 2)
NOTES = "### Features\n\n- Stream datasets in chunks.\n"


def _notes(root: Path, notes: str = NOTES) -> None:
    """Write the package's [Unreleased] notes and commit them (so origin/main and the checkout agree)."""
    path = root / "CHANGELOG.md"
    text = path.read_text(encoding="utf-8").replace("## [Unreleased]\n", f"## [Unreleased]\n\n{notes}", 1)
    path.write_text(text, encoding="utf-8")
    git = Git(root)
    git.run("commit", "-q", "-am", "docs: notes")
    git.run("push", "-q", "origin", "main")


def test_the_dry_run_prints_every_diff_title_and_body_and_writes_nothing(ecosystem, registry):
    root = ecosystem.checkout("juniper-data-client")
    _notes(root)
    before = {p: p.read_bytes() for p in ecosystem.workspace.rglob("*") if p.is_file() and ".git" not in p.parts}
    proposals = plan_proposals(registry, ecosystem.workspace, {"juniper-data-client": "minor"}, today=TODAY)
    text = render(proposals)
    golden = GOLDEN / "propose-data-client-minor.txt"
    if os.environ.get("JUNIPER_REGEN_GOLDEN"):  # JUNIPER_REGEN_GOLDEN=1 pytest tests/test_propose.py: review the diff
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), "regenerate tests/golden/ only if the change is intended"
    after = {p: p.read_bytes() for p in ecosystem.workspace.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert before == after
    [proposal] = proposals
    assert proposal.change.branch == "release/juniper-data-client-0.4.0" and proposal.change.refused is None
    assert [f.branch for f in proposal.followons] == ["deps/juniper-data-client-ceiling-0.4.0"] * 3


def test_an_empty_unreleased_is_refused_unless_drafted(ecosystem, registry):
    [refused] = plan_proposals(registry, ecosystem.workspace, {"juniper-cascor-client": "patch"}, today=TODAY)
    assert "CHANGELOG [Unreleased] is empty" in (refused.change.refused or "")
    assert "--draft-notes" in (refused.change.refused or "")
    [drafted] = plan_proposals(
        registry, ecosystem.workspace, {"juniper-cascor-client": "patch"}, draft_notes=True, today=TODAY
    )
    assert drafted.change.refused is None
    assert "drafted from the commits by juniper-release" in drafted.change.diff()
    out: list[str] = []
    assert run(registry, ecosystem.workspace, {"juniper-cascor-client": "patch"}, out=out.append) == 1
    assert "refused: juniper-cascor-client" in out[-1] and "nothing was written or pushed" in out[-1]


def test_a_ceiling_in_the_same_repository_moves_in_the_same_commit(make_ecosystem, grown_registry_and_eco):
    registry, eco = grown_registry_and_eco
    core = registry.get("juniper-model-core")
    consumer = registry.get("juniper-service-core")  # same repository (juniper-ml), a sub-package beside it
    pyproject = consumer.checkout(eco.workspace) / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace("juniper-model-core>=0.1.0", "juniper-model-core>=0.1.0,<0.4"),
        encoding="utf-8",
    )
    _notes(core.checkout(eco.workspace))
    [proposal] = plan_proposals(registry, eco.workspace, {"juniper-model-core": "minor"}, today=TODAY)
    changed = {e.path for e in proposal.change.edits}
    assert pyproject in changed  # same commit, same branch
    assert "juniper-model-core>=0.1.0,<0.5" in next(e.new for e in proposal.change.edits if e.path == pyproject)
    assert all(f.repo != core.repo for f in proposal.followons)


@pytest.fixture
def grown_registry_and_eco(tmp_path):
    from juniper_release.ecosystem.registry import ROOT, load_registry
    from juniper_release.sandbox.grown import create_grown

    registry = load_registry(ROOT / "registries" / "grown.toml", env={})
    eco = create_grown(tmp_path / "ws", registry, frozenset(), remotes=tmp_path / "remotes")
    return registry, eco


def _forge(fake: FakeGitHub, registry) -> GitHub:
    return GitHub(fake.url, token="t0ken", allowed_repos=frozenset(p.repo for p in registry.packages))


def test_execute_opens_each_pull_request_once_and_skips_a_repository_it_cannot_push_to(ecosystem, registry):
    _notes(ecosystem.checkout("juniper-data-client"))
    parts = {"juniper-data-client": "minor"}
    with FakeGitHub(token="t0ken", remotes=ecosystem.remotes) as fake:
        fake.set_permissions("pcalnon/juniper-ml", push=False)
        out: list[str] = []
        code = run(registry, ecosystem.workspace, parts, execute_=True, forge=_forge(fake, registry), out=out.append)
        table = " ".join(out[-1].split())  # the table wraps its outcome column
        assert code == 1  # juniper-ml's follow-on was skipped
        assert "opened #1" in table and "skipped: the token cannot push to pcalnon/juniper-ml" in table
        bare = Git(ecosystem.remote("pcalnon/juniper-data-client"))
        assert bare.ok("rev-parse", "--verify", "refs/heads/release/juniper-data-client-0.4.0")
        assert bare.run("log", "-1", "--format=%s", "release/juniper-data-client-0.4.0") == (
            "Release juniper-data-client 0.4.0"
        )
        # the maintainer's checkout is untouched: no branch, no worktree left behind
        local = Git(ecosystem.checkout("juniper-data-client"))
        assert local.is_clean() and "release/" not in local.run("branch", "--list")
        assert local.run("worktree", "list").count("\n") == 0
        again: list[str] = []
        run(registry, ecosystem.workspace, parts, execute_=True, forge=_forge(fake, registry), out=again.append)
        assert "opened" not in again[-1] and " ".join(again[-1].split()).count("already open") == 3
        creates = [r for r in fake.log if r.method == "POST" and r.path.endswith("/pulls")]
        assert len(creates) == 3


def test_a_protected_branch_refuses_a_direct_push_and_the_pull_request_lands(ecosystem, registry):
    root = ecosystem.checkout("juniper-cascor-client")
    _notes(root)
    with FakeGitHub(token="t0ken", remotes=ecosystem.remotes) as fake:
        fake.protect("pcalnon/juniper-cascor-client", "main")
        (root / "NOTES.md").write_text("direct\n", encoding="utf-8")
        git = Git(root)
        git.run("add", "NOTES.md")
        git.run("commit", "-q", "-m", "chore: a direct commit")
        with pytest.raises(GitError, match="pre-receive hook declined"):
            git.run("push", "origin", "main")
        git.run("reset", "-q", "--hard", "origin/main")
        forge = _forge(fake, registry)
        assert run(registry, ecosystem.workspace, {"juniper-cascor-client": "patch"}, execute_=True, forge=forge) == 0
        pull = forge.find_open_pull("pcalnon/juniper-cascor-client", "release/juniper-cascor-client-0.4.1", "main")
        assert pull is not None
        merged = forge.merge_pull("pcalnon/juniper-cascor-client", pull.number)
        bare = Git(ecosystem.remote("pcalnon/juniper-cascor-client"))
        assert bare.run("rev-parse", "main") == merged
        shown = bare.run("show", "main:pyproject.toml")
        assert 'version = "0.4.1"' in shown
    subprocess.run(["git", "-C", str(root), "pull", "-q", "--ff-only", "origin", "main"], check=True)
    assert Git(root).head() == merged


def test_breaking_changes_section_with_migration_notes_and_a_checklist_item(ecosystem, registry):
    """The proposal lists each public API finding; a breaking one asks for migration notes, and the reviewer checks
    them. A proposal whose public API did not change has no such section (the golden above)."""
    from juniper_release.sandbox.changes import apply_change

    pkg = registry.get("juniper-data")
    apply_change(pkg.checkout(ecosystem.workspace), pkg.imports[0], "removed-function")
    Git(pkg.checkout(ecosystem.workspace)).run("push", "-q", "origin", "main")
    [proposal] = plan_proposals(registry, ecosystem.workspace, {"juniper-data": "minor"}, today=TODAY)
    body = proposal.change.body
    assert "## Breaking changes\n\n- breaking: removed `juniper_data.spiral`: `spiral(n: int) -> np.ndarray`" in body
    assert "### Migration notes" in body and "- `juniper_data.spiral`: TODO" in body
    assert "- [ ] the migration notes under Breaking changes are filled in for every breaking change" in body
    assert body.index("## Notes") < body.index("## Breaking changes") < body.index("## Reviewer checklist")
