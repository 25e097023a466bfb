"""Only what GitHub confirmed counts as done (github/transport.py, github/forge.py, netio.py), against the GitHub
stand-in misbehaving on demand (``FakeGitHub.misbehave``) and a raw socket server: a 2xx of the expected shape is the
only success, a write never follows a redirect, every malformed answer is a one-line error, rate limits wait within
the budget, 5xx reads retry, a write retries only when a read shows it did not happen, GitHub's own reason reaches the
user, and bodies stay under GitHub's limit (issue 27, section 2)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from juniper_release.errors import JuniperError
from juniper_release.github.forge import ForgeError, GitHub
from juniper_release.github.transport import BODY_LIMIT, Clock
from juniper_release.sandbox.fakeforge import FakeGitHub

REPO = "owner/juniper-data"
ALLOWED = frozenset({REPO})
SHA = "a" * 40


class FakeTime:
    """A clock whose sleep moves time on at once (no test sleeps)."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> Clock:
        return Clock(sleep=self.sleep, monotonic=lambda: self.now, wall=lambda: 1_700_000_000.0 + self.now)


def _gh(fake: FakeGitHub, time: FakeTime | None = None, budget: float = 120.0) -> GitHub:
    clock = (time or FakeTime()).clock()
    return GitHub(fake.url, token="", allowed_repos=ALLOWED, budget=budget, clock=clock, timeout=5)


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert isinstance(exc, ForgeError) and "\n" not in text and "Traceback" not in text
    return text


def _posts(fake: FakeGitHub, suffix: str) -> int:
    return sum(1 for r in fake.state.requests if r.startswith("POST ") and r.split("?")[0].endswith(suffix))


# ------------------------------------------------------------------------------ a 2xx of the right shape, no redirect


def test_a_404_to_a_write_is_a_failure_never_created():
    with FakeGitHub() as fake:
        fake.misbehave("POST", rf"/repos/{REPO}/releases$", 404, {"message": "Not Found"})
        with pytest.raises(ForgeError) as caught:
            _gh(fake).create_release(REPO, "v1.0.0", sha=SHA, title="v1.0.0", body="notes", prerelease=False)
        assert "answered HTTP 404: Not Found" in _one_line(caught.value)
        assert _gh(fake).release_by_tag(REPO, "v1.0.0") is None  # a read's 404 is "not found"


@pytest.mark.parametrize("code", [301, 302, 307])
def test_a_write_never_follows_a_redirect(code):
    with FakeGitHub() as fake:
        fake.misbehave("POST", rf"/repos/{REPO}/releases$", code, headers={"Location": f"{fake.url}/elsewhere"})
        fake.misbehave("GET", r"/elsewhere", 200, {})
        fake.misbehave("POST", r"/elsewhere", 201, {})
        with pytest.raises(ForgeError) as caught:
            _gh(fake).create_release(REPO, "v1.0.0", sha=SHA, title="v1.0.0", body="notes", prerelease=False)
        assert f"answered a redirect (HTTP {code}" in _one_line(caught.value)
        assert not any("/elsewhere" in r for r in fake.state.requests)


def test_a_created_release_without_its_fields_is_not_counted():
    with FakeGitHub() as fake:
        fake.misbehave("POST", rf"/repos/{REPO}/releases$", 201, {})
        with pytest.raises(ForgeError, match="without the Release's tag_name and html_url"):
            _gh(fake).create_release(REPO, "v1.0.0", sha=SHA, title="v1.0.0", body="notes", prerelease=False)


SHAPES = [
    ("a list for an object", "GET", rf"/repos/{REPO}/commits/", [], lambda gh: gh.commit_status(REPO, SHA), "a list"),
    (
        "an object for a list",
        "GET",
        rf"/repos/{REPO}/pulls\?",
        {},
        lambda gh: gh.find_open_pull(REPO, "b"),
        "an object",
    ),
    ("a string", "GET", rf"/repos/{REPO}/branches/", "main", lambda gh: gh.branch(REPO, "main"), "str"),
    (
        "an object lacking keys",
        "GET",
        rf"/repos/{REPO}/branches/",
        {"name": "main"},
        lambda gh: gh.branch(REPO, "main"),
        "lacks",
    ),
    ("permissions a list", "GET", rf"/repos/{REPO}$", {"permissions": ["push"]}, lambda gh: gh.can_push(REPO), "lacks"),
    ("a list of strings", "GET", rf"/repos/{REPO}/issues\?", ["x"], lambda gh: gh.find_issue(REPO, title="t"), "lacks"),
    (
        "runs not a list",
        "GET",
        rf"/repos/{REPO}/actions/workflows",
        {"workflow_runs": 3},
        lambda gh: gh.runs(REPO, "p.yml", tag="v1", sha=SHA),
        "lacks",
    ),
]


