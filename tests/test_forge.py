"""The GitHub adapter against the local GitHub stand-in (a real HTTP server, real bare git remotes): Releases and
runs, the registry allowlist, the pull-request flow, commit statuses, issues and a run waiting for approval."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from juniper_release.github.forge import ForgeError, GitHub, PendingApproval, Run, select_run
from juniper_release.gitops import Git
from juniper_release.sandbox.fakeforge import FakeGitHub

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
SHA = "a" * 40


def test_release_is_created_with_notes_and_token_only_in_the_header():
    with FakeGitHub(token=TOKEN) as fake:
        gh = GitHub(fake.url, token=TOKEN)
        assert gh.release_by_tag("o/r", "v1.0.0rc1") is None
        rel = gh.create_release("o/r", "v1.0.0rc1", sha=SHA, title="v1.0.0rc1", body="- notes\n", prerelease=True)
        assert rel["prerelease"] is True and rel["body"] == "- notes\n"
        assert gh.release_by_tag("o/r", "v1.0.0rc1") is not None
        assert all(h == f"Bearer {TOKEN}" for h in fake.state.auth_headers)
        assert not any(TOKEN in r for r in fake.state.requests)
        with pytest.raises(ForgeError, match=r"HTTP 422.*Fix: the Release or tag already exists"):
            gh.create_release("o/r", "v1.0.0rc1", sha=SHA, title="x", body="", prerelease=True)


def test_bad_token_is_a_one_line_error_without_the_token():
    wrong = "ghp_" + "Z" * 36
    with FakeGitHub(token=TOKEN) as fake, pytest.raises(ForgeError) as exc:
        GitHub(fake.url, token=wrong).release_by_tag("o/r", "v1")
    assert "HTTP 401" in str(exc.value) and "Fix: check GITHUB_TOKEN" in str(exc.value)
    assert wrong not in str(exc.value) and "\n" not in str(exc.value)


def test_unreachable_github_is_a_clear_error():
    with pytest.raises(ForgeError, match=r"cannot reach GitHub.*Fix: check the network"):
        GitHub("http://127.0.0.1:9", token="").release_by_tag("o/r", "v1")


def test_missing_token_is_refused_for_the_real_api(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    with pytest.raises(ForgeError, match=r"no GitHub token.*Fix: export GITHUB_TOKEN"):
        GitHub("https://api.github.com").create_release("o/r", "v1", sha=SHA, title="", body="", prerelease=False)


def _run(i: int, path: str, branch: str, sha: str) -> Run:
    return Run(i, path, branch, sha, "release", "completed", "success", "")


def test_run_selection_uses_workflow_tag_and_commit_never_latest():
    runs = [
        _run(1, ".github/workflows/publish.yml", "v1.0.0", SHA),
        _run(9, ".github/workflows/publish.yml", "v0.9.0", "b" * 40),  # newest: a sibling's tag
        _run(8, ".github/workflows/ci.yml", "v1.0.0", SHA),  # another workflow on our commit
        _run(7, ".github/workflows/publish.yml", "v1.0.0", "c" * 40),  # our tag, a stale commit
    ]
    assert select_run(runs, ".github/workflows/publish.yml", "v1.0.0", SHA) == runs[0]
    assert select_run(runs, "publish.yml", "v2.0.0", SHA) is None


def test_watch_follows_the_triggered_run_to_success_and_reports_failure():
    gate = threading.Event()

    def runner(repo: str, tag: str, sha: str) -> None:
        gate.wait(5)
        if tag == "v2.0.0":
            raise RuntimeError("upload failed")

    with FakeGitHub(runner) as fake:
        gh = GitHub(fake.url, token="")
        gh.create_release("o/r", "v1.0.0", sha=SHA, title="v1.0.0", body="", prerelease=False)
        seen: list[str] = []
        threading.Timer(0.3, gate.set).start()
        run = gh.watch("o/r", ".github/workflows/publish.yml", tag="v1.0.0", sha=SHA, timeout=30, on_change=seen.append)
        assert run.conclusion == "success" and run.head_branch == "v1.0.0" and run.path.endswith("publish.yml")
        assert any("in progress" in s or "queued" in s for s in seen)  # said in words, never in_progress/None
        assert not any("None" in s or "in_progress" in s for s in seen)
        gh.create_release("o/r", "v2.0.0", sha="d" * 40, title="v2.0.0", body="", prerelease=False)
        with pytest.raises(ForgeError, match=r"concluded failure.*Fix: read the run's log"):
            gh.watch("o/r", "publish.yml", tag="v2.0.0", sha="d" * 40, timeout=30)


def test_watch_times_out_when_no_run_appears():
    with FakeGitHub() as fake:
        gh = GitHub(fake.url, token="")
        clock = iter(range(0, 1000, 50))
        with pytest.raises(ForgeError, match=r"timed out after 100s: no run of publish.yml for v1.0.0"):
            gh.watch(
                "o/r",
                "publish.yml",
                tag="v1.0.0",
                sha=SHA,
                timeout=100,
                sleep=lambda _s: None,
                clock=lambda: next(clock),
            )


REPO = "owner/juniper-data"
ALLOWED = frozenset({REPO})


def remote_with_branch(tmp_path: Path) -> tuple[Path, Git, str]:
    """A bare ``remotes/<REPO>.git`` whose ``main`` has one commit and branch ``bump`` one more; (remotes, clone,
    the bump commit)."""
    remotes = tmp_path / "remotes"
    bare = remotes / f"{REPO}.git"
    bare.parent.mkdir(parents=True)
    Git(tmp_path).run("init", "--quiet", "--bare", "-b", "main", str(bare))
    Git(tmp_path).run("clone", "--quiet", str(bare), str(tmp_path / "clone"))
    clone = Git(tmp_path / "clone")
    for branch, text in (("main", "1.0.0\n"), ("bump", "1.0.1\n")):
        if branch != "main":
            clone.run("checkout", "--quiet", "-b", branch)
        (clone.root / "VERSION").write_text(text, encoding="utf-8")
        clone.run("add", "VERSION")
        clone.run("commit", "--quiet", "-m", f"version {text.strip()}")
        clone.run("push", "--quiet", "origin", branch)
    return remotes, clone, clone.head()


def test_every_call_outside_the_registry_is_refused_before_any_request():
    with FakeGitHub() as fake:
        gh = GitHub(fake.url, token="", allowed_repos=ALLOWED)
        calls = [
            lambda: gh.release_by_tag("owner/evil", "v1"),
            lambda: gh.create_release("owner/evil", "v1", sha=SHA, title="", body="", prerelease=False),
            lambda: gh.runs("owner/evil", "publish.yml", tag="v1", sha=SHA),
            lambda: gh.run("owner/evil", 1),
            lambda: gh.watch("owner/evil", "publish.yml", tag="v1", sha=SHA, timeout=1),
            lambda: gh.repo_permissions("owner/evil"),
            lambda: gh.is_protected("owner/evil", "main"),
            lambda: gh.branch_protection("owner/evil", "main"),
            lambda: gh.create_pull("owner/evil", "bump", "main", "t", ""),
            lambda: gh.find_open_pull("owner/evil", "bump"),
            lambda: gh.merge_pull("owner/evil", 1),
            lambda: gh.commit_status("owner/evil", SHA),
            lambda: gh.create_issue("owner/evil", "t", ""),
            lambda: gh.find_issue("owner/evil", title="t"),
            lambda: gh.update_issue("owner/evil", 1, body="x"),
            lambda: gh.comment_issue("owner/evil", 1, "x"),
            lambda: gh.close_issue("owner/evil", 1),
            lambda: gh.request("GET", "/repos/owner/evil/anything"),
        ]
        for refused in calls:
            with pytest.raises(ForgeError) as exc:
                refused()
            assert str(exc.value) == (
                "GitHub call about owner/evil refused: owner/evil is not in the registry's repositories. "
                "Fix: add the package to the registry (repos.toml or --registry) or correct the repository name"
            )
        with pytest.raises(ForgeError, match="is not a GitHub repository name"):
            gh.release_by_tag("owner/juniper-data/../evil", "v1")
        assert fake.log == []  # not one request left the adapter
        assert gh.release_by_tag("Owner/Juniper-Data", "v1") is None  # GitHub names are case-insensitive
        assert [(r.repo, r.allowed) for r in fake.log] == [("Owner/Juniper-Data", None)]


def test_a_release_without_a_given_adapter_allows_only_the_registry(ecosystem, registry):
    from juniper_release.release.context import ReleaseContext
    from juniper_release.release.journal import Journal
    from juniper_release.release.options import Options

    ctx = ReleaseContext(registry, ecosystem.workspace, "juniper-data", Options(), Journal(ecosystem.workspace))
    assert ctx.forge.allowed_repos == frozenset(p.repo for p in registry.packages)
    with pytest.raises(ForgeError, match="owner/evil is not in the registry"):
        ctx.forge.release_by_tag("owner/evil", "v1")


def test_permissions_protection_and_a_pull_request_merged_into_the_remote(tmp_path):
    remotes, _, head = remote_with_branch(tmp_path)
    with FakeGitHub(remotes=remotes, protected={REPO: ["main"]}, allowed_repos=ALLOWED) as fake:
        gh = GitHub(fake.url, token="", allowed_repos=ALLOWED)
        assert gh.repo_permissions(REPO)["push"] is True and gh.can_push(REPO)
        fake.set_permissions(REPO, push=False)
        assert not gh.can_push(REPO)
        assert gh.is_protected(REPO, "main") and not gh.is_protected(REPO, "bump")
        assert gh.branch_protection(REPO, "bump") is None
        assert (gh.branch_protection(REPO, "main") or {})["allow_force_pushes"] == {"enabled": False}
        with pytest.raises(ForgeError, match="has no branch nope"):
            gh.is_protected(REPO, "nope")
        assert gh.find_open_pull(REPO, "bump") is None
        pull = gh.create_pull(REPO, "bump", "main", "Release 1.0.1", "notes")
        assert (pull.state, pull.merged, pull.head_sha, pull.base_ref) == ("open", False, head, "main")
        assert gh.find_open_pull(REPO, "bump") == pull
        assert gh.find_open_pull(REPO, "owner:bump", base="main") == pull
        with pytest.raises(ForgeError, match=r"HTTP 422: Validation Failed: A pull request already exists.*Fix: push"):
            gh.create_pull(REPO, "bump", "main", "again", "")
        with pytest.raises(ForgeError, match=r"HTTP 409.*Fix: the branch moved"):
            gh.merge_pull(REPO, pull.number, sha="f" * 40)
        merged = gh.merge_pull(REPO, pull.number, sha=head)
        bare = Git(remotes / f"{REPO}.git")
        assert bare.run("rev-parse", "main") == merged and bare.run("show", "main:VERSION") == "1.0.1"
        after = gh.pull(REPO, pull.number)
        assert (after.state, after.merged, after.merge_commit_sha) == ("closed", True, merged)
        assert gh.find_open_pull(REPO, "bump") is None
        with pytest.raises(ForgeError, match=r"HTTP 405.*Fix: the pull request is not mergeable"):
            gh.merge_pull(REPO, pull.number)
    assert all(r.allowed for r in fake.log)


def test_a_squash_merge_and_the_required_check_read_as_a_commit_status(tmp_path):
    remotes, _, head = remote_with_branch(tmp_path)
    base = Git(remotes / f"{REPO}.git").run("rev-parse", "main")
    with FakeGitHub(remotes=remotes) as fake:
        fake.protect(REPO, "main", required_contexts=["ci"])
        gh = GitHub(fake.url, token="", allowed_repos=ALLOWED)
        pull = gh.create_pull(REPO, "bump", "main", "Release 1.0.1", "")
        assert gh.commit_status(REPO, head).state == "pending"
        with pytest.raises(ForgeError, match=r'Required status check "ci" is expected'):
            gh.merge_pull(REPO, pull.number)
        fake.set_status(REPO, head, "failure", "ci")
        failed = gh.commit_status(REPO, head)
        assert (failed.sha, failed.state, failed.contexts) == (head, "failure", (("ci", "failure"),))
        fake.set_status(REPO, head, "success", "ci")
        assert gh.commit_status(REPO, head).state == "success"
        merged = gh.merge_pull(REPO, pull.number, method="squash")
        parents = Git(remotes / f"{REPO}.git").run("rev-list", "--parents", "-n1", merged).split()[1:]
        assert parents == [base]
        with pytest.raises(ForgeError, match="commit bbbbbbbbbbbb not found"):
            gh.commit_status(REPO, "b" * 40)


def test_issues_are_found_updated_commented_and_closed():
    with FakeGitHub() as fake:
        gh = GitHub(fake.url, token="", allowed_repos=ALLOWED)
        assert gh.find_issue(REPO, title="Release train") is None
        issue = gh.create_issue(REPO, "Release train", "- [ ] data", labels=["release"])
        assert (issue.state, issue.labels, issue.comments) == ("open", ("release",), 0)
        gh.create_issue(REPO, "Release train (other)", "", labels=["release"])
        assert gh.find_issue(REPO, title="Release train") == issue
        assert gh.find_issue(REPO, label="release") == issue  # the oldest
        assert gh.find_issue(REPO, title="Release train", label="nope") is None
        updated = gh.update_issue(REPO, issue.number, body="- [x] data")
        assert updated.body == "- [x] data" and updated.title == "Release train"
        url = gh.comment_issue(REPO, issue.number, "data released")
        assert url.startswith(f"{fake.url}/{REPO}/issues/{issue.number}#issuecomment-")
        closed = gh.close_issue(REPO, issue.number, comment="all released")
        assert (closed.state, closed.comments) == ("closed", 2)
        assert gh.find_issue(REPO, title="Release train") is None
        assert gh.find_issue(REPO, title="Release train", state="closed") == closed
        with pytest.raises(ForgeError, match="issue #999 not found"):
            gh.update_issue(REPO, 999, state="closed")
        with pytest.raises(ForgeError, match="needs a title or a label"):
            gh.find_issue(REPO)


def test_find_issue_never_answers_with_a_pull_request(tmp_path):
    remotes, _, _ = remote_with_branch(tmp_path)
    with FakeGitHub(remotes=remotes) as fake:
        gh = GitHub(fake.url, token="", allowed_repos=ALLOWED)
        gh.create_pull(REPO, "bump", "main", "Release 1.0.1", "")
        assert gh.find_issue(REPO, title="Release 1.0.1") is None


def test_a_run_waiting_for_approval_is_pending_approval_with_its_url_not_a_timeout():
    with FakeGitHub(wait_for_approval=True) as fake:
        gh = GitHub(fake.url, token="", allowed_repos=ALLOWED)
        gh.create_release(REPO, "v1.0.0", sha=SHA, title="v1.0.0", body="", prerelease=False)
        ours = select_run(gh.runs(REPO, "publish.yml", tag="v1.0.0", sha=SHA), "publish.yml", "v1.0.0", SHA)
        assert ours is not None and ours.waiting and not ours.completed
        with pytest.raises(PendingApproval) as exc:
            gh.watch(REPO, "publish.yml", tag="v1.0.0", sha=SHA, timeout=3600)
        pending = exc.value
        assert not isinstance(pending, ForgeError)  # not a failure, not a timeout
        assert pending.url == ours.html_url and pending.run.id == ours.id and pending.environments == ("pypi",)
        assert str(pending) == (
            f"{REPO}: run {ours.id} for v1.0.0 is waiting for approval for environment pypi ({ours.html_url}). "
            "Fix: a required reviewer approves the deployment on that page; then re-run this command to resume"
        )
        fake.approve(ours.id)
        assert gh.watch(REPO, "publish.yml", tag="v1.0.0", sha=SHA, timeout=30).conclusion == "success"
