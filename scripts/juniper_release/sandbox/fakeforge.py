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
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from juniper_release import interrupts
from juniper_release.errors import GitError, JuniperError
from juniper_release.files import read_json, write_json
from juniper_release.gitops import Git

DECOY_TAG = "v0.0.0-decoy"
"""The tag of the decoy publish run that is always the newest (and never finishes)."""

HOOK_MARKER = "# juniper-release fakeforge: protected branches"
"""The line that marks a ``pre-receive`` hook as the stand-in's own (any other hook is never overwritten)."""

MERGE_IDENTITY = {
    "GIT_AUTHOR_NAME": "GitHub",
    "GIT_AUTHOR_EMAIL": "noreply@github.com",
    "GIT_COMMITTER_NAME": "GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@github.com",
}
"""Who the stand-in's merge commits are by (as on GitHub)."""

ALL_PERMISSIONS = {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True}

Runner = Callable[[str, str, str], None]
"""runner(repo, tag, sha): raises to make the run fail."""

Answer = tuple[int, Any]
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


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def combined_state(statuses: Iterable[Mapping[str, Any]]) -> str:
    """GitHub's combined state: ``failure`` if any context errored or failed, ``pending`` if any is pending or there
    are none, else ``success``."""
    states = [str(s["state"]) for s in statuses]
    if any(s in {"error", "failure"} for s in states):
        return "failure"
    if not states or "pending" in states:
        return "pending"
    return "success"


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


