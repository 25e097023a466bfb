"""A Release GitHub already holds at the tag is checked, not trusted: it counts as this release's only when it names
the tag, targets the release commit and is published. A squatted one (another commit) or a draft (which triggers no
publish run) stops the release with the fix, in the preflight (:func:`problem`, a gate) and again where the step asks
whether its Release exists or reads the one it made (:func:`check_release`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from juniper_release.errors import JuniperError

if TYPE_CHECKING:
    from juniper_release.release.context import ReleaseContext


def problem(ctx: ReleaseContext, release: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why ``release`` (GitHub's answer for the tag) is not this release's, and the fix; None when it is."""
    sha = ctx.release_commit()
    target = str(release.get("target_commitish") or "")
    where = f"{ctx.pkg.repo}: the GitHub Release at {ctx.tag}"
    url = release.get("html_url") or "the repository's Releases page"
    if release.get("tag_name") != ctx.tag:
        return f"{where} names tag {release.get('tag_name')!r}", f"delete it on GitHub ({url}), then re-run to resume"
    if _is_sha(target) and target != sha:
        return (
            f"{where} already exists for commit {target[:8]}, not the release commit {sha[:8]} (squatted or stale)",
            f"check it on GitHub ({url}); if it is not this release's, delete it there, then re-run to resume",
        )
    if release.get("draft"):
        return (
            f"{where} is a draft: a draft triggers no publish run",
            f"publish the draft on GitHub if it is this release's ({url}), or delete it; then re-run to resume",
        )
    return None


def check_release(ctx: ReleaseContext, release: Mapping[str, Any]) -> Mapping[str, Any]:
    """``release`` when it is this release's published Release; else a one-line error with the fix."""
    found = problem(ctx, release)
    if found is not None:
        raise JuniperError(*found)
    return release


def _is_sha(text: str) -> bool:
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text.lower())
