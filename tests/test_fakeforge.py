"""The local GitHub stand-in itself, over plain HTTP: Releases, the publish runs they start (with their decoys),
run filters, authentication and the state a resumed rehearsal reloads; protected branches refusing a real
``git push``, pull requests merged into the bare remote, issues, commit statuses, runs waiting for an approval, and
the request log with its allowlist."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from juniper_release.errors import GitError
from juniper_release.gitops import Git
from juniper_release.sandbox.fakeforge import FakeGitHub, LoggedRequest

SHA = "a" * 40
REPO = "owner/juniper-data"


def call(fake: FakeGitHub, method: str, path: str, body: dict[str, Any] | None = None, token: str = "") -> Any:
    """(status, JSON) of one request; HTTP errors are answers too."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{fake.url}{path}", data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def release(fake: FakeGitHub, tag: str, **fields: Any) -> Any:
    return call(fake, "POST", f"/repos/{REPO}/releases", {"tag_name": tag, "target_commitish": SHA, **fields})


def runs(fake: FakeGitHub, workflow: str, query: str = "") -> list[dict[str, Any]]:
    status, data = call(fake, "GET", f"/repos/{REPO}/actions/workflows/{workflow}/runs{query}")
    assert status == 200 and data["total_count"] == len(data["workflow_runs"])
    return list(data["workflow_runs"])


def test_a_release_is_created_once_and_found_by_tag():
    with FakeGitHub() as fake:
        assert call(fake, "GET", f"/repos/{REPO}/releases/tags/v0.6.1")[0] == 404
        status, created = release(fake, "v0.6.1", name="v0.6.1", body="- notes", prerelease=True)
        assert status == 201 and created["prerelease"] is True and created["body"] == "- notes"
        assert call(fake, "GET", f"/repos/{REPO}/releases/tags/v0.6.1") == (200, created)
        status, again = release(fake, "v0.6.1")
        assert status == 422 and "already_exists" in again["message"]
        assert call(fake, "POST", "/repos/owner/nope/other", {})[0] == 404
        assert call(fake, "GET", "/user")[0] == 404


def test_publishing_starts_the_run_of_the_tag_among_decoys_and_the_runner_decides_its_conclusion():
    gate = threading.Event()
    seen: list[tuple[str, str, str]] = []

    def runner(repo: str, tag: str, sha: str) -> None:
        seen.append((repo, tag, sha))
        gate.wait(10)
        if tag == "v0.7.0":
            raise RuntimeError("upload refused")

    with FakeGitHub(runner) as fake:
        release(fake, "v0.6.1")
        publish = runs(fake, "publish.yml")
        assert [r["head_branch"] for r in publish] == ["v0.0.0-decoy", "v0.6.1"]  # the decoy is the newest
        ours = publish[1]
        assert ours["head_sha"] == SHA and ours["status"] in {"queued", "in_progress"} and ours["conclusion"] is None
        ci = runs(fake, "ci.yml", f"?head_sha={SHA}&event=push")
        assert len(ci) == 1 and ci[0]["head_sha"] == SHA
        assert runs(fake, "publish.yml", f"?head_sha={SHA}&event=release") == [ours]
        release(fake, "v0.7.0")
        gate.set()
    # Leaving the block waits for the runs to finish.
    assert seen == [(REPO, "v0.6.1", SHA), (REPO, "v0.7.0", SHA)]
    finished = {r["head_branch"]: r for r in fake.state.runs[REPO] if r["path"].endswith("publish.yml")}
    assert finished["v0.6.1"]["status"] == "completed" and finished["v0.6.1"]["conclusion"] == "success"
    assert finished["v0.7.0"]["conclusion"] == "failure" and finished["v0.7.0"]["error"] == "upload refused"


def test_a_draft_starts_no_run_and_a_run_is_found_by_id():
    with FakeGitHub() as fake:
        release(fake, "v0.6.1", draft=True)
        assert runs(fake, "publish.yml") == []
        decoy = fake.add_run(REPO, head_branch="v1", head_sha=SHA)
        assert call(fake, "GET", f"/repos/{REPO}/actions/runs/{decoy['id']}") == (200, decoy)
        assert call(fake, "GET", f"/repos/{REPO}/actions/runs/999999")[0] == 404


