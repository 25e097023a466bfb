"""The GitHub adapter: the REST API calls a release makes (urllib, no gh CLI), and nothing else.

Releases and publish-workflow runs; for the pull-request flow (a protected ``main``): repository permissions, branch
protection, pull requests and their merge, combined commit statuses, and issues with comments.

The base URL comes from $JUNIPER_GITHUB_API_URL (default https://api.github.com), so tests and rehearsals point it at
the local stand-in (:mod:`fakeforge`). The token comes from $GITHUB_TOKEN or $GH_TOKEN; it is registered for
redaction and only ever sent in the Authorization header, never logged.

With ``allowed_repos`` (the registry's repositories), a call about any other repository is refused before a request
is made. Runs are selected by workflow file, tag and head commit, never as "the latest run". A run waiting for an
environment's required reviewer (status ``waiting``) is neither a failure nor a timeout: :meth:`GitHub.watch` raises
:class:`PendingApproval`, which carries the run and its URL.
"""

from __future__ import annotations

import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from juniper_release.errors import JuniperError
from juniper_release.github.transport import Call, Clock, ForgeError, fit_body, parsed, perform
from juniper_release.offline import require_network
from juniper_release.secrets import register_secret

__all__ = ["ForgeError", "GitHub", "PendingApproval", "Run", "fit_body", "select_run"]

DEFAULT_API_URL = "https://api.github.com"
ENV_API_URL = "JUNIPER_GITHUB_API_URL"
TOKEN_VARS = ("GITHUB_TOKEN", "GH_TOKEN")


REPO_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
"""``owner/name`` as GitHub spells it (no ``..``, no further ``/``: a name never reaches another API path)."""

WAITING = "waiting"
"""A run's ``status`` while a job waits for an environment's protection rules (a required reviewer on ``pypi``)."""

_DEFAULT_FIXES: Mapping[int, str] = {
    401: "check GITHUB_TOKEN: it is missing, expired or wrong",
    403: "the token lacks permission (contents:write, actions:read)",
    404: "the repository or what the call names does not exist, or the token cannot see it: check it on GitHub",
    422: "the Release or tag already exists or the request is invalid",
}
"""The fix for an HTTP error, unless the call names its own."""


class PendingApproval(JuniperError):
    """A workflow run waits for an environment approval (a required reviewer): not a failure and not a timeout.

    The caller reports it as PENDING-APPROVAL with :attr:`url`; re-running once a reviewer approved resumes."""

    def __init__(self, repo: str, run: Run, environments: Iterable[str] = ()) -> None:
        self.repo = repo
        self.run = run
        self.url = run.html_url
        self.environments = tuple(environments)
        where = f" for environment {', '.join(self.environments)}" if self.environments else ""
        super().__init__(
            f"{repo}: run {run.id} for {run.head_branch} is waiting for approval{where} ({run.html_url})",
            "a required reviewer approves the deployment on that page; then re-run this command to resume",
        )


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

    @property
    def waiting(self) -> bool:
        """The run waits for an environment approval (GitHub's ``waiting`` status)."""
        return self.status == WAITING

    @property
    def completed(self) -> bool:
        return self.status == "completed"


@dataclass(frozen=True)
class Branch:
    """A branch as GET /repos/{owner}/{repo}/branches/{branch} shows it."""

    name: str
    sha: str
    protected: bool

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Branch:
        return cls(name=str(data["name"]), sha=str(data["commit"]["sha"]), protected=bool(data.get("protected", False)))


@dataclass(frozen=True)
class Pull:
    """A pull request, as much of it as the release needs."""

    number: int
    state: str
    """``open`` or ``closed`` (a merged pull request is ``closed`` with ``merged`` true)."""
    merged: bool
    title: str
    head_ref: str
    head_sha: str
    base_ref: str
    merge_commit_sha: str | None
    html_url: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Pull:
        return cls(
            number=int(data["number"]),
            state=str(data.get("state") or ""),
            merged=bool(data.get("merged") or data.get("merged_at")),
            title=str(data.get("title") or ""),
            head_ref=str(data["head"]["ref"]),
            head_sha=str(data["head"]["sha"]),
            base_ref=str(data["base"]["ref"]),
            merge_commit_sha=data.get("merge_commit_sha"),
            html_url=str(data.get("html_url") or ""),
        )


