"""What the public API diff asks of a release and of its proposal: the gate "the bump covers the API change", the
proposal's "Breaking changes" section and the note a maintainer's ``--accept-api-change REASON`` puts on the GitHub
Release.

The diff itself is :func:`juniper_release.ecosystem.apidiff.api_diff` (cached by tree hash, so the gate and the
proposal re-read what ``detect`` computed); the bump a level asks for is the one rule of
:func:`juniper_release.ecosystem.detect.bump_part`, with the package's ``breaking_bump`` policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from juniper_release.ecosystem import apidiff
from juniper_release.ecosystem.apidiff import ApiDiff
from juniper_release.ecosystem.detect import API_LEVELS, PARTS, bump_part
from juniper_release.ecosystem.model import Package
from juniper_release.gitops import Git
from juniper_release.output import markdown_code, markdown_text

SHOWN = 8
"""How many findings a gate's failure line names (the rest are counted)."""


def shipped_part(old: Version, new: Version) -> str:
    """The step from ``old`` to ``new``: major, minor or patch (a pre-release counts as the step it leads to)."""
    if new.major != old.major:
        return "major"
    if new.minor != old.minor:
        return "minor"
    return "patch"


@dataclass(frozen=True)
class Verdict:
    """Whether a release's version covers its API change: the bump the API asks for, the one shipped, and the
    findings that ask for more than the shipped step."""

    required: str | None
    shipped: str
    findings: tuple[apidiff.ApiChange, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and PARTS.index(self.shipped) >= PARTS.index(self.required)

    def what(self, previous: str) -> str:
        if self.error:
            return f"compared with {previous}: {self.error}"
        shown = "; ".join(c.line() for c in self.findings[:SHOWN])
        more = f" (and {len(self.findings) - SHOWN} more)" if len(self.findings) > SHOWN else ""
        return (
            f"compared with {previous}, the public API asks for a {self.required} bump but this release is a "
            f"{self.shipped}: {shown}{more}"
        )


def verdict(pkg: Package, git: Git, previous_tag: str, target: str, new: Version) -> Verdict:
    """The API diff from the previous release's tag to ``target`` against the step to ``new``."""
    old = pkg.version_from_tag(previous_tag)
    if old is None:
        return Verdict(None, "patch")
    diff = apidiff.api_diff(pkg, git, previous_tag, target)
    shipped = shipped_part(old, new)
    if diff.error:
        return Verdict(None, shipped, error=diff.error)
    level = diff.level(code_changed=False)
    required = bump_part(API_LEVELS[level], old, pkg.breaking_bump) if level else None
    if PARTS.index(shipped) >= PARTS.index(required):
        return Verdict(required, shipped)
    asks = [c for c in diff.changes if bump_part(API_LEVELS[c.level], old, pkg.breaking_bump) == required]
    return Verdict(required, shipped, tuple(asks))


def accepted_note(reason: str | None) -> str:
    """The GitHub Release's note of an API change a maintainer accepted (empty without one)."""
    return f"\n\n**API change accepted by the maintainer** (`--accept-api-change`): {reason}\n" if reason else ""


# --------------------------------------------------------------------------------------------------- the proposal


def breaking_section(diff: ApiDiff | None) -> tuple[str, bool]:
    """The proposal's "Breaking changes" section (with the features and internal findings listed after them, and
    migration notes to fill in when something breaks), and whether anything breaks; no section when the public API
    did not change."""
    if diff is None or not (diff.changes or diff.error):
        return "", False
    if diff.error:
        return f"## Breaking changes\n\nThe public API could not be compared: {markdown_text(diff.error)}.", False
    breaking = diff.of(apidiff.BREAKING)
    lines = ["## Breaking changes", ""]
    lines += [_item(c) for c in breaking] or ["None found in the public API."]
    others = [c for c in diff.changes if c.level != apidiff.BREAKING]
    if others:
        lines += ["", "Other API changes:", "", *(_item(c) for c in others)]
    if breaking:
        lines += [
            "",
            "### Migration notes",
            "",
            "<!-- for each breaking change: what a user of the package changes in their code -->",
            *(f"- {markdown_code(c.path)}: TODO" for c in breaking),
        ]
    return "\n".join(lines), bool(breaking)


def _item(change: apidiff.ApiChange) -> str:
    """One finding as Markdown text: names come from the code, escaped like any untrusted text."""
    forms = (
        f": {markdown_code(change.old)} -> {markdown_code(change.new)}"
        if change.old and change.new
        else (f": {markdown_code(change.old or change.new)}" if change.old or change.new else "")
    )
    return f"- {change.level}: {change.kind} {markdown_code(change.path)}{forms}"


def proposal_diff(pkg: Package, git: Git, old: Version, target: str) -> ApiDiff | None:
    """The API diff a proposal from ``old`` shows: from ``old``'s tag to ``target`` (None: no such tag)."""
    tag = pkg.tag_for(old)
    if not git.ok("rev-parse", "-q", "--verify", f"refs/tags/{tag}"):
        return None
    return apidiff.api_diff(pkg, git, tag, target)
