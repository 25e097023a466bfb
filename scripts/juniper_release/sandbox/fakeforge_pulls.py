"""The local GitHub stand-in's branches and pull requests on the bare remotes (a merge is git plumbing in the bare
remote, as GitHub's own merge writes the ref without a push); mixed into
:class:`juniper_release.sandbox.fakeforge.FakeGitHub`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from juniper_release.errors import GitError
from juniper_release.gitops import Git
from juniper_release.sandbox.fakeforge_issues import Answer, ForgeParts, _now, _page

if TYPE_CHECKING:
    pass


MERGE_IDENTITY = {
    "GIT_AUTHOR_NAME": "GitHub",
    "GIT_AUTHOR_EMAIL": "noreply@github.com",
    "GIT_COMMITTER_NAME": "GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@github.com",
}
"""Who GitHub's merge commits are made by."""


class PullRequests(ForgeParts):
    """Pull requests: listed, opened, merged into the bare remote."""

    protections: dict[str, dict[str, tuple[str, ...]]]

    def _require_bare(self, repo: str) -> Path:
        raise NotImplementedError

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