class FakeGitHub:
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

    def _start_run(self, repo: str, tag: str, sha: str) -> None:
        self.add_run(repo, path=".github/workflows/ci.yml", head_branch="main", head_sha=sha, event="push")
        status = "waiting" if self._waits(repo) else "queued"
        run = self.add_run(repo, head_branch=tag, head_sha=sha, status=status, conclusion=None)
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

    @staticmethod
    def _rev(bare: Path, ref: str) -> str | None:
        """The commit ``ref`` names in ``bare``, or None."""
        spec = f"{ref}^{{commit}}"
        git = Git(bare)
        return (
            git.run("rev-parse", "--verify", "--quiet", spec)
            if git.ok("rev-parse", "--verify", "--quiet", spec)
            else None
        )

    def _branch_sha(self, repo: str, branch: str) -> str | None:
        bare = self.bare(repo)
        return self._rev(bare, f"refs/heads/{branch}") if bare is not None else None

    def _merge(self, repo: str, pull: dict[str, Any], method: str, title: str | None) -> str:
        """Merge the pull request's head into its base in the bare remote; the new base commit. Raises
        :class:`GitError` on a conflict or a base that moved meanwhile."""
        bare = self._require_bare(repo)
        base_ref, head_ref = f"refs/heads/{pull['base']['ref']}", f"refs/heads/{pull['head']['ref']}"
        git = Git(bare, env=MERGE_IDENTITY)
        base, head = git.run("rev-parse", base_ref), git.run("rev-parse", head_ref)
        if method == "rebase":
            if not git.ok("merge-base", "--is-ancestor", base, head):
                raise GitError(f"{repo}: the stand-in rebases only a head that contains its base", "merge instead")
            new = head
        else:
            tree = git.run("merge-tree", "--write-tree", base, head).splitlines()[0]
            if method == "squash":
                message = title or f"{pull['title']} (#{pull['number']})"
                new = git.run("commit-tree", tree, "-p", base, "-m", message)
            else:
                message = title or f"Merge pull request #{pull['number']} from {pull['head']['label']}"
                new = git.run("commit-tree", tree, "-p", base, "-p", head, "-m", message, "-m", pull["title"])
        git.run("update-ref", "-m", f"merge pull request #{pull['number']}", base_ref, new, base)
        return new

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

    def _pull_view(self, repo: str, pull: dict[str, Any], listed: bool = False) -> dict[str, Any]:
        """A pull request as GitHub shows it: an open one's head and base follow their branches."""
        if pull["state"] == "open":
            for side in ("head", "base"):
                sha = self._branch_sha(repo, pull[side]["ref"])
                if sha is not None:
                    pull[side]["sha"] = sha
        view = dict(pull)
        if listed:
            view.pop("merged")  # the list endpoint has merged_at only
        return view

    def _pulls_answer(self, repo: str, query: Mapping[str, str]) -> Answer:
        state = query.get("state", "open")
        pulls = [
            p
            for p in self.state.pulls.get(repo, [])
            if (state == "all" or p["state"] == state)
            and ("head" not in query or p["head"]["label"] == query["head"])
            and ("base" not in query or p["base"]["ref"] == query["base"])
        ]
        views = [self._pull_view(repo, p, listed=True) for p in sorted(pulls, key=lambda p: -int(p["number"]))]
        return 200, _page(views, query)

    def _create_pull(self, repo: str, body: Mapping[str, Any]) -> Answer:
        owner = repo.split("/", 1)[0]
        head = str(body.get("head") or "")
        head_owner, _, head_ref = head.rpartition(":")
        base_ref = str(body.get("base") or "")
        if head_owner not in {"", owner}:
            return 422, {"message": "Validation Failed: the stand-in has no forks"}
        if self.bare(repo) is None:
            return 404, {"message": "Not Found"}
        head_sha, base_sha = self._branch_sha(repo, head_ref), self._branch_sha(repo, base_ref)
        if head_sha is None:
            return 422, {"message": "Validation Failed: head invalid"}
        if base_sha is None:
            return 422, {"message": "Validation Failed: base invalid"}
        label = f"{owner}:{head_ref}"
        if any(
            p["state"] == "open" and p["head"]["label"] == label and p["base"]["ref"] == base_ref
            for p in self.state.pulls.get(repo, [])
        ):
            return 422, {"message": f"Validation Failed: A pull request already exists for {label}."}
        if Git(self._require_bare(repo)).ok("merge-base", "--is-ancestor", head_sha, base_sha):
            return 422, {"message": f"Validation Failed: No commits between {base_ref} and {head_ref}"}
        number = self.state.new_number(repo)
        side = {"repo": {"full_name": repo}}
        pull = {
            "number": number,
            "state": "open",
            "title": str(body.get("title") or ""),
            "body": str(body.get("body") or ""),
            "head": {"ref": head_ref, "sha": head_sha, "label": label, **side},
            "base": {"ref": base_ref, "sha": base_sha, "label": f"{owner}:{base_ref}", **side},
            "merged": False,
            "merged_at": None,
            "merge_commit_sha": None,
            "created_at": _now(),
            "html_url": f"{self.url}/{repo}/pull/{number}",
        }
        self.state.pulls.setdefault(repo, []).append(pull)
        self.save()
        return 201, self._pull_view(repo, pull)

    def _find_pull(self, repo: str, number: int) -> dict[str, Any] | None:
        return next((p for p in self.state.pulls.get(repo, []) if p["number"] == number), None)

    def _merge_pull(self, repo: str, number: int, body: Mapping[str, Any]) -> Answer:
        pull = self._find_pull(repo, number)
        if pull is None:
            return 404, {"message": "Not Found"}
        if pull["state"] != "open":
            return 405, {"message": "Pull Request is not mergeable"}
        view = self._pull_view(repo, pull)
        if body.get("sha") and body["sha"] != view["head"]["sha"]:
            return 409, {"message": "Head branch was modified. Review and try the merge again."}
        required = self.protections.get(repo, {}).get(pull["base"]["ref"], ())
        latest = {s["context"]: s["state"] for s in self.state.statuses.get(repo, {}).get(view["head"]["sha"], [])}
        for context in required:
            if latest.get(context) != "success":
                verdict = "is expected" if context not in latest else f"is {latest[context]}"
                return 405, {"message": f'Required status check "{context}" {verdict}.'}
        method = str(body.get("merge_method") or "merge")
        if method not in {"merge", "squash", "rebase"}:
            return 422, {"message": f"Validation Failed: merge_method {method} is invalid"}
        title = body.get("commit_title")
        try:
            sha = self._merge(repo, pull, method, str(title) if title else None)
        except GitError as exc:
            return 405, {"message": f"Pull Request is not mergeable: {exc.what}"}
        pull.update(state="closed", merged=True, merged_at=_now(), merge_commit_sha=sha)
        self.save()
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}

    def _status_answer(self, repo: str, ref: str) -> Answer:
        sha = ref
        bare = self.bare(repo)
        if bare is not None:
            found = self._rev(bare, ref)
            if found is None:
                return 404, {"message": f"No commit found for SHA: {ref}"}
            sha = found
        latest: dict[str, dict[str, Any]] = {}
        for status in self.state.statuses.get(repo, {}).get(sha, []):
            latest[status["context"]] = status
        statuses = list(latest.values())
        return 200, {"state": combined_state(statuses), "sha": sha, "total_count": len(statuses), "statuses": statuses}

    def _issue_view(self, issue: Mapping[str, Any]) -> dict[str, Any]:
        return {**issue, "labels": [{"name": name} for name in issue["labels"]]}

    def _issues_answer(self, repo: str, query: Mapping[str, str]) -> Answer:
        """Issues and pull requests (each with a ``pull_request`` key), newest first, as GitHub lists them."""
        state = query.get("state", "open")
        wanted = {w for w in query.get("labels", "").split(",") if w}
        items = [self._issue_view(i) for i in self.state.issues.get(repo, [])]
        items += [
            {
                "number": p["number"],
                "title": p["title"],
                "body": p["body"],
                "state": p["state"],
                "labels": [],
                "comments": 0,
                "html_url": p["html_url"],
                "pull_request": {"html_url": p["html_url"]},
            }
            for p in self.state.pulls.get(repo, [])
        ]
        found = [
            i for i in items if (state == "all" or i["state"] == state) and wanted <= {lb["name"] for lb in i["labels"]}
        ]
        return 200, _page(sorted(found, key=lambda i: -int(i["number"])), query)

    def _create_issue(self, repo: str, body: Mapping[str, Any]) -> Answer:
        if not body.get("title"):
            return 422, {"message": "Validation Failed: title missing"}
        number = self.state.new_number(repo)
        issue = {
            "number": number,
            "title": str(body["title"]),
            "body": str(body.get("body") or ""),
            "state": "open",
            "state_reason": None,
            "labels": [str(lb) for lb in body.get("labels") or []],
            "comments": 0,
            "created_at": _now(),
            "html_url": f"{self.url}/{repo}/issues/{number}",
        }
        self.state.issues.setdefault(repo, []).append(issue)
        self.save()
        return 201, self._issue_view(issue)

    def _find_issue(self, repo: str, number: int) -> dict[str, Any] | None:
        return next((i for i in self.state.issues.get(repo, []) if i["number"] == number), None)

    def _update_issue(self, repo: str, number: int, body: Mapping[str, Any]) -> Answer:
        issue = self._find_issue(repo, number)
        if issue is None:
            return 404, {"message": "Not Found"}
        if body.get("state") not in {None, "open", "closed"}:
            return 422, {"message": "Validation Failed: state is invalid"}
        for key in ("title", "body", "state", "state_reason"):
            if key in body:
                issue[key] = body[key]
        if "labels" in body:
            issue["labels"] = [str(lb) for lb in body["labels"]]
        if body.get("state") == "closed" and "state_reason" not in body:
            issue["state_reason"] = "completed"
        self.save()
        return 200, self._issue_view(issue)

    def _comment(self, repo: str, number: int, body: Mapping[str, Any]) -> Answer:
        issue = self._find_issue(repo, number)
        if issue is None and self._find_pull(repo, number) is None:
            return 404, {"message": "Not Found"}
        if not body.get("body"):
            return 422, {"message": "Validation Failed: body missing"}
        comment_id = self.state.new_id()
        comment = {
            "id": comment_id,
            "issue_number": number,
            "body": str(body["body"]),
            "created_at": _now(),
            "html_url": f"{self.url}/{repo}/issues/{number}#issuecomment-{comment_id}",
        }
        self.state.comments.setdefault(repo, []).append(comment)
        if issue is not None:
            issue["comments"] += 1
        self.save()
        return 201, comment

    def _comments_answer(self, repo: str, number: int, query: Mapping[str, str]) -> Answer:
        if self._find_issue(repo, number) is None and self._find_pull(repo, number) is None:
            return 404, {"message": "Not Found"}
        return 200, _page([c for c in self.state.comments.get(repo, []) if c["issue_number"] == number], query)

    def _create_status(self, repo: str, sha: str, body: Mapping[str, Any]) -> Answer:
        state = str(body.get("state") or "")
        if state not in {"success", "failure", "error", "pending"}:
            return 422, {"message": "Validation Failed: state is invalid"}
        bare = self.bare(repo)
        if bare is not None and self._rev(bare, sha) is None:
            return 422, {"message": f"No commit found for SHA: {sha}"}
        context = str(body.get("context") or "default")
        return 201, self.set_status(repo, sha, state, context, str(body.get("description") or ""))

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
            "draft": bool(body.get("draft")),
            "html_url": f"{self.url}/{repo}/releases/tag/{body['tag_name']}",
        }
        self.state.releases.setdefault(repo, []).append(release)
        self.save()
        if not release["draft"]:
            # The run exists before the client hears back, so leaving the `with` block right after a release
            # still waits for its run.
            self._start_run(repo, release["tag_name"], release["target_commitish"])
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


def _page(items: list[Any], query: Mapping[str, str]) -> list[Any]:
    """``per_page`` (default 30, at most 100) items of page ``page`` (from 1), as GitHub pages lists."""
    try:
        per_page = min(max(int(query.get("per_page", "30")), 1), 100)
        page = max(int(query.get("page", "1")), 1)
    except ValueError:
        per_page, page = 30, 1
    return items[(page - 1) * per_page : page * per_page]