@pytest.mark.parametrize("case", SHAPES, ids=[c[0] for c in SHAPES])
def test_an_answer_of_the_wrong_shape_is_a_typed_one_line_error(case):
    _, method, path, body, call, said = case
    with FakeGitHub() as fake:
        fake.misbehave(method, path, 200, body)
        with pytest.raises(ForgeError) as caught:
            call(_gh(fake))
        assert said in _one_line(caught.value)


# ---------------------------------------------------------------------------------------------- malformed HTTP

BROKEN = {
    "a broken status line": b"HTTP/1.1 abc Nope\r\n\r\n",
    "not HTTP at all": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "an over-long header": b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n{}",
    "too many headers": b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n{}",
    "a broken chunked body": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "a chunked body cut short": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{}",
}


@pytest.mark.parametrize("raw", BROKEN.values(), ids=list(BROKEN))
def test_a_malformed_answer_is_a_typed_one_line_error(raw):
    with FakeGitHub() as fake:
        fake.misbehave("GET", rf"/repos/{REPO}$", raw=raw)
        with pytest.raises(ForgeError) as caught:
            _gh(fake).repo_permissions(REPO)
        assert "GitHub answered" in _one_line(caught.value)


@contextmanager
def raw_server(answer: bytes) -> Iterator[str]:
    """A socket server on 127.0.0.1 that reads one request and writes ``answer`` as-is; yields its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        thread.join(timeout=5)


@pytest.mark.parametrize("name", ["a broken chunked body", "a broken status line", "too many headers"])
def test_a_raw_socket_server_s_broken_answer_is_a_typed_one_line_error(name):
    with raw_server(BROKEN[name]) as url:
        gh = GitHub(url, token="", allowed_repos=ALLOWED, timeout=5, clock=FakeTime().clock())
        with pytest.raises(ForgeError) as caught:
            gh.repo_permissions(REPO)
        assert "GitHub answered" in _one_line(caught.value)


# ------------------------------------------------------------------------------- rate limits and transient errors


def test_a_rate_limit_waits_until_its_reset_and_retries():
    time = FakeTime()
    with FakeGitHub() as fake:
        reset = str(int(1_700_000_000 + time.now + 30))
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
        fake.misbehave("GET", rf"/repos/{REPO}$", 403, {"message": "API rate limit exceeded"}, headers=headers)
        assert _gh(fake, time).repo_permissions(REPO)["push"] is True
        assert time.slept == [30.0]


def test_a_429_waits_its_retry_after():
    time = FakeTime()
    with FakeGitHub() as fake:
        fake.misbehave("GET", rf"/repos/{REPO}$", 429, {"message": "slow down"}, headers={"Retry-After": "7"})
        assert _gh(fake, time).repo_permissions(REPO)["push"] is True
        assert time.slept == [7.0]


def test_a_rate_limit_beyond_the_budget_says_until_when():
    time = FakeTime()
    with FakeGitHub() as fake:
        fake.misbehave("GET", rf"/repos/{REPO}$", 429, headers={"Retry-After": "3600"})
        with pytest.raises(ForgeError) as caught:
            _gh(fake, time, budget=60).repo_permissions(REPO)
        assert "rate limited until " in _one_line(caught.value) and time.slept == []


def test_a_rate_limited_write_without_a_read_to_confirm_it_is_not_retried():
    with FakeGitHub() as fake:
        fake.misbehave("PATCH", rf"/repos/{REPO}/issues/1$", 429, headers={"Retry-After": "1"})
        with pytest.raises(ForgeError, match="rate limited until"):
            _gh(fake).update_issue(REPO, 1, body="x")
        assert sum(r.startswith("PATCH") for r in fake.state.requests) == 1


def test_a_5xx_on_a_read_is_retried_with_backoff_and_bounded():
    time = FakeTime()
    with FakeGitHub() as fake:
        fake.misbehave("GET", rf"/repos/{REPO}$", 502, times=2)
        assert _gh(fake, time).repo_permissions(REPO)["push"] is True
        assert time.slept == [0.5, 1.0]
    time = FakeTime()
    with FakeGitHub() as fake:
        fake.misbehave("GET", rf"/repos/{REPO}$", 503, {"message": "busy"}, times=100)
        with pytest.raises(ForgeError) as caught:
            _gh(fake, time).repo_permissions(REPO)
        assert "HTTP 503" in _one_line(caught.value) and "busy" in str(caught.value)
        assert len(fake.state.requests) == 4 and time.slept == [0.5, 1.0, 2.0]


def test_a_failed_write_is_retried_only_when_a_read_shows_it_did_not_happen():
    with FakeGitHub() as fake:
        gh = _gh(fake)
        fake.misbehave("POST", rf"/repos/{REPO}/releases$", 502)  # not made: the read shows no Release, so again
        made = gh.create_release(REPO, "v1.0.0", sha=SHA, title="v1.0.0", body="n", prerelease=False)
        assert made["tag_name"] == "v1.0.0" and _posts(fake, "/releases") == 2
        assert len(fake.state.releases[REPO]) == 1
    with FakeGitHub() as fake:
        gh = _gh(fake)
        gh.create_release(REPO, "v1.0.0", sha=SHA, title="v1.0.0", body="n", prerelease=False)
        fake.misbehave("POST", rf"/repos/{REPO}/releases$", 504)  # as if made, but the answer was lost
        fake.state.releases[REPO][0]["tag_name"] = "v1.0.1"
        made = gh.create_release(REPO, "v1.0.1", sha=SHA, title="v1.0.1", body="n", prerelease=False)
        assert made["tag_name"] == "v1.0.1" and _posts(fake, "/releases") == 2  # the read found it: no third POST
    with FakeGitHub() as fake:
        fake.misbehave("POST", rf"/repos/{REPO}/issues/3/comments$", 502)  # no read can tell: never retried
        with pytest.raises(ForgeError, match="HTTP 502"):
            _gh(fake).comment_issue(REPO, 3, "hi")
        assert _posts(fake, "/comments") == 1


# ------------------------------------------------------------------------------------------ GitHub's own reason


def test_a_422_says_github_s_own_reasons():
    errors = [
        {"resource": "PullRequest", "code": "custom", "message": "body is too long (maximum is 65536 characters)"},
        {"resource": "PullRequest", "field": "head", "code": "invalid"},
    ]
    with FakeGitHub() as fake:
        fake.misbehave("POST", rf"/repos/{REPO}/pulls$", 422, {"message": "Validation Failed", "errors": errors})
        with pytest.raises(ForgeError) as caught:
            _gh(fake).create_pull(REPO, "b", "main", "t", "body")
        text = _one_line(caught.value)
        assert "Validation Failed: body is too long (maximum is 65536 characters): PullRequest head invalid" in text


def test_bodies_are_kept_under_github_s_limit_with_a_note(tmp_path):
    long = "x" * (BODY_LIMIT + 5000)
    with FakeGitHub() as fake:
        gh = _gh(fake)
        issue = gh.create_issue(REPO, "Release train", long)
        assert len(issue.body) <= BODY_LIMIT and "Truncated by juniper-release" in issue.body
        assert f"was {len(long)} characters" in issue.body
        updated = gh.update_issue(REPO, issue.number, body=long + "y")
        assert len(updated.body) <= BODY_LIMIT
        gh.comment_issue(REPO, issue.number, long)
        [comment] = fake.state.comments[REPO]
        assert len(comment["body"]) <= BODY_LIMIT
        assert gh.create_issue(REPO, "short", "fits").body == "fits"


def test_forge_errors_are_juniper_errors():
    assert issubclass(ForgeError, JuniperError)


def test_a_write_whose_answer_was_lost_is_retried_only_after_a_read_shows_it_was_not_made():
    with FakeGitHub() as fake:
        fake.misbehave("POST", rf"/repos/{REPO}/releases$", raw=b"")  # the connection closes without an answer
        made = _gh(fake).create_release(REPO, "v1.0.0", sha=SHA, title="v1.0.0", body="n", prerelease=False)
        assert made["tag_name"] == "v1.0.0" and _posts(fake, "/releases") == 2
        assert len(fake.state.releases[REPO]) == 1
        fake.misbehave("POST", rf"/repos/{REPO}/issues/1/comments$", raw=b"")  # no read can tell: not retried
        with pytest.raises(ForgeError, match="cannot reach GitHub"):
            _gh(fake).comment_issue(REPO, 1, "hi")
