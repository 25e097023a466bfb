"""Releasing what was merged (issue 18 §3): the PR flow on the stand-in with the local GitHub stand-in. A bump lands
through a pull request on a protected main; the release tags the merged commit and pushes only the tag; a direct
push is refused by the protected branch; CI must not be failing at that commit; a publish run waiting for approval
is PENDING-APPROVAL and a re-run resumes it; a halted package gets one issue, updated, then closed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import release_options as opts
from juniper_release.ecosystem.indexes import versions
from juniper_release.ecosystem.registry import load_registry
from juniper_release.errors import JuniperError
from juniper_release.github.forge import GitHub
from juniper_release.gitops import Git
from juniper_release.release import gates
from juniper_release.release.gates import PreflightError
from juniper_release.release.package import release
from juniper_release.release.propose import run as propose
from juniper_release.release.train import release_train
from juniper_release.release.versioning import bump
from juniper_release.sandbox.fakeforge import FakeGitHub
from juniper_release.sandbox.rehearse import workflow_runner
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PKG = "juniper-cascor-client"
REPO = "pcalnon/juniper-cascor-client"
TOKEN = "t0ken"


@pytest.fixture
def reg(index_env, monkeypatch):
    for key, value in index_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(gates, "is_verified", lambda *a: True)
    return load_registry(ROOT / "repos.toml", env=index_env)


def _forge(fake: FakeGitHub, reg) -> GitHub:
    return GitHub(fake.url, token=TOKEN, allowed_repos=frozenset(p.repo for p in reg.packages))


def _merge_a_proposal(reg, eco, fake: FakeGitHub) -> str:
    """propose --execute, merge the PR on the stand-in, pull: the merged commit."""
    forge = _forge(fake, reg)
    assert (
        propose(reg, eco.workspace, {PKG: "patch"}, draft_notes=True, execute_=True, forge=forge, out=lambda _m: None)
        == 0
    )
    pull = forge.find_open_pull(REPO, f"release/{PKG}-0.4.1", "main")
    assert pull is not None
    merged = forge.merge_pull(REPO, pull.number)
    Git(eco.checkout(PKG)).run("pull", "-q", "--ff-only", "origin", "main")
    return merged


def test_the_release_tags_the_merged_commit_and_pushes_only_the_tag(reg, make_ecosystem):
    eco = make_ecosystem()
    with FakeGitHub(token=TOKEN, remotes=eco.remotes) as fake:
        fake.protect(REPO, "main")
        merged = _merge_a_proposal(reg, eco, fake)
        forge = _forge(fake, reg)
        fake.set_status(REPO, merged, "failure", context="tests")
        with pytest.raises(PreflightError) as failing:
            release(reg, eco.workspace, PKG, opts([], execute=True, direct_push=False), forge=forge)
        gate = next(g for g in failing.value.failures if g.name == "CI passed at the release commit")
        assert "CI is failure" in gate.what and "tests" in gate.what
        fake.set_status(REPO, merged, "success", context="tests")
        lines: list[str] = []
        release(reg, eco.workspace, PKG, opts(lines, execute=True, direct_push=False), forge=forge)
    bare = Git(eco.remote(REPO))
    assert bare.run("rev-list", "-n", "1", "v0.4.1") == merged == bare.run("rev-parse", "main")
    assert "pushed v0.4.1 (main on origin already holds" in "\n".join(lines)
    assert versions(reg.index("pypi"), PKG) == (Version("0.4.1"),)


def test_an_unmerged_bump_is_refused_with_the_way_through_a_pull_request(reg, make_ecosystem):
    eco = make_ecosystem()
    bump(reg, eco.workspace, PKG, "patch", commit=True, out=lambda _m: None)
    with pytest.raises(PreflightError) as exc:
        release(reg, eco.workspace, PKG, opts([], execute=True, direct_push=False))
    gate = next(g for g in exc.value.failures if g.name == "in sync with origin")
    assert "the PR flow tags only what was merged" in gate.what
    assert "invoke propose --packages juniper-cascor-client" in gate.fix and "--direct-push" in gate.fix


def test_a_direct_push_is_refused_by_the_protected_branch(reg, make_ecosystem):
    eco = make_ecosystem()
    bump(reg, eco.workspace, PKG, "patch", commit=True, out=lambda _m: None)
    with FakeGitHub(token=TOKEN, remotes=eco.remotes) as fake:
        fake.protect(REPO, "main")
        with pytest.raises(JuniperError, match=r"step 'push' failed.*origin rejected the push"):
            release(reg, eco.workspace, PKG, opts([], execute=True, direct_push=True), forge=_forge(fake, reg))
    assert not Git(eco.remote(REPO)).ok("rev-parse", "-q", "--verify", "refs/tags/v0.4.1")


@pytest.mark.slow
def test_a_run_waiting_for_approval_is_pending_and_a_re_run_resumes(reg, make_ecosystem, tmp_path):
    eco = make_ecosystem()
    (tmp_path / "ci").mkdir()
    runner = workflow_runner(reg, eco.remotes, tmp_path / "ci", False, 30)
    with FakeGitHub(runner, token=TOKEN, remotes=eco.remotes, wait_for_approval=True) as fake:
        _merge_a_proposal(reg, eco, fake)
        forge = _forge(fake, reg)
        lines: list[str] = []
        plan = release_train(
            reg, eco.workspace, opts(lines, execute=True, mode="github", direct_push=False), PKG, forge=forge
        )
        row = plan.row(PKG)
        assert row.outcome == "pending-approval" and row.reason.startswith("publish run waiting for approval: http")
        assert any(line.startswith("PENDING-APPROVAL: juniper-cascor-client 0.4.1") for line in lines)
        assert not versions(reg.index("pypi"), PKG)
        [run_id] = [r["id"] for r in fake.state.runs.get(REPO, []) if r.get("status") == "waiting"]
        fake.approve(run_id)
        again: list[str] = []
        plan = release_train(
            reg, eco.workspace, opts(again, execute=True, mode="github", direct_push=False), PKG, forge=forge
        )
        assert plan.row(PKG).outcome == "released"
    assert versions(reg.index("pypi"), PKG) == (Version("0.4.1"),)


def test_a_halt_files_one_issue_updates_it_and_closes_it_once_released(reg, make_ecosystem, monkeypatch):
    eco = make_ecosystem()
    bump(reg, eco.workspace, PKG, "patch", commit=True, out=lambda _m: None)
    monkeypatch.setattr(gates, "is_verified", lambda *a: False)
    with FakeGitHub(token=TOKEN, remotes=eco.remotes) as fake:
        forge = _forge(fake, reg)
        options = {"execute": True, "direct_push": True, "file_issues": True}
        for _ in range(2):
            with pytest.raises(JuniperError, match="halted juniper-cascor-client"):
                release_train(reg, eco.workspace, opts([], **options), PKG, forge=forge)
        issue = forge.find_issue(REPO, title="Release juniper-cascor-client 0.4.1 halted")
        assert issue is not None and issue.number == 1
        assert forge.find_issue(REPO, title="Release juniper-cascor-client 0.4.1 halted", state="closed") is None
        creates = [r for r in fake.log if r.method == "POST" and r.path.endswith("/issues")]
        comments = [r for r in fake.log if r.method == "POST" and r.path.endswith(f"/issues/{issue.number}/comments")]
        assert (len(creates), len(comments)) == (1, 1)
        monkeypatch.setattr(gates, "is_verified", lambda *a: True)
        lines: list[str] = []
        release_train(reg, eco.workspace, opts(lines, **options), PKG, forge=forge)
        assert f"{PKG}: closed issue #{issue.number}" in lines
        assert forge.find_issue(REPO, title="Release juniper-cascor-client 0.4.1 halted") is None


def test_the_adapter_refuses_a_repository_outside_the_registry(reg):
    with FakeGitHub(token=TOKEN) as fake:
        with pytest.raises(JuniperError, match=r"not in the registry's repositories"):
            _forge(fake, reg).find_open_pull("someone/elsewhere", "release/x-1.0.0")
        assert fake.log == []


def test_a_dry_run_checks_the_token_push_rights_and_ci_when_github_answers(reg, make_ecosystem):
    """Issue 20 §3: with a token and GitHub reachable, the dry run makes the read-only checks --execute makes."""
    eco = make_ecosystem()
    with FakeGitHub(token=TOKEN, remotes=eco.remotes) as fake:
        merged = _merge_a_proposal(reg, eco, fake)
        fake.set_status(REPO, merged, "failure", context="tests")
        fake.set_permissions(REPO, push=False)
        lines: list[str] = []
        with pytest.raises(PreflightError) as exc:
            release(reg, eco.workspace, PKG, opts(lines, mode="github", direct_push=False), forge=_forge(fake, reg))
        failed = {g.name for g in exc.value.failures}
        assert failed == {"CI passed at the release commit", f"GitHub token can push to {REPO}"}
        assert not any(line.startswith("dry run: ") for line in lines)  # nothing skipped: everything answered


def test_twine_execute_checks_upload_credentials_before_building(reg, make_ecosystem, monkeypatch):
    eco = make_ecosystem()
    bump(reg, eco.workspace, PKG, "patch", commit=True, out=lambda _m: None)
    for var in ("JUNIPER_TESTPYPI_TOKEN", "JUNIPER_PYPI_TOKEN", "TWINE_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(eco.workspace))  # no ~/.pypirc
    remote = {"testpypi": "https://test.pypi.invalid/legacy/", "pypi": "https://upload.pypi.invalid/legacy/"}
    registry = load_registry(ROOT / "repos.toml", env={f"JUNIPER_{k.upper()}_UPLOAD_URL": v for k, v in remote.items()})
    with pytest.raises(PreflightError) as exc:
        release(registry, eco.workspace, PKG, opts([], execute=True, direct_push=True))
    gate = next(g for g in exc.value.failures if g.name == "upload credentials")
    assert "no upload credentials for testpypi" in gate.what
    assert not (eco.workspace / ".juniper-release" / "dist").exists()  # nothing was built


@pytest.mark.slow
def test_rehearse_flow_pr_end_to_end_then_a_second_run_does_nothing(make_ecosystem, tmp_path, monkeypatch):
    """invoke rehearse --flow pr: detect -> propose -> merge (protected main) -> release -> publish, in rounds (the
    consumers whose ceilings the follow-ons raised come next), then a second pass that opens and publishes nothing."""
    from juniper_release.sandbox.rehearse import rehearse

    monkeypatch.setattr(gates, "is_verified", lambda *a: True)
    eco = make_ecosystem()
    lines: list[str] = []
    docs: list[str] = []
    rows = rehearse(
        ROOT / "repos.toml",
        eco.workspace,
        tmp_path / "reh",
        run_verify=False,
        verify_installs=False,
        timeout=60,
        out=lines.append,
        fmt="json",
        emit=docs.append,
        flow="pr",
    )
    text = "\n".join(lines)
    assert "detect: juniper-cascor-client (patch), juniper-cascor-worker (patch), juniper-data-client (minor)" in text
    assert "merged #1 Allow juniper-data-client 0.4.0 in juniper-data" in text  # a cross-repository follow-on
    assert "detect: juniper-cascor (patch), juniper-data (patch), juniper-ml (patch)" in text  # the next round
    assert "second run: opened nothing, published nothing" in text
    assert all(r["tag on origin"] and r["GitHub release"] and r["testpypi"] and r["pypi"] for r in rows)
    import json

    outcomes = {r["package"]: (r["version"], r["outcome"]) for r in json.loads(docs[-1])["packages"]}
    assert outcomes["juniper-data-client"] == ("0.4.0", "released") and outcomes["juniper-ml"] == ("0.6.1", "released")