@dataclass(frozen=True)
class CommitStatus:
    """The combined status of a commit: ``success``, ``failure`` or ``pending``, and each context's own state."""

    sha: str
    state: str
    contexts: tuple[tuple[str, str], ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CommitStatus:
        contexts = tuple((str(s["context"]), str(s["state"])) for s in data.get("statuses", []))
        return cls(sha=str(data.get("sha") or ""), state=str(data.get("state") or "pending"), contexts=contexts)


@dataclass(frozen=True)
class Issue:
    """An issue (never a pull request: the issues API lists both, the adapter drops pull requests)."""

    number: int
    title: str
    body: str
    state: str
    labels: tuple[str, ...]
    comments: int
    html_url: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Issue:
        labels = tuple(str(lb["name"] if isinstance(lb, Mapping) else lb) for lb in data.get("labels", []))
        return cls(
            number=int(data["number"]),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            state=str(data.get("state") or ""),
            labels=labels,
            comments=int(data.get("comments") or 0),
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
    """A minimal GitHub REST client.

    ``allowed_repos`` is the registry's repositories (``frozenset(p.repo for p in registry.packages)``): a call
    about any other repository raises :class:`ForgeError` before any request. ``None`` (no allowlist) is only for a
    caller that has no registry."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 20.0,
        allowed_repos: frozenset[str] | None = None,
        budget: float = 120.0,
        clock: Clock | None = None,
    ) -> None:
        env = os.environ
        self.base_url = (base_url or env.get(ENV_API_URL) or DEFAULT_API_URL).rstrip("/")
        self.token = token if token is not None else next((env[v] for v in TOKEN_VARS if env.get(v)), None)
        register_secret(self.token)
        self.timeout = timeout
        self.budget = budget
        """Seconds one call may spend in all waiting out rate limits and retrying (the command's time budget)."""
        self.clock = clock or Clock()
        self.allowed_repos = allowed_repos
        self._allowed = None if allowed_repos is None else frozenset(r.lower() for r in allowed_repos)

    def check_repo(self, repo: str) -> str:
        """``repo`` if it is a well-formed ``owner/name`` in the allowlist; else a :class:`ForgeError` (no request)."""
        if not REPO_PATTERN.fullmatch(repo) or repo.rsplit("/", 1)[1] in {".", ".."}:
            raise ForgeError(f"{repo!r} is not a GitHub repository name", "use owner/name, as in the registry")
        if self._allowed is not None and repo.lower() not in self._allowed:
            raise ForgeError(
                f"GitHub call about {repo} refused: {repo} is not in the registry's repositories",
                "add the package to the registry (repos.toml or --registry) or correct the repository name",
            )
        return repo

    def _repo_path(self, repo: str, rest: str = "") -> str:
        return f"/repos/{self.check_repo(repo)}{rest}"

    @property
    def is_local(self) -> bool:
        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        return host in {"127.0.0.1", "localhost", "::1"}

    def require_token(self) -> None:
        if not self.token and not self.is_local:
            raise ForgeError(
                "no GitHub token for creating the Release", "export GITHUB_TOKEN (or GH_TOKEN) with contents:write"
            )

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        fixes: Mapping[int, str] | None = None,
        expect: type = dict,
        confirm: Callable[[], Any] | None = None,
    ) -> Any:
        """Call the API (:mod:`.transport`): the answer's JSON when GitHub confirmed it (a 2xx of the ``expect``ed
        shape); None for a read answered 404; any other answer is a redacted :class:`ForgeError` (its fix from
        ``fixes``, else a general one). ``confirm``: a read showing whether a write happened after all, which alone
        makes a failed write safe to retry. A ``/repos/{owner}/{name}`` path outside the allowlist is refused first."""
        if path.startswith("/repos/"):
            self.check_repo("/".join(urllib.parse.urlsplit(path).path.split("/")[2:4]))
        require_network(f"GitHub {method} {path}")
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "juniper-release",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        fixes = {**_DEFAULT_FIXES, **(fixes or {})}
        call = Call(method, path, f"{self.base_url}{path}", headers, body, expect, fixes, confirm)
        return perform(
            call,
            timeout=self.timeout,
            budget=self.budget,
            clock=self.clock,
            base_url=self.base_url,
            env_var=ENV_API_URL,
        )

    def write(
        self, method: str, path: str, body: Mapping[str, Any], *, missing: str, fixes: Mapping[int, str] | None = None
    ) -> Any:
        """A write to an object that must exist: its 404 is the one-line ``missing`` (GitHub's "not found")."""
        try:
            return self.request(method, path, body, fixes=fixes)
        except ForgeError as exc:
            if exc.status == 404:
                raise ForgeError(missing, "check the number on GitHub") from None
            raise

    # ---- releases

    def release_by_tag(self, repo: str, tag: str) -> dict[str, Any] | None:
        result = self.request("GET", self._repo_path(repo, f"/releases/tags/{urllib.parse.quote(tag)}"))
        return dict(result) if result is not None else None

    def create_release(
        self,
        repo: str,
        tag: str,
        *,
        sha: str,
        title: str,
        body: str,
        prerelease: bool,
        make_latest: bool | None = None,
    ) -> dict[str, Any]:
        """Publish a Release of ``tag`` at ``sha``. ``make_latest=False`` keeps it from being marked the
        repository's latest (a maintenance line's patch, older than main's releases); None: GitHub's default."""
        path = self._repo_path(repo, "/releases")
        self.require_token()
        payload: dict[str, Any] = {
            "tag_name": tag,
            "target_commitish": sha,
            "name": title,
            "body": body,
            "draft": False,
            "prerelease": prerelease,
        }
        if make_latest is not None:
            payload["make_latest"] = "true" if make_latest else "false"  # GitHub takes the string
        made = self.request("POST", path, payload, confirm=lambda: self.release_by_tag(repo, tag))
        if not made.get("tag_name") or not made.get("html_url"):
            raise ForgeError(
                f"GitHub POST {path} answered without the Release's tag_name and html_url: not counted as created",
                "check the API URL and the Releases page on GitHub, then re-run",
            )
        return dict(made)

    # ---- workflow runs

    def runs(self, repo: str, workflow: str, *, tag: str, sha: str) -> list[Run]:
        name = workflow.rsplit("/", 1)[-1]
        query = urllib.parse.urlencode({"event": "release", "head_sha": sha, "branch": tag, "per_page": 50})
        path = self._repo_path(repo, f"/actions/workflows/{name}/runs?{query}")
        data = self.request("GET", path) or {}
        return list(parsed(f"GitHub GET {path}", lambda d: [Run.from_api(r) for r in d.get("workflow_runs", [])], data))

    def run(self, repo: str, run_id: int) -> Run:
        data = self.request("GET", self._repo_path(repo, f"/actions/runs/{run_id}"))
        if data is None:
            raise ForgeError(f"workflow run {run_id} of {repo} not found", "check the Actions tab")
        return parsed(f"{repo}: workflow run {run_id}", Run.from_api, data)  # type: ignore[no-any-return]

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
        """Wait (with backoff) for the run of ``workflow`` at ``tag``/``sha`` to complete successfully.

        A run that fails raises :class:`ForgeError`; one still going after ``timeout`` raises :class:`ForgeError`
        (timed out); one waiting for an environment approval raises :class:`PendingApproval` at once (with its URL)."""
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
            # "in progress", "completed: success": never a bare None for a run that has no conclusion yet
            state = (
                (f"{run.status}: {run.conclusion}" if run.conclusion else run.status).replace("_", " ")
                if run
                else "not started yet"
            )
            if on_change and state != last:
                on_change(
                    f"run {run.id} of {workflow} for {tag} at {sha[:8]}: {state}"
                    if run
                    else f"{workflow} for {tag} at {sha[:8]}: {state}"
                )
                last = state
            if run and run.waiting:
                raise PendingApproval(repo, run, self.pending_environments(repo, run.id))
            if run and run.completed:
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

    def pending_environments(self, repo: str, run_id: int) -> list[str]:
        """The environments a waiting run waits on (GET .../actions/runs/{id}/pending_deployments)."""
        path = self._repo_path(repo, f"/actions/runs/{run_id}/pending_deployments")
        data = self.request("GET", path, expect=list) or []
        names = lambda d: [str(x["environment"]["name"]) for x in d if x.get("environment", {}).get("name")]  # noqa: E731
        return list(parsed(f"GitHub GET {path}", names, data))

    # ---- repository and branches

    def repo_permissions(self, repo: str) -> dict[str, bool]:
        """The token's permissions on ``repo`` (``push``, ``admin``, ...), from GET /repos/{owner}/{repo}."""
        data = self.request("GET", self._repo_path(repo))
        if data is None:
            raise ForgeError(
                f"GitHub repository {repo} not found (or the token cannot see it)",
                "check the registry's repo name and that GITHUB_TOKEN has access to it",
            )
        perms = lambda d: {str(k): bool(v) for k, v in (d.get("permissions") or {}).items()}  # noqa: E731
        return dict(parsed(f"{repo}: permissions", perms, data))

    def can_push(self, repo: str) -> bool:
        return self.repo_permissions(repo).get("push", False)

    def branch(self, repo: str, branch: str) -> Branch | None:
        """``branch`` of ``repo`` (its commit, and whether it is protected), or None if it does not exist."""
        data = self.request("GET", self._repo_path(repo, f"/branches/{urllib.parse.quote(branch, safe='')}"))
        return parsed(f"{repo}: branch {branch}", Branch.from_api, data) if data is not None else None

    def is_protected(self, repo: str, branch: str) -> bool:
        """Whether ``branch`` is protected (a direct push is refused; changes land through pull requests)."""
        found = self.branch(repo, branch)
        if found is None:
            raise ForgeError(f"{repo} has no branch {branch}", "check the registry's settings.branch")
        return found.protected

    def branch_protection(self, repo: str, branch: str) -> dict[str, Any] | None:
        """The protection rules of ``branch`` (GET .../branches/{branch}/protection; needs admin), None if none."""
        path = self._repo_path(repo, f"/branches/{urllib.parse.quote(branch, safe='')}/protection")
        data = self.request("GET", path, fixes={403: "reading branch protection needs admin rights on the repository"})
        return dict(data) if data is not None else None

    # ---- pull requests

    def create_pull(self, repo: str, head: str, base: str, title: str, body: str) -> Pull:
        """Open a pull request of branch ``head`` into ``base``."""
        path = self._repo_path(repo, "/pulls")
        self.require_token()
        fixes = {422: f"push branch {head} first, and check that no pull request of it is open already"}
        payload = {"title": title, "head": head, "base": base, "body": fit_body(body)}
        data = self.request("POST", path, payload, fixes=fixes, confirm=lambda: self.find_open_pull(repo, head, base))
        return data if isinstance(data, Pull) else parsed(f"{repo}: new pull request", Pull.from_api, data)

    def find_open_pull(self, repo: str, head: str, base: str | None = None) -> Pull | None:
        """The open pull request of branch ``head`` (``owner:branch`` or a branch of ``repo``), or None."""
        label = head if ":" in head else f"{self.check_repo(repo).split('/', 1)[0]}:{head}"
        query = {"state": "open", "head": label, **({"base": base} if base else {}), "per_page": "100"}
        path = self._repo_path(repo, f"/pulls?{urllib.parse.urlencode(query)}")
        data = self.request("GET", path, expect=list) or []
        pulls: list[Pull] = parsed(f"GitHub GET {path}", lambda d: [Pull.from_api(x) for x in d], data)
        return min(pulls, key=lambda p: p.number) if pulls else None

    def pull(self, repo: str, number: int) -> Pull:
        data = self.request("GET", self._repo_path(repo, f"/pulls/{number}"))
        if data is None:
            raise ForgeError(f"{repo}: pull request #{number} not found", "check the number on GitHub")
        return parsed(f"{repo}: pull request #{number}", Pull.from_api, data)  # type: ignore[no-any-return]

    def merge_pull(
        self,
        repo: str,
        number: int,
        *,
        sha: str | None = None,
        method: Literal["merge", "squash", "rebase"] = "merge",
        commit_title: str | None = None,
    ) -> str:
        """Merge pull request ``number`` (PUT .../pulls/{n}/merge); the merged commit's sha. With ``sha``, GitHub
        refuses if the head moved since (409)."""
        path = self._repo_path(repo, f"/pulls/{number}/merge")
        self.require_token()
        body: dict[str, Any] = {"merge_method": method}
        if sha:
            body["sha"] = sha
        if commit_title:
            body["commit_title"] = commit_title
        fixes = {
            405: "the pull request is not mergeable (conflicts, or required checks not passed): fix it on GitHub",
            409: "the branch moved since it was checked: re-run to check the new head",
            422: "the pull request is closed or the request is invalid",
        }
        data = self.write("PUT", path, body, fixes=fixes, missing=f"{repo}: pull request #{number} not found")
        if not isinstance(data.get("sha"), str) or not data.get("merged", True):
            raise ForgeError(
                f"{repo}: GitHub answered the merge of #{number} without a merged commit: not counted as merged",
                "check the pull request on GitHub, then re-run",
            )
        return str(data["sha"])

    # ---- commit statuses

    def commit_status(self, repo: str, sha: str) -> CommitStatus:
        """The combined status of ``sha``: ``success``, ``failure`` or ``pending`` (no status yet is pending)."""
        data = self.request("GET", self._repo_path(repo, f"/commits/{urllib.parse.quote(sha, safe='')}/status"))
        if data is None:
            raise ForgeError(f"{repo}: commit {sha[:12]} not found", "push the commit first")
        return parsed(f"{repo}: status of {sha[:12]}", CommitStatus.from_api, data)  # type: ignore[no-any-return]

    # ---- issues

    def create_issue(self, repo: str, title: str, body: str, labels: Iterable[str] = ()) -> Issue:
        path = self._repo_path(repo, "/issues")
        self.require_token()
        payload = {"title": title, "body": fit_body(body), "labels": list(labels)}
        data = self.request("POST", path, payload, confirm=lambda: self.find_issue(repo, title=title))
        return data if isinstance(data, Issue) else parsed(f"{repo}: new issue", Issue.from_api, data)

    def find_issue(
        self, repo: str, *, title: str | None = None, label: str | None = None, state: str = "open"
    ) -> Issue | None:
        """The oldest issue (not pull request) in ``state`` with exactly ``title`` and/or carrying ``label``."""
        if title is None and label is None:
            raise ForgeError("find_issue needs a title or a label", "pass title= or label=")
        found: list[Issue] = []
        for page in range(1, 11):
            query = {"state": state, "per_page": "100", "page": str(page), **({"labels": label} if label else {})}
            path = self._repo_path(repo, f"/issues?{urllib.parse.urlencode(query)}")
            data = self.request("GET", path, expect=list) or []
            found += parsed(
                f"GitHub GET {path}", lambda d: [Issue.from_api(x) for x in d if "pull_request" not in x], data
            )
            if len(data) < 100:
                break
        matching = [i for i in found if title is None or i.title == title]
        return min(matching, key=lambda i: i.number) if matching else None

    def update_issue(
        self,
        repo: str,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: str | None = None,
        labels: Iterable[str] | None = None,
    ) -> Issue:
        """Change the fields given (PATCH .../issues/{n})."""
        path = self._repo_path(repo, f"/issues/{number}")
        self.require_token()
        changes: dict[str, Any] = {k: v for k, v in (("title", title), ("body", body), ("state", state)) if v}
        if "body" in changes:
            changes["body"] = fit_body(changes["body"])
        if labels is not None:
            changes["labels"] = list(labels)
        data = self.write("PATCH", path, changes, missing=f"{repo}: issue #{number} not found")
        return parsed(f"{repo}: issue #{number}", Issue.from_api, data)  # type: ignore[no-any-return]

    def comment_issue(self, repo: str, number: int, body: str) -> str:
        """Add a comment to issue (or pull request) ``number``; the comment's URL."""
        path = self._repo_path(repo, f"/issues/{number}/comments")
        self.require_token()
        data = self.write("POST", path, {"body": fit_body(body)}, missing=f"{repo}: issue #{number} not found")
        return str(data.get("html_url") or "")

    def close_issue(self, repo: str, number: int, comment: str | None = None) -> Issue:
        """Close issue ``number``, after a closing ``comment`` if given."""
        if comment:
            self.comment_issue(repo, number, comment)
        return self.update_issue(repo, number, state="closed")