def test_a_token_is_required_when_configured():
    with FakeGitHub(token="right-token") as fake:
        assert call(fake, "GET", f"/repos/{REPO}/releases/tags/v1", token="wrong-token")[0] == 401
        status, body = call(fake, "POST", f"/repos/{REPO}/releases", {"tag_name": "v1"}, token="wrong-token")
        assert (status, body) == (401, {"message": "Bad credentials"}) and REPO not in fake.state.releases
        assert call(fake, "GET", f"/repos/{REPO}/releases/tags/v1", token="right-token")[0] == 404
    assert fake.state.auth_headers[-1] == "Bearer right-token"


def test_state_is_saved_and_reloaded_by_a_resumed_stand_in(tmp_path):
    state = tmp_path / "github.json"
    with FakeGitHub(state_file=state) as fake:
        release(fake, "v0.6.1")
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert [r["tag_name"] for r in saved["releases"][REPO]] == ["v0.6.1"] and len(saved["runs"][REPO]) == 3
    with FakeGitHub(state_file=state) as again:
        assert call(again, "GET", f"/repos/{REPO}/releases/tags/v0.6.1")[0] == 200
        assert release(again, "v0.6.1")[0] == 422
        assert again.add_run(REPO)["id"] > max(r["id"] for r in saved["runs"][REPO])


@pytest.mark.parametrize("workflow", ["publish.yml", "release.yml"])
def test_runs_follow_the_configured_workflow_file(workflow):
    with FakeGitHub(workflow=workflow) as fake:
        release(fake, "v1")
        assert {r["head_branch"] for r in runs(fake, workflow)} == {"v1", "v0.0.0-decoy"}


def remote_with_clone(tmp_path: Path, repo: str = REPO) -> tuple[Path, Git]:
    """``remotes/<repo>.git`` (bare, ``main`` with one commit) and a working clone of it."""
    remotes = tmp_path / "remotes"
    bare = remotes / f"{repo}.git"
    bare.parent.mkdir(parents=True)
    Git(tmp_path).run("init", "--quiet", "--bare", "-b", "main", str(bare))
    Git(tmp_path).run("clone", "--quiet", str(bare), str(tmp_path / "clone"))
    clone = Git(tmp_path / "clone")
    (clone.root / "README").write_text("one\n", encoding="utf-8")
    clone.run("add", "README")
    clone.run("commit", "--quiet", "-m", "first")
    clone.run("push", "--quiet", "origin", "HEAD:main")
    return remotes, clone


def commit(clone: Git, name: str, text: str) -> str:
    (clone.root / name).write_text(text, encoding="utf-8")
    clone.run("add", name)
    clone.run("commit", "--quiet", "-m", f"change {name}")
    return clone.head()


def test_a_protected_branch_refuses_a_direct_push_but_not_other_branches_or_tags(tmp_path):
    remotes, clone = remote_with_clone(tmp_path)
    with FakeGitHub(remotes=remotes, protected={REPO: ["main"]}) as fake:
        bare = remotes / f"{REPO}.git"
        before = Git(bare).run("rev-parse", "main")
        commit(clone, "README", "two\n")
        with pytest.raises(subprocess.CalledProcessError) as raw:
            subprocess.run(
                ["git", "push", "origin", "HEAD:main"], cwd=clone.root, capture_output=True, text=True, check=True
            )
        assert "remote: error: GH006: Protected branch update failed for refs/heads/main." in raw.value.stderr
        assert "remote: error: Changes must be made through a pull request." in raw.value.stderr
        with pytest.raises(GitError, match=r"\[remote rejected\] HEAD -> main \(pre-receive hook declined\)"):
            clone.run("push", "origin", "HEAD:main")
        assert Git(bare).run("rev-parse", "main") == before
        with pytest.raises(GitError, match="pre-receive hook declined"):
            clone.run("push", "origin", "--force", "--delete", "main")
        clone.run("push", "--quiet", "origin", "HEAD:refs/heads/bump")
        clone.run("tag", "v1.0.0")
        clone.run("push", "--quiet", "origin", "v1.0.0")
        assert call(fake, "GET", f"/repos/{REPO}/branches/main")[1]["protected"] is True
        assert call(fake, "GET", f"/repos/{REPO}/branches/bump")[1] == (
            {"name": "bump", "commit": {"sha": clone.head()}, "protected": False}
        )
        assert call(fake, "GET", f"/repos/{REPO}/branches/bump/protection") == (
            404,
            {"message": "Branch not protected"},
        )
        fake.unprotect(REPO, "main")
        clone.run("push", "--quiet", "origin", "HEAD:main")
        assert Git(bare).run("rev-parse", "main") == clone.head()


