"""The GitHub adapter: Releases and publish-workflow runs through the REST API (urllib, no gh CLI).

The base URL comes from $JUNIPER_GITHUB_API_URL (default https://api.github.com), so tests and rehearsals point it at
the local stand-in (:mod:`fakeforge`). The token comes from $GITHUB_TOKEN or $GH_TOKEN; it is registered for
redaction and only ever sent in the Authorization header, never logged.

Runs are selected by workflow file, tag and head commit, never as "the latest run".
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from juniper_release.errors import JuniperError
from juniper_release.offline import require_network
from juniper_release.secrets import redact, register_secret

DEFAULT_API_URL = "https://api.github.com"
ENV_API_URL = "JUNIPER_GITHUB_API_URL"
TOKEN_VARS = ("GITHUB_TOKEN", "GH_TOKEN")


class ForgeError(JuniperError):
    """GitHub answered with an error, could not be reached, or a run failed."""


@dataclass(frozen=True)
class Run:
    """One workflow run, as much of it as the release needs."""

    id: int
    path: str
    head_branch: str
    head_sha: str
    event: str
    status: str
    conclusion: str | None
    html_url: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Run:
        return cls(
            id=int(data["id"]),
            path=str(data.get("path", "")),
            head_branch=str(data.get("head_branch") or ""),
            head_sha=str(data.get("head_sha") or ""),
            event=str(data.get("event") or ""),
            status=str(data.get("status") or ""),
            conclusion=data.get("conclusion"),
            html_url=str(data.get("html_url") or ""),
        )


def select_run(runs: list[Run], workflow: str, tag: str, sha: str) -> Run | None:
    """The run of ``workflow`` (a file path or name) for ``tag`` at ``sha``; the newest if it was re-run."""
    name = workflow.rsplit("/", 1)[-1]
    matching = [
        r
        for r in runs
        if r.path.rsplit("/", 1)[-1].split("@", 1)[0] == name and r.head_sha == sha and r.head_branch == tag
    ]
    return max(matching, key=lambda r: r.id) if matching else None


class GitHub:
    """A minimal GitHub REST client."""

    def __init__(self, base_url: str | None = None, token: str | None = None, *, timeout: float = 20.0) -> None:
        env = os.environ
        self.base_url = (base_url or env.get(ENV_API_URL) or DEFAULT_API_URL).rstrip("/")
        self.token = token if token is not None else next((env[v] for v in TOKEN_VARS if env.get(v)), None)
        register_secret(self.token)
        self.timeout = timeout

    @property
    def is_local(self) -> bool:
        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        return host in {"127.0.0.1", "localhost", "::1"}

    def require_token(self) -> None:
        if not self.token and not self.is_local:
            raise ForgeError(
                "no GitHub token for creating the Release", "export GITHUB_TOKEN (or GH_TOKEN) with contents:write"
            )

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """Call the API; 404 returns None, any other error raises a redacted :class:`ForgeError`."""
        url = f"{self.base_url}{path}"
        require_network(f"GitHub {method} {path}")
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "juniper-release",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            detail = exc.read().decode("utf-8", "replace")[:300]
            with contextlib.suppress(ValueError, AttributeError):
                detail = str(json.loads(detail).get("message", detail))
            fix = {
                401: "check GITHUB_TOKEN: it is missing, expired or wrong",
                403: "the token lacks permission (contents:write, actions:read)",
                422: "the Release or tag already exists or the request is invalid",
            }.get(exc.code, "retry later or check the GitHub status page")
            raise ForgeError(redact(f"GitHub {method} {path} answered HTTP {exc.code}: {detail}"), fix) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ForgeError(
                redact(f"cannot reach GitHub at {self.base_url} ({reason})"),
                f"check the network or ${ENV_API_URL}; re-run to resume",
            ) from None
        return json.loads(raw) if raw else {}

    # ---- releases

    def release_by_tag(self, repo: str, tag: str) -> dict[str, Any] | None:
        result = self.request("GET", f"/repos/{repo}/releases/tags/{urllib.parse.quote(tag)}")
        return dict(result) if result else None

    def create_release(
        self, repo: str, tag: str, *, sha: str, title: str, body: str, prerelease: bool
    ) -> dict[str, Any]:
        self.require_token()
        payload = {
            "tag_name": tag,
            "target_commitish": sha,
            "name": title,
            "body": body,
            "draft": False,
            "prerelease": prerelease,
        }
        return dict(self.request("POST", f"/repos/{repo}/releases", payload) or {})

    # ---- workflow runs

    def runs(self, repo: str, workflow: str, *, tag: str, sha: str) -> list[Run]:
        name = workflow.rsplit("/", 1)[-1]
        query = urllib.parse.urlencode({"event": "release", "head_sha": sha, "branch": tag, "per_page": 50})
        data = self.request("GET", f"/repos/{repo}/actions/workflows/{name}/runs?{query}") or {}
        return [Run.from_api(r) for r in data.get("workflow_runs", [])]

    def run(self, repo: str, run_id: int) -> Run:
        data = self.request("GET", f"/repos/{repo}/actions/runs/{run_id}")
        if data is None:
            raise ForgeError(f"workflow run {run_id} of {repo} not found", "check the Actions tab")
        return Run.from_api(data)

    def watch(
        self,
        repo: str,
        workflow: str,
        *,
        tag: str,
        sha: str,
        timeout: float,
        on_change: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> Run:
        """Wait (with backoff) for the run of ``workflow`` at ``tag``/``sha`` to complete successfully."""
        start = clock()
        delay = 0.2
        last = ""
        run: Run | None = None
        while True:
            run = (
                self.run(repo, run.id)
                if run
                else select_run(self.runs(repo, workflow, tag=tag, sha=sha), workflow, tag, sha)
            )
            state = f"{run.status}/{run.conclusion}" if run else "not started"
            if on_change and state != last:
                on_change(f"{workflow} for {tag} @ {sha[:8]}: {state}")
                last = state
            if run and run.status == "completed":
                if run.conclusion != "success":
                    raise ForgeError(
                        f"{repo}: publish run {run.id} for {tag} concluded {run.conclusion} ({run.html_url})",
                        "read the run's log, fix the cause, then re-run the workflow on GitHub and re-run this command",
                    )
                return run
            if clock() - start >= timeout:
                what = f"run {run.id} is still {run.status}" if run else f"no run of {workflow} for {tag} @ {sha[:8]}"
                raise ForgeError(
                    f"{repo}: timed out after {timeout:.0f}s: {what}",
                    "check that the publish workflow triggers on 'release: published', then re-run to resume",
                )
            sleep(min(delay, 5.0))
            delay = min(delay * 2, 5.0)
