"""A local GitHub stand-in for tests and ``invoke rehearse``: the REST endpoints :mod:`forge` uses, over HTTP.

Releases and runs. Publishing a Release starts a run of the publish workflow (``.github/workflows/publish.yml``) for
the tag at ``target_commitish``, executed by a ``runner`` callable in a background thread (the rehearsal's runner
builds the tag and uploads to the local indexes). To prove that runs are selected by workflow, tag and commit, every
Release also gets a decoy CI run on the same commit, and a decoy publish run of another tag is always the newest run.
With ``wait_for_approval``, the publish run waits (status ``waiting``, as for a required reviewer on the ``pypi``
environment) until :meth:`FakeGitHub.approve` (or the pending-deployments endpoint) lets it go.

The pull-request flow, on real git: repositories are the bare remotes under ``remotes`` (``<remotes>/<owner>/<name>
.git``, as the stand-in ecosystem and the rehearsal lay them out). Branches are read from them; a pull request's merge
is made with git plumbing in the bare remote (``merge-tree --write-tree``, ``commit-tree``, ``update-ref`` against
the base's old commit), as GitHub's own merge writes the ref without a push. A protected branch is refused to
``git push`` by a ``pre-receive`` hook installed in the bare remote, as a git server does; its required status
contexts must be ``success`` on the head commit before a merge. Issues (with comments), combined commit statuses
(set by tests, or POSTed), and repository permissions complete it.

To prove that only what GitHub confirmed counts, it misbehaves on demand (:meth:`FakeGitHub.misbehave`, in
:mod:`fakeforge_faults`): any status, body and headers, or raw bytes that are not HTTP, for the next matching requests.

Every request is logged (:attr:`FakeGitHub.log`): method, path, the repository it is about, and, when the stand-in
has an ``allowed_repos`` allowlist, whether the repository is in it (a request outside it is answered 403).

Its state (``state_file``) is written atomically after every change. A run that a Ctrl-C, SIGTERM or SIGKILL cut
short is still "in progress" there; a stand-in started again on that state runs it again (uploads are resumable),
instead of leaving it to be waited for, or recording the interruption as a failed run. A waiting run keeps waiting.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from juniper_release import interrupts
from juniper_release.ecosystem.triggers import runs_for
from juniper_release.errors import JuniperError
from juniper_release.files import read_json, write_json
from juniper_release.gitops import Git
from juniper_release.sandbox.fakeforge_faults import Fault, Misbehaviour
from juniper_release.sandbox.fakeforge_issues import Answer, IssuesAndStatuses, _now
from juniper_release.sandbox.fakeforge_pulls import PullRequests
from juniper_release.sandbox.fakeforge_topology import release_workflows

DECOY_TAG = "v0.0.0-decoy"
"""The tag of the decoy publish run that is always the newest (and never finishes)."""

HOOK_MARKER = "# juniper-release fakeforge: protected branches"
"""The line that marks a ``pre-receive`` hook as the stand-in's own (any other hook is never overwritten)."""

"""Who the stand-in's merge commits are by (as on GitHub)."""

ALL_PERMISSIONS = {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True}

Runner = Callable[[str, str, str], None]
"""runner(repo, tag, sha): raises to make the run fail."""

"""(HTTP status, JSON body)."""


@dataclass(frozen=True)
class LoggedRequest:
    """One request the stand-in received."""

    method: str
    path: str
    repo: str | None
    """The ``owner/name`` of a ``/repos/...`` path, else None."""
    allowed: bool | None
    """Whether ``repo`` is in the stand-in's allowlist; None when it has none or the path is about no repository."""


@dataclass
class ForgeState:
    releases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 100
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    issues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    statuses: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    """repo -> commit -> statuses, oldest first (the newest of a context counts)."""
    numbers: dict[str, int] = field(default_factory=dict)
    """repo -> the last issue or pull request number (they share one sequence, as on GitHub)."""
    requests: list[str] = field(default_factory=list)
    log: list[LoggedRequest] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    """Re-entrant: an answer may record a status or start a run, which take it too."""

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def new_number(self, repo: str) -> int:
        self.numbers[repo] = self.numbers.get(repo, 0) + 1
        return self.numbers[repo]