def test_a_merged_pull_request_lands_in_the_bare_remote(tmp_path):
    remotes, clone = remote_with_clone(tmp_path)
    with FakeGitHub(remotes=remotes, protected={REPO: ["main"]}) as fake:
        bare = Git(remotes / f"{REPO}.git")
        base = bare.run("rev-parse", "main")
        clone.run("checkout", "--quiet", "-b", "bump")
        head = commit(clone, "VERSION", "1.0.1\n")
        pr = {"title": "Bump to 1.0.1", "head": "bump", "base": "main", "body": "release"}
        assert call(fake, "POST", f"/repos/{REPO}/pulls", pr)[0] == 422  # not pushed yet: head invalid
        clone.run("push", "--quiet", "origin", "bump")
        status, created = call(fake, "POST", f"/repos/{REPO}/pulls", pr)
        assert status == 201 and created["head"]["sha"] == head and created["base"]["sha"] == base
        status, again = call(fake, "POST", f"/repos/{REPO}/pulls", pr)
        assert status == 422 and "already exists for owner:bump" in again["message"]
        number = created["number"]
        listed = call(fake, "GET", f"/repos/{REPO}/pulls?state=open&head=owner:bump")[1]
        assert [p["number"] for p in listed] == [number] and "merged" not in listed[0]
        stale = call(fake, "PUT", f"/repos/{REPO}/pulls/{number}/merge", {"sha": base})
        assert stale == (409, {"message": "Head branch was modified. Review and try the merge again."})
        status, merged = call(fake, "PUT", f"/repos/{REPO}/pulls/{number}/merge", {"sha": head})
        assert status == 200 and merged["merged"] is True
        assert bare.run("rev-parse", "main") == merged["sha"]
        assert bare.run("rev-list", "--parents", "-n1", merged["sha"]).split()[1:] == [base, head]
        assert bare.run("show", "-s", "--format=%an %s", merged["sha"]) == (
            f"GitHub Merge pull request #{number} from owner:bump"
        )
        assert bare.run("show", f"{merged['sha']}:VERSION") == "1.0.1"
        pull = call(fake, "GET", f"/repos/{REPO}/pulls/{number}")[1]
        assert (pull["state"], pull["merged"], pull["merge_commit_sha"]) == ("closed", True, merged["sha"])
        assert call(fake, "GET", f"/repos/{REPO}/pulls?state=open&head=owner:bump") == (200, [])
        assert call(fake, "PUT", f"/repos/{REPO}/pulls/{number}/merge", {})[0] == 405


def test_a_merge_needs_the_required_checks_and_refuses_conflicts(tmp_path):
    remotes, clone = remote_with_clone(tmp_path)
    with FakeGitHub(remotes=remotes) as fake:
        fake.protect(REPO, "main", required_contexts=["ci"])
        clone.run("checkout", "--quiet", "-b", "bump")
        head = commit(clone, "README", "from the branch\n")
        clone.run("push", "--quiet", "origin", "bump")
        number = call(fake, "POST", f"/repos/{REPO}/pulls", {"title": "t", "head": "owner:bump", "base": "main"})[1][
            "number"
        ]
        merge = f"/repos/{REPO}/pulls/{number}/merge"
        assert call(fake, "PUT", merge, {}) == (405, {"message": 'Required status check "ci" is expected.'})
        fake.set_status(REPO, head, "failure")
        assert call(fake, "PUT", merge, {}) == (405, {"message": 'Required status check "ci" is failure.'})
        assert call(fake, "POST", f"/repos/{REPO}/statuses/{head}", {"state": "success", "context": "ci"})[0] == 201
        # main moved meanwhile, touching the same file: the merge conflicts and nothing changes
        fake.unprotect(REPO, "main")
        clone.run("checkout", "--quiet", "main")
        moved = commit(clone, "README", "from main\n")
        clone.run("push", "--quiet", "origin", "main")
        fake.protect(REPO, "main", required_contexts=["ci"])
        status, body = call(fake, "PUT", merge, {})
        assert status == 405 and body["message"].startswith("Pull Request is not mergeable")
        assert Git(remotes / f"{REPO}.git").run("rev-parse", "main") == moved


