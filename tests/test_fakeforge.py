"""The local GitHub stand-in itself, over plain HTTP: Releases, the publish runs they start (with their decoys),
run filters, authentication and the state a resumed rehearsal reloads."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from juniper_release.sandbox.fakeforge import FakeGitHub

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