_SAVED = ("releases", "runs", "next_id")
_SAVED_OPTIONAL = ("pulls", "issues", "comments", "statuses", "numbers")
"""State keys a state file holds (the optional ones are absent from files an older stand-in wrote)."""


def protection_hook(branches: Iterable[str]) -> str:
    """A ``pre-receive`` hook refusing every update (push, force-push, deletion) of ``branches``, as GitHub words it."""
    patterns = " | ".join(shlex.quote(f"refs/heads/{b}") for b in sorted(branches))
    return f"""#!/bin/sh
{HOOK_MARKER}: changes to them land through pull requests.
status=0
while read -r old new ref; do
    case "$ref" in
        {patterns})
            echo "error: GH006: Protected branch update failed for $ref." >&2
            echo "error: Changes must be made through a pull request." >&2
            status=1
            ;;
    esac
done
exit $status
"""


class FakeGitHub(PullRequests, IssuesAndStatuses, Misbehaviour):
    """``with FakeGitHub(runner) as gh: ...`` serves on ``gh.url`` (127.0.0.1, a free port).

    ``remotes``: the directory of bare remotes (``<owner>/<name>.git``) that branches and pull requests live in.
    ``protected``: repo -> branches to protect at start. ``wait_for_approval``: publish runs wait for an approval
    (True: in every repository; a set: in those). ``allowed_repos``: requests about other repositories are logged as
    not allowed and answered 403."""

    def __init__(
        self,
        runner: Runner | None = None,
        *,
        token: str | None = None,
        workflow: str = "publish.yml",
        state_file: Path | None = None,
        remotes: Path | None = None,
        protected: Mapping[str, Iterable[str]] | None = None,
        wait_for_approval: bool | frozenset[str] = False,
        environment: str = "pypi",
        allowed_repos: frozenset[str] | None = None,
    ) -> None:
        self.state = ForgeState()
        self.state_file = state_file
        if state_file is not None and state_file.is_file():
            self._load(state_file)
        self.runner = runner
        self.token = token
        self.workflow = workflow
        self.remotes = remotes
        self.wait_for_approval = wait_for_approval
        self.environment = environment
        self.allowed_repos = allowed_repos
        self.protections: dict[str, dict[str, tuple[str, ...]]] = {}
        """repo -> protected branch -> the status contexts required before a merge."""
        self.permissions: dict[str, dict[str, bool]] = {}
        self.faults: list[Fault] = []
        """Scripted answers (:meth:`misbehave`), consulted before the real ones."""
        self.threads: list[threading.Thread] = []
        self.closing = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        for repo, branches in (protected or {}).items():
            for branch in branches:
                self.protect(repo, branch)

    def _load(self, state_file: Path) -> None:
        fix = f"delete {state_file} and start the rehearsal afresh (without --resume)"
        saved = read_json(state_file, fix)
        try:
            self.state.releases, self.state.runs, self.state.next_id = (
                dict(saved["releases"]),
                dict(saved["runs"]),
                int(saved["next_id"]),
            )
            for key in _SAVED_OPTIONAL:
                setattr(self.state, key, dict(saved.get(key) or {}))
        except (KeyError, TypeError, ValueError):
            raise JuniperError(f"{state_file}: the state file is damaged (missing releases/runs)", fix) from None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def log(self) -> list[LoggedRequest]:
        """Every request so far, oldest first."""
        with self.state.lock:
            return list(self.state.log)

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        self._rerun_interrupted()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        # Leaving on an exception (Ctrl-C, SIGTERM, a failure) does not wait for runs: they are re-run next time.
        self.close(wait=exc_type is None)

    def close(self, wait: bool = True) -> None:
        if wait:
            for t in self.threads:
                t.join(timeout=600)
        self.closing.set()  # a run still going now was cut short, not failed
        self.server.shutdown()
        self.server.server_close()

    def _rerun_interrupted(self) -> None:
        """Runs an earlier stand-in left unfinished (interrupted, or killed) run again from the start; a run waiting
        for approval keeps waiting."""
        if self.runner is None:
            return
        for repo, runs in self.state.runs.items():
            for run in runs:
                if run["status"] not in {"completed", "waiting"} and run["head_branch"] != DECOY_TAG:
                    self._run_in_background(repo, run)

    def save(self) -> None:
        """Persist what GitHub would remember (a rehearsal resumed later sees it)."""
        if self.state_file is None:
            return
        data = {key: getattr(self.state, key) for key in (*_SAVED, *_SAVED_OPTIONAL)}
        write_json(self.state_file, data)

    # ---- configuration and helpers for tests

    def bare(self, repo: str) -> Path | None:
        """The bare remote of ``repo``, if the stand-in has one."""
        if self.remotes is None:
            return None
        path = self.remotes / f"{repo}.git"
        return path if path.is_dir() else None

    def _require_bare(self, repo: str) -> Path:
        bare = self.bare(repo)
        if bare is None:
            raise JuniperError(f"the GitHub stand-in has no bare remote for {repo}", f"create {repo}.git under remotes")
        return bare

    def protect(self, repo: str, branch: str, required_contexts: Iterable[str] = ()) -> None:
        """Protect ``branch``: pushes to it are refused (a ``pre-receive`` hook in the bare remote), and a merge
        needs each of ``required_contexts`` to be ``success`` on the pull request's head."""
        self.protections.setdefault(repo, {})[branch] = tuple(required_contexts)
        self._write_hook(repo)

    def unprotect(self, repo: str, branch: str) -> None:
        self.protections.get(repo, {}).pop(branch, None)
        self._write_hook(repo)

    def _write_hook(self, repo: str) -> None:
        bare = self._require_bare(repo)
        hooks = bare / "hooks"
        hooks.mkdir(exist_ok=True)
        hook = hooks / "pre-receive"
        if hook.exists() and HOOK_MARKER not in hook.read_text(encoding="utf-8"):
            raise JuniperError(f"{hook} is not the stand-in's hook", "remove it, or protect another repository")
        branches = self.protections.get(repo, {})
        if branches:
            hook.write_text(protection_hook(branches), encoding="utf-8")
            hook.chmod(0o755)
        else:
            hook.unlink(missing_ok=True)
        # The remote's own hooks, whatever core.hooksPath a global git config names.
        Git(bare).run("config", "core.hooksPath", str(hooks.resolve()))

    def set_permissions(self, repo: str, **permissions: bool) -> None:
        """The token's permissions on ``repo`` (default: all of them)."""
        self.permissions[repo] = {**ALL_PERMISSIONS, **permissions}

    def set_status(self, repo: str, sha: str, state: str, context: str = "ci", description: str = "") -> dict[str, Any]:
        """Record a commit status (``success``, ``failure``, ``error`` or ``pending``) of ``context`` on ``sha``."""
        if state not in {"success", "failure", "error", "pending"}:
            raise JuniperError(f"commit status {state!r} is not a GitHub state", "use success/failure/error/pending")
        with self.state.lock:
            status = {
                "id": self.state.new_id(),
                "state": state,
                "context": context,
                "description": description,
                "target_url": None,
                "created_at": _now(),
            }
            self.state.statuses.setdefault(repo, {}).setdefault(sha, []).append(status)
            self.save()
            return status

    def find_run(self, run_id: int) -> tuple[str, dict[str, Any]]:
        for repo, runs in self.state.runs.items():
            for run in runs:
                if run["id"] == run_id:
                    return repo, run
        raise JuniperError(f"the GitHub stand-in has no run {run_id}", "use the id of a run it started")

    def approve(self, run_id: int) -> None:
        """A required reviewer approves the waiting run: it is queued and runs."""
        repo, run = self.find_run(run_id)
        if run["status"] != "waiting":
            raise JuniperError(f"run {run_id} is {run['status']}, not waiting", "approve a waiting run")
        with self.state.lock:
            run["status"] = "queued"
            self.save()
        self._run_in_background(repo, run)

    def reject(self, run_id: int) -> None:
        """A required reviewer rejects the waiting run: it concludes ``failure``."""
        _, run = self.find_run(run_id)
        if run["status"] != "waiting":
            raise JuniperError(f"run {run_id} is {run['status']}, not waiting", "reject a waiting run")
        with self.state.lock:
            run["status"], run["conclusion"], run["error"] = "completed", "failure", "deployment rejected"
            self.save()

    def add_run(self, repo: str, **fields: Any) -> dict[str, Any]:
        """Record a workflow run (tests use this for decoys)."""
        with self.state.lock:
            run = {
                "id": self.state.new_id(),
                "path": f".github/workflows/{self.workflow}",
                "head_branch": "",
                "head_sha": "",
                "event": "release",
                "status": "completed",
                "conclusion": "success",
                **fields,
            }
            run["html_url"] = f"{self.url}/{repo}/actions/runs/{run['id']}"
            self.state.runs.setdefault(repo, []).append(run)
            self.save()
            return run

    def _waits(self, repo: str) -> bool:
        if isinstance(self.wait_for_approval, bool):
            return self.wait_for_approval
        return repo in self.wait_for_approval

    def _start_run(self, repo: str, tag: str, sha: str, prerelease: bool = False) -> None:
        self.add_run(repo, path=".github/workflows/ci.yml", head_branch="main", head_sha=sha, event="push")
        status = "waiting" if self._waits(repo) else "queued"
        pair = release_workflows(self.bare(repo), sha)  # a pre-release/final pair: each runs, one is skipped
        where = {}
        for path, role in (pair or {}).items():
            if runs_for(role, prerelease):
                where = {"path": path}
            else:
                self.add_run(repo, path=path, head_branch=tag, head_sha=sha, conclusion="skipped")
        run = self.add_run(repo, head_branch=tag, head_sha=sha, status=status, conclusion=None, **where)
        self.add_run(repo, head_branch=DECOY_TAG, head_sha="0" * 40, status="in_progress", conclusion=None)
        if status != "waiting":
            self._run_in_background(repo, run)

    def _run_in_background(self, repo: str, run: dict[str, Any]) -> None:
        def work() -> None:
            run["status"] = "in_progress"
            with self.state.lock:
                self.save()
            try:
                if self.runner is not None:
                    self.runner(repo, run["head_branch"], run["head_sha"])
                run["conclusion"] = "success"
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt) or self.closing.is_set() or interrupts.was_interrupted():
                    return  # interrupted, not failed: left "in progress" for the next stand-in to run again
                run["conclusion"] = "failure"  # the run fails; the watcher reports it
                run["error"] = str(exc)
            run["status"] = "completed"
            with self.state.lock:
                self.save()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()  # before it is listed: close() may join it at any moment
        self.threads.append(thread)

    # ---- git, in the bare remotes

    # ---- HTTP

    def _repo_answer(self, repo: str) -> Answer:
        if self.remotes is not None and self.bare(repo) is None:
            return 404, {"message": "Not Found"}
        bare = self.bare(repo)
        default = Git(bare).run("symbolic-ref", "--short", "HEAD") if bare is not None else "main"
        owner, name = repo.split("/", 1)
        return 200, {
            "full_name": repo,
            "name": name,
            "owner": {"login": owner},
            "private": False,
            "default_branch": default,
            "html_url": f"{self.url}/{repo}",
            "permissions": self.permissions.get(repo, ALL_PERMISSIONS),
        }

    def _branch_answer(self, repo: str, branch: str) -> Answer:
        sha = self._branch_sha(repo, branch)
        if sha is None:
            return 404, {"message": "Branch not found"}
        protected = branch in self.protections.get(repo, {})
        return 200, {"name": branch, "commit": {"sha": sha}, "protected": protected}

    def _protection_answer(self, repo: str, branch: str) -> Answer:
        if branch not in self.protections.get(repo, {}):
            return 404, {"message": "Branch not protected"}
        contexts = list(self.protections[repo][branch])
        return 200, {
            "url": f"{self.url}/repos/{repo}/branches/{branch}/protection",
            "required_status_checks": {"strict": False, "contexts": contexts} if contexts else None,
            "required_pull_request_reviews": {"required_approving_review_count": 0},
            "enforce_admins": {"enabled": True},
            "allow_force_pushes": {"enabled": False},
            "allow_deletions": {"enabled": False},
        }

    def _pending_deployments(self, repo: str, run_id: int) -> Answer:
        run = next((r for r in self.state.runs.get(repo, []) if r["id"] == run_id), None)
        if run is None:
            return 404, {"message": "Not Found"}
        if run["status"] != "waiting":
            return 200, []
        return 200, [
            {
                "environment": {"id": 1, "name": self.environment},
                "wait_timer": 0,
                "current_user_can_approve": True,
                "reviewers": [{"type": "User", "reviewer": {"login": "maintainer"}}],
            }
        ]

    def _run_answer(self, repo: str, run_id: int) -> Answer:
        found = [r for r in self.state.runs.get(repo, []) if r["id"] == run_id]
        return (200, found[0]) if found else (404, {"message": "Not Found"})

    def _runs_answer(self, repo: str, workflow: str, query: Mapping[str, str]) -> Answer:
        runs = [
            r
            for r in self.state.runs.get(repo, [])
            if r["path"].endswith("/" + workflow)
            and all(r.get(k) == query[q] for q, k in (("head_sha", "head_sha"), ("event", "event")) if q in query)
        ]
        return 200, {"total_count": len(runs), "workflow_runs": runs[::-1]}

    def _release_answer(self, repo: str, tag: str) -> Answer:
        found = [r for r in self.state.releases.get(repo, []) if r["tag_name"] == tag]
        return (200, found[0]) if found else (404, {"message": "Not Found"})

    def _create_release(self, repo: str, body: Mapping[str, Any]) -> Answer:
        existing = [r for r in self.state.releases.get(repo, []) if r["tag_name"] == body.get("tag_name")]
        if existing:
            return 422, {"message": "Validation Failed: tag_name already_exists"}
        release = {
            "id": self.state.new_id(),
            "tag_name": body["tag_name"],
            "target_commitish": body.get("target_commitish", "main"),
            "name": body.get("name", ""),
            "body": body.get("body", ""),
            "prerelease": bool(body.get("prerelease")),
            "make_latest": str(body.get("make_latest", "true")),
            "draft": bool(body.get("draft")),
            "html_url": f"{self.url}/{repo}/releases/tag/{body['tag_name']}",
        }
        self.state.releases.setdefault(repo, []).append(release)
        self.save()
        if not release["draft"]:
            # The run exists before the client hears back, so leaving the `with` block right after a release
            # still waits for its run.
            self._start_run(repo, release["tag_name"], release["target_commitish"], release["prerelease"])
        return 201, release

    def _route(self, method: str, path: str, query: Mapping[str, str], body: Mapping[str, Any]) -> Answer:
        """Answer one authorized request (under the state lock)."""
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
        if not m:
            return 404, {"message": "Not Found"}
        repo, rest = m.group(1), m.group(2) or ""
        routes: list[tuple[str, str, Callable[[re.Match[str]], Answer]]] = [
            ("GET", r"", lambda _: self._repo_answer(repo)),
            ("GET", r"/branches/([^/]+)", lambda g: self._branch_answer(repo, _unq(g[1]))),
            ("GET", r"/branches/([^/]+)/protection", lambda g: self._protection_answer(repo, _unq(g[1]))),
            ("GET", r"/pulls", lambda _: self._pulls_answer(repo, query)),
            ("POST", r"/pulls", lambda _: self._create_pull(repo, body)),
            ("GET", r"/pulls/(\d+)", lambda g: self._pull_get(repo, int(g[1]))),
            ("PUT", r"/pulls/(\d+)/merge", lambda g: self._merge_pull(repo, int(g[1]), body)),
            ("GET", r"/commits/([^/]+)/status", lambda g: self._status_answer(repo, _unq(g[1]))),
            ("POST", r"/statuses/([0-9a-fA-F]{4,40})", lambda g: self._create_status(repo, g[1], body)),
            ("GET", r"/issues", lambda _: self._issues_answer(repo, query)),
            ("POST", r"/issues", lambda _: self._create_issue(repo, body)),
            ("GET", r"/issues/(\d+)", lambda g: self._issue_get(repo, int(g[1]))),
            ("PATCH", r"/issues/(\d+)", lambda g: self._update_issue(repo, int(g[1]), body)),
            ("GET", r"/issues/(\d+)/comments", lambda g: self._comments_answer(repo, int(g[1]), query)),
            ("POST", r"/issues/(\d+)/comments", lambda g: self._comment(repo, int(g[1]), body)),
            ("GET", r"/releases/tags/(.+)", lambda g: self._release_answer(repo, _unq(g[1]))),
            ("POST", r"/releases", lambda _: self._create_release(repo, body)),
            ("GET", r"/actions/workflows/([^/]+)/runs", lambda g: self._runs_answer(repo, g[1], query)),
            ("GET", r"/actions/runs/(\d+)", lambda g: self._run_answer(repo, int(g[1]))),
            ("GET", r"/actions/runs/(\d+)/pending_deployments", lambda g: self._pending_deployments(repo, int(g[1]))),
            ("POST", r"/actions/runs/(\d+)/pending_deployments", lambda g: self._review(repo, int(g[1]), body)),
        ]
        for verb, pattern, answer in routes:
            if verb == method and (g := re.fullmatch(pattern, rest)):
                return answer(g)
        return 404, {"message": "Not Found"}

    def _pull_get(self, repo: str, number: int) -> Answer:
        pull = self._find_pull(repo, number)
        return (200, self._pull_view(repo, pull)) if pull else (404, {"message": "Not Found"})

    def _issue_get(self, repo: str, number: int) -> Answer:
        issue = self._find_issue(repo, number)
        return (200, self._issue_view(issue)) if issue else (404, {"message": "Not Found"})

    def _review(self, repo: str, run_id: int, body: Mapping[str, Any]) -> Answer:
        """POST .../pending_deployments: a reviewer approves or rejects a waiting run."""
        run = next((r for r in self.state.runs.get(repo, []) if r["id"] == run_id), None)
        if run is None:
            return 404, {"message": "Not Found"}
        if run["status"] != "waiting":
            return 422, {"message": "Validation Failed: the run is not waiting for a review"}
        decision = body.get("state")
        if decision not in {"approved", "rejected"}:
            return 422, {"message": "Validation Failed: state must be approved or rejected"}
        self.approve(run_id) if decision == "approved" else self.reject(run_id)
        return 200, [{"environment": {"id": 1, "name": self.environment}, "state": decision}]

    def serve(self, method: str, target: str, authorization: str, raw: bytes) -> Answer:
        """Answer one HTTP request: logged first, then authenticated, checked against the allowlist, routed."""
        parts = urllib.parse.urlsplit(target)
        m = re.match(r"/repos/([^/]+/[^/]+)", parts.path)
        repo = m.group(1) if m else None
        allowed = None
        if repo is not None and self.allowed_repos is not None:
            allowed = repo.lower() in {r.lower() for r in self.allowed_repos}
        with self.state.lock:
            self.state.requests.append(f"{method} {target}")
            self.state.log.append(LoggedRequest(method, target, repo, allowed))
            self.state.auth_headers.append(authorization)
        if self.token is not None and authorization != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials"}
        if allowed is False:
            return 403, {"message": f"Resource not accessible: {repo} is outside the stand-in's allowlist"}
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, {"message": "Problems parsing JSON"}
        query = dict(urllib.parse.parse_qsl(parts.query))
        with self.state.lock:
            return self._route(method, parts.path, query, body if isinstance(body, dict) else {})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length) if length else b""
                fault = fake._fault_for(self.command, self.path)
                if fault is not None:
                    fake._answer_fault(self, fault)
                    return
                code, body = fake.serve(self.command, self.path, self.headers.get("Authorization", ""), raw)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        return Handler


def _unq(text: str) -> str:
    return urllib.parse.unquote(text)