def test_commit_statuses_combine_as_on_github(tmp_path):
    remotes, clone = remote_with_clone(tmp_path)
    with FakeGitHub(remotes=remotes) as fake:
        sha = clone.head()
        path = f"/repos/{REPO}/commits/{sha}/status"
        assert call(fake, "GET", path)[1]["state"] == "pending"  # no status yet
        fake.set_status(REPO, sha, "success", "ci")
        fake.set_status(REPO, sha, "pending", "docs")
        assert call(fake, "GET", path)[1]["state"] == "pending"
        fake.set_status(REPO, sha, "success", "docs")
        status, combined = call(fake, "GET", path)
        assert status == 200 and combined["state"] == "success" and combined["total_count"] == 2
        fake.set_status(REPO, sha, "error", "ci")  # the newest status of a context counts
        assert call(fake, "GET", path)[1]["state"] == "failure"
        assert call(fake, "GET", f"/repos/{REPO}/commits/main/status")[1]["sha"] == sha
        assert call(fake, "GET", f"/repos/{REPO}/commits/{'b' * 40}/status")[0] == 404
        assert call(fake, "POST", f"/repos/{REPO}/statuses/{sha}", {"state": "great"})[0] == 422


def test_issues_are_created_listed_updated_commented_and_closed():
    with FakeGitHub() as fake:
        status, issue = call(fake, "POST", f"/repos/{REPO}/issues", {"title": "Release 1.0", "labels": ["release"]})
        assert status == 201 and issue["labels"] == [{"name": "release"}] and issue["state"] == "open"
        n = issue["number"]
        call(fake, "POST", f"/repos/{REPO}/issues", {"title": "Other"})
        listed = call(fake, "GET", f"/repos/{REPO}/issues?labels=release")[1]
        assert [i["number"] for i in listed] == [n]
        assert [i["title"] for i in call(fake, "GET", f"/repos/{REPO}/issues?per_page=1&page=2")[1]] == ["Release 1.0"]
        assert call(fake, "PATCH", f"/repos/{REPO}/issues/{n}", {"body": "progress"})[1]["body"] == "progress"
        status, comment = call(fake, "POST", f"/repos/{REPO}/issues/{n}/comments", {"body": "released"})
        assert status == 201 and comment["html_url"].endswith(f"/issues/{n}#issuecomment-{comment['id']}")
        assert [c["body"] for c in call(fake, "GET", f"/repos/{REPO}/issues/{n}/comments")[1]] == ["released"]
        closed = call(fake, "PATCH", f"/repos/{REPO}/issues/{n}", {"state": "closed"})[1]
        assert (closed["state"], closed["state_reason"], closed["comments"]) == ("closed", "completed", 1)
        assert call(fake, "GET", f"/repos/{REPO}/issues?labels=release")[1] == []
        assert call(fake, "GET", f"/repos/{REPO}/issues?state=closed")[1][0]["number"] == n
        assert call(fake, "PATCH", f"/repos/{REPO}/issues/999", {"state": "closed"})[0] == 404


def test_issue_lists_hold_pull_requests_too(tmp_path):
    remotes, clone = remote_with_clone(tmp_path)
    with FakeGitHub(remotes=remotes) as fake:
        clone.run("checkout", "--quiet", "-b", "bump")
        commit(clone, "VERSION", "2\n")
        clone.run("push", "--quiet", "origin", "bump")
        call(fake, "POST", f"/repos/{REPO}/issues", {"title": "an issue"})
        pull = call(fake, "POST", f"/repos/{REPO}/pulls", {"title": "a pull", "head": "bump", "base": "main"})[1]
        listed = call(fake, "GET", f"/repos/{REPO}/issues")[1]
        assert [(i["number"], "pull_request" in i) for i in listed] == [(pull["number"], True), (1, False)]


