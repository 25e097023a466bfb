"""What GitHub already holds is checked, not trusted (issue 27, section 2): an existing Release at the tag must be this
release's (its tag, its target commit, published), the CI gate passes only on success (a pending status waits within
the timeout, then says "CI still running"), a local version is refused before any step, and propose never reuses a
branch whose pull request was closed unmerged."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import release_options
from juniper_release.errors import JuniperError
from juniper_release.github.forge import GitHub
from juniper_release.github.transport import Clock
from juniper_release.gitops import Git
from juniper_release.release import gates, steps
from juniper_release.release.context import ReleaseContext
from juniper_release.release.gates import PreflightError
from juniper_release.release.journal import Journal
from juniper_release.release.package import PackageRelease
from juniper_release.release.propose import plan_proposals
from juniper_release.release.propose import run as propose
from juniper_release.sandbox.fakeforge import FakeGitHub

PKG = "juniper-cascor-client"
REPO = "pcalnon/juniper-cascor-client"
TOKEN = "t0ken"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.on_sleep: list[object] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        for hook in self.on_sleep:
            hook()  # type: ignore[operator]

    def clock(self) -> Clock:
        return Clock(sleep=self.sleep, monotonic=lambda: self.now, wall=lambda: 1_700_000_000.0 + self.now)


def _forge(fake: FakeGitHub, registry, time: FakeTime | None = None) -> GitHub:
    repos = frozenset(p.repo for p in registry.packages)
    return GitHub(fake.url, token=TOKEN, allowed_repos=repos, clock=(time or FakeTime()).clock())


def _ctx(eco, registry, forge: GitHub, **kw) -> ReleaseContext:
    kw.setdefault("mode", "github")
    kw.setdefault("direct_push", False)
    return ReleaseContext(registry, eco.workspace, PKG, release_options([], **kw), Journal(eco.workspace), forge=forge)


# ---------------------------------------------------------------------------------- an existing Release is checked


def _seed(fake: FakeGitHub, ctx: ReleaseContext, **fields) -> None:
    release = {"id": 1, "tag_name": ctx.tag, "target_commitish": ctx.release_commit(), "draft": False}
    release |= {"html_url": f"{fake.url}/{REPO}/releases/tag/{ctx.tag}", **fields}
    fake.state.releases[REPO] = [release]


def test_an_existing_release_is_done_only_when_it_is_this_release_s(ecosystem, registry):
    with FakeGitHub(token=TOKEN) as fake:
        ctx = _ctx(ecosystem, registry, _forge(fake, registry))
        assert steps.github_release_exists(ctx) is False
        _seed(fake, ctx)
        assert steps.github_release_exists(ctx) is True
        _seed(fake, ctx, target_commitish="b" * 40)
        with pytest.raises(JuniperError) as squatted:
            steps.github_release_exists(ctx)
        assert "already exists for commit bbbbbbbb, not the release commit" in squatted.value.what
        assert "delete it there" in (squatted.value.fix or "")
        _seed(fake, ctx, draft=True)
        with pytest.raises(JuniperError, match="is a draft: a draft triggers no publish run") as draft:
            steps.github_release_exists(ctx)
        assert "publish the draft" in (draft.value.fix or "")
        other = {**fake.state.releases[REPO][0], "tag_name": "v9.9.9", "draft": False}
        fake.misbehave("GET", rf"/repos/{REPO}/releases/tags/", 200, other)  # GitHub answering another tag
        with pytest.raises(JuniperError, match=r"names tag 'v9\.9\.9'"):
            steps.github_release_exists(ctx)


def test_a_created_release_that_comes_back_a_draft_is_not_counted(ecosystem, registry):
    with FakeGitHub(token=TOKEN) as fake:
        ctx = _ctx(ecosystem, registry, _forge(fake, registry))
        answer = {"tag_name": ctx.tag, "target_commitish": ctx.release_commit(), "draft": True, "html_url": "u"}
        fake.misbehave("POST", rf"/repos/{REPO}/releases$", 201, answer)
        with pytest.raises(JuniperError, match="is a draft"):
            steps.create_github_release(ctx)
        assert "created" in steps.create_github_release(ctx)  # the real stand-in answers a published one


# ---------------------------------------------------------------------------------------- the CI gate waits for CI


def test_the_ci_gate_waits_for_a_pending_status_then_stops_with_ci_still_running(ecosystem, registry):
    time = FakeTime()
    with FakeGitHub(token=TOKEN) as fake:
        ctx = _ctx(ecosystem, registry, _forge(fake, registry, time), timeout=30)
        sha = ctx.release_commit()
        fake.set_status(REPO, sha, "success", "lint")
        fake.set_status(REPO, sha, "pending", "tests")
        gate = gates.ci_passed(ctx)
        assert gate is not None and not gate.ok
        assert f"CI still running at {sha[:8]} after 30s (tests pending)" in gate.what
        assert "[ok]" not in gate.line() and 0 < sum(time.slept) <= 30


def test_the_ci_gate_passes_once_the_pending_check_succeeds(ecosystem, registry):
    time = FakeTime()
    with FakeGitHub(token=TOKEN) as fake:
        ctx = _ctx(ecosystem, registry, _forge(fake, registry, time), timeout=30)
        sha = ctx.release_commit()
        fake.set_status(REPO, sha, "pending", "tests")
        time.on_sleep.append(lambda: fake.set_status(REPO, sha, "success", "tests"))
        gate = gates.ci_passed(ctx)
        assert gate is not None and gate.ok and time.slept == [0.5]
        fake.set_status(REPO, sha, "failure", "tests")
        gate = gates.ci_passed(ctx)
        assert gate is not None and not gate.ok and "CI is failure" in gate.what


# ------------------------------------------------------------------------------------ a local version is refused


def test_a_local_version_is_refused_before_any_step(ecosystem, registry):
    root = ecosystem.checkout(PKG)
    pyproject = root / "pyproject.toml"
    version = next(x for x in pyproject.read_text(encoding="utf-8").splitlines() if x.startswith("version = "))
    old = version.split('"')[1]
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(version, f'version = "{old}+local"'), "utf-8")
    for init in root.rglob("__init__.py"):
        init.write_text(init.read_text(encoding="utf-8").replace(f'"{old}"', f'"{old}+local"'), encoding="utf-8")
    head = Git(root).head()
    with FakeGitHub(token=TOKEN) as fake:
        lines: list[str] = []
        ctx_opts = release_options(lines, mode="twine", execute=True, offline=False)
        rel = PackageRelease(registry, ecosystem.workspace, PKG, ctx_opts, Journal(ecosystem.workspace))
        gate = gates.versions_agree(rel.ctx)
        assert not gate.ok and f"version {old}+local has a local part (+local)" in gate.what
        assert f"--to {old} --force" in (gate.fix or "")
        with pytest.raises(PreflightError):
            PackageRelease(
                registry,
                ecosystem.workspace,
                PKG,
                release_options([], offline=True),
                Journal(ecosystem.workspace),
                forge=_forge(fake, registry),
            ).run()
    assert Git(root).head() == head and Git(root).run("tag", "--list", f"*{old}+local*") == ""


# ------------------------------------------------------------------------- propose: a closed PR's branch is rebuilt


def _notes(root: Path) -> None:
    path = root / "CHANGELOG.md"
    notes = "### Fixed\n\n- Reconnect after a dropped socket.\n"
    path.write_text(path.read_text(encoding="utf-8").replace("## [Unreleased]\n", f"## [Unreleased]\n\n{notes}", 1))
    git = Git(root)
    git.run("commit", "-q", "-am", "docs: notes")
    git.run("push", "-q", "origin", "main")


def test_propose_rebuilds_a_branch_whose_pull_request_was_closed_unmerged(ecosystem, registry):
    root = ecosystem.checkout(PKG)
    _notes(root)
    bare = Git(ecosystem.remote(REPO))
    with FakeGitHub(token=TOKEN, remotes=ecosystem.remotes) as fake:
        assert (
            propose(
                registry,
                ecosystem.workspace,
                {PKG: "patch"},
                execute_=True,
                forge=_forge(fake, registry),
                out=lambda _m: None,
            )
            == 0
        )
        [first] = fake.state.pulls[REPO]
        branch = first["head"]["ref"]
        stale = bare.run("rev-parse", f"refs/heads/{branch}")
        first["state"] = "closed"  # closed unmerged, the branch left behind
        (root / "NOTES.md").write_text("origin moved on\n", encoding="utf-8")
        git = Git(root)
        git.run("add", "NOTES.md")
        git.run("commit", "-q", "-m", "chore: origin moves on")
        git.run("push", "-q", "origin", "main")
        main = bare.run("rev-parse", "refs/heads/main")
        out: list[str] = []
        assert (
            propose(
                registry,
                ecosystem.workspace,
                {PKG: "patch"},
                execute_=True,
                forge=_forge(fake, registry),
                out=out.append,
            )
            == 0
        )
        second = fake.state.pulls[REPO][-1]
        tip = bare.run("rev-parse", f"refs/heads/{branch}")
        assert second["number"] != first["number"] and second["state"] == "open"
        assert tip != stale and bare.run("rev-parse", f"{tip}^") == main  # rebuilt on origin's current head
        assert bare.ok("cat-file", "-e", f"{tip}:NOTES.md")
        [now] = plan_proposals(registry, ecosystem.workspace, {PKG: "patch"})
        assert second["head"]["sha"] == tip and second["body"] == now.change.body  # the body is the branch's
        assert "rebuilt on origin/main" in "\n".join(out) and "opened #2" in out[-1]


def test_the_preflight_stops_on_a_squatted_or_draft_release_before_any_step(ecosystem, registry):
    with FakeGitHub(token=TOKEN) as fake:
        ctx = _ctx(ecosystem, registry, _forge(fake, registry))
        assert gates.release_at_tag_is_ours(ctx) is None  # no Release yet: nothing to check
        _seed(fake, ctx)
        assert gates.release_at_tag_is_ours(ctx).ok  # type: ignore[union-attr]
        for fields, said in (({"target_commitish": "c" * 40}, "squatted"), ({"draft": True}, "is a draft")):
            _seed(fake, ctx, **fields)
            gate = gates.release_at_tag_is_ours(ctx)
            assert gate is not None and not gate.ok and said in gate.what and "re-run to resume" in gate.fix
            assert "[FAIL]" in gate.line()
