"""The local GitHub stand-in's issues (with comments) and combined commit statuses, as GitHub answers them; mixed
into :class:`juniper_release.sandbox.fakeforge.FakeGitHub`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from juniper_release.sandbox.fakeforge import ForgeState

Answer = tuple[int, Any]


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


def _page(items: list[Any], query: Mapping[str, str]) -> list[Any]:
    """``per_page`` (default 30, at most 100) items of page ``page`` (from 1), as GitHub pages lists."""
    try:
        per_page = min(max(int(query.get("per_page", "30")), 1), 100)
        page = max(int(query.get("page", "1")), 1)
    except ValueError:
        per_page, page = 30, 1
    return items[(page - 1) * per_page : page * per_page]


class ForgeParts:
    """What the stand-in's parts (issues, pull requests) need of :class:`FakeGitHub`, which provides it."""

    state: ForgeState

    @property
    def url(self) -> str:
        raise NotImplementedError

    def save(self) -> None:
        raise NotImplementedError

    def bare(self, repo: str) -> Path | None:
        raise NotImplementedError


class IssuesAndStatuses(ForgeParts):
    """Issues, their comments and commit statuses of the stand-in's repositories."""

    @staticmethod
    def _rev(bare: Path, ref: str) -> str | None:
        raise NotImplementedError

    def _find_pull(self, repo: str, number: int) -> dict[str, Any] | None:
        raise NotImplementedError

    def set_status(self, repo: str, sha: str, state: str, context: str = "ci", description: str = "") -> dict[str, Any]:
        raise NotImplementedError

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
