"""The GitHub adapter against the local GitHub stand-in (a real HTTP server)."""

from __future__ import annotations

import threading

import pytest
from juniper_release.github.forge import ForgeError, GitHub, Run, select_run
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
        assert any("in_progress" in s or "queued" in s for s in seen)
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