def test_a_publish_run_waits_for_approval_until_a_reviewer_approves():
    ran: list[str] = []
    with FakeGitHub(lambda repo, tag, sha: ran.append(tag), wait_for_approval=frozenset({REPO})) as fake:
        release(fake, "v1.0.0")
        ours = next(r for r in runs(fake, "publish.yml") if r["head_branch"] == "v1.0.0")
        assert (ours["status"], ours["conclusion"]) == ("waiting", None) and ran == []
        pending = call(fake, "GET", f"/repos/{REPO}/actions/runs/{ours['id']}/pending_deployments")[1]
        assert [d["environment"]["name"] for d in pending] == ["pypi"]
        review = {"environment_ids": [1], "state": "approved", "comment": "go"}
        assert call(fake, "POST", f"/repos/{REPO}/actions/runs/{ours['id']}/pending_deployments", review)[0] == 200
    assert ran == ["v1.0.0"] and fake.find_run(ours["id"])[1]["conclusion"] == "success"
    with FakeGitHub(wait_for_approval=True) as other:
        call(other, "POST", "/repos/owner/other/releases", {"tag_name": "v2", "target_commitish": SHA})
        waiting = next(r for r in other.state.runs["owner/other"] if r["head_branch"] == "v2")
        other.reject(waiting["id"])
        assert (waiting["status"], waiting["conclusion"]) == ("completed", "failure")


def test_a_waiting_run_still_waits_in_a_resumed_stand_in(tmp_path):
    state = tmp_path / "github.json"
    ran: list[str] = []
    with FakeGitHub(state_file=state, wait_for_approval=True) as fake:
        release(fake, "v1")
        call(fake, "POST", f"/repos/{REPO}/issues", {"title": "kept"})
    with FakeGitHub(lambda repo, tag, sha: ran.append(tag), state_file=state) as again:
        waiting = next(r for r in again.state.runs[REPO] if r["head_branch"] == "v1")
        assert waiting["status"] == "waiting" and ran == []
        assert call(again, "GET", f"/repos/{REPO}/issues")[1][0]["title"] == "kept"
        again.approve(waiting["id"])
    assert ran == ["v1"]


def test_every_request_is_logged_with_the_allowlist_verdict():
    with FakeGitHub(allowed_repos=frozenset({REPO})) as fake:
        assert call(fake, "GET", f"/repos/{REPO}/releases/tags/v1")[0] == 404
        status, body = call(fake, "GET", "/repos/owner/elsewhere/releases/tags/v1")
        assert status == 403 and "outside the stand-in's allowlist" in body["message"]
        call(fake, "GET", "/user")
    assert fake.log == [
        LoggedRequest("GET", f"/repos/{REPO}/releases/tags/v1", REPO, True),
        LoggedRequest("GET", "/repos/owner/elsewhere/releases/tags/v1", "owner/elsewhere", False),
        LoggedRequest("GET", "/user", None, None),
    ]
    with FakeGitHub() as open_fake:
        call(open_fake, "GET", f"/repos/{REPO}")
    assert open_fake.log == [LoggedRequest("GET", f"/repos/{REPO}", REPO, None)]


def test_repository_permissions_are_configurable(tmp_path):
    remotes, _ = remote_with_clone(tmp_path)
    with FakeGitHub(remotes=remotes) as fake:
        status, repo = call(fake, "GET", f"/repos/{REPO}")
        assert status == 200 and repo["default_branch"] == "main" and repo["permissions"]["push"] is True
        fake.set_permissions(REPO, push=False, admin=False, maintain=False)
        assert call(fake, "GET", f"/repos/{REPO}")[1]["permissions"]["push"] is False
        assert call(fake, "GET", "/repos/owner/unknown")[0] == 404  # no bare remote of it
