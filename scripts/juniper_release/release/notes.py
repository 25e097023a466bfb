"""A release's notes on its GitHub Release, and the forward-port reminder after a maintenance release.

The notes follow the package's convention (:mod:`juniper_release.ecosystem.notes`): a Keep a Changelog
CHANGELOG.md gives its ``## [X.Y.Z]`` section; any other convention (GitHub Releases only, news fragments, a
changelog in another format) gets the notes drafted from the commits since the previous release tag, grouped by
their conventional-commit type, as ``invoke propose`` drafts them into its pull request.

After a release from a maintenance branch (``--branch release/0.1``) the fixes must reach ``main`` too: the last
step files one GitHub issue (found again by its title, so a re-run files no second one) carrying the notes.
"""

from __future__ import annotations

from shlex import quote

from juniper_release.conventions import CHANGELOG, changelog_section, draft_notes
from juniper_release.ecosystem import notes
from juniper_release.ecosystem.model import Package
from juniper_release.ecosystem.tags import matching_tags
from juniper_release.github.forge import ForgeError
from juniper_release.release.context import ReleaseContext
from juniper_release.release.versioning import changelog_path

FORWARD_PORT_LABEL = "forward-port"


def _section(ctx: ReleaseContext, pkg: Package | None = None) -> str | None:
    """The CHANGELOG section of the release of ``pkg`` (default: the context's package), where it keeps one."""
    pkg = pkg or ctx.pkg
    root = pkg.checkout(ctx.workspace) if pkg is not ctx.pkg else ctx.root
    path = changelog_path(root, pkg.name)
    if notes.convention(pkg, root)[0] is not notes.Convention.KEEPACHANGELOG or not path.is_file():
        return None
    return changelog_section(path.read_text(encoding="utf-8"), ctx.version)


def previous_tag(ctx: ReleaseContext) -> str | None:
    """The release before this one, reachable from the release commit: for a final the previous *final* (its notes
    cover its release candidates too), for a pre-release the previous release of any kind."""
    found = matching_tags(ctx.pkg.tag_format, ctx.git.tags(merged=ctx.release_commit()))
    below = [v for v in found if v < ctx.version and (ctx.version.is_prerelease or not v.is_prerelease)]
    return found[max(below)] if below else None


def drafted(ctx: ReleaseContext) -> str:
    """The notes drafted from the commits since the previous release tag reachable from the release commit (for a
    lockstep group: every commit of the repository, the group's one tag being its members')."""
    pathspec = () if ctx.group is not None else ctx.registry.pathspec(ctx.pkg)
    return draft_notes(ctx.git.subjects_since(previous_tag(ctx), pathspec))


def release_notes_source(ctx: ReleaseContext) -> str:
    """Where the GitHub Release's notes come from, for the dry run's command."""
    return f"{CHANGELOG} [{ctx.version}]" if _section(ctx) else "drafted from the commits since the previous tag"


def release_body(ctx: ReleaseContext) -> str:
    """The GitHub Release's notes: the CHANGELOG section, else drafted from the commits. For a lockstep group: each
    member's section under its name (the members without one left out), else drafted for the group."""
    if ctx.group is None:
        return _section(ctx) or f"## {ctx.pkg.name} {ctx.version}\n\n{drafted(ctx)}"
    members = ((member, _section(ctx, member)) for member in ctx.registry.group_members(ctx.pkg))
    parts = [f"## {member.name}\n\n{section}" for member, section in members if section]
    return "\n".join(parts) or f"## group {ctx.group.name} {ctx.version}\n\n{drafted(ctx)}"


def forward_port_title(ctx: ReleaseContext) -> str:
    return f"Forward-port the fixes of {ctx.pkg.name} {ctx.version} ({ctx.branch}) to {ctx.registry.branch}"


def forward_port_body(ctx: ReleaseContext) -> str:
    return (
        f"{ctx.pkg.name} {ctx.version} was released from the maintenance branch `{ctx.branch}` (tag `{ctx.tag}`). "
        f"Its fixes belong on `{ctx.registry.branch}` too, unless they are there already:\n\n{release_body(ctx)}\n\n"
        f"To carry them: `git switch {quote(ctx.registry.branch)} && git cherry-pick -x <commits>` (or a merge of "
        f"`{ctx.tag}`), then a pull request; close this issue when it is merged."
    )


def forward_port_command(ctx: ReleaseContext) -> str:
    return f"POST {ctx.forge.base_url}/repos/{ctx.pkg.repo}/issues title={forward_port_title(ctx)!r}"


def forward_port_filed(ctx: ReleaseContext) -> bool:
    if ctx.journal.done(ctx.key, FORWARD_PORT_STEP):
        return True
    if not ctx.forge.token and not ctx.forge.is_local:
        return False
    return ctx.forge.find_issue(ctx.pkg.repo, title=forward_port_title(ctx), state="all") is not None


def file_forward_port(ctx: ReleaseContext) -> str:
    """The reminder issue; without a GitHub token it is not filed, and the outcome says what to do by hand."""
    title = forward_port_title(ctx)
    try:
        issue = ctx.forge.create_issue(ctx.pkg.repo, title, forward_port_body(ctx), labels=(FORWARD_PORT_LABEL,))
    except ForgeError as exc:
        return f"not filed ({exc.what}): forward-port {ctx.tag} to {ctx.registry.branch} by hand"
    return f"filed #{issue.number}: {title}"


FORWARD_PORT_STEP = "forward-port reminder"
