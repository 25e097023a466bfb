"""The PR-flow rehearsal (``invoke rehearse --flow pr``): detect -> propose -> merge -> release -> publish, then a
second pass that must open nothing and publish nothing.

On the rehearsal's throwaway clones: each stand-in package gets one unreleased change of a different kind
(:data:`juniper_release.sandbox.changes.PR_FLOW_CHANGES`), pushed while ``main`` is still open; then every
repository's ``main`` is protected on the local GitHub stand-in (a direct push is refused by its pre-receive
hook). What has release-worthy changes is selected by ``invoke detect``'s rule, each selection is proposed as a
pull request, the "reviewer" merges it on the stand-in (the merge lands in the bare remote), the checkouts pull, and
the release train tags the merged commits (PR flow: never a branch push) and publishes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from packaging.version import Version

from juniper_release.ecosystem.registry import Registry
from juniper_release.github.forge import GitHub
from juniper_release.gitops import Git
from juniper_release.release.propose import execute, plan_proposals
from juniper_release.sandbox.changes import PR_FLOW_CHANGES, apply_changes
from juniper_release.sandbox.fakeforge import FakeGitHub

Say = Callable[[str], None]
Selector = Callable[[Registry, Path], tuple[dict[str, str], dict[str, str]]]
"""(registry, workspace) -> (package -> bump part, package -> evidence text) of what has release-worthy changes."""


def make_changes(registry: Registry, workspace: Path, say: Say) -> None:
    """One unreleased change of each kind on the stand-in's packages, committed and pushed (before protection)."""
    roots = {p.name: (p.checkout(workspace), p.imports[0] if p.imports else None) for p in registry.packages}
    changes = {name: kind for name, kind in PR_FLOW_CHANGES.items() if name in roots}
    for line in apply_changes(roots, changes):
        say(f"unreleased change: {line}")
    for name in changes:
        Git(roots[name][0]).run("push", "-q", "origin", registry.branch)


def protect_all(registry: Registry, fake: FakeGitHub) -> None:
    """Protect ``main`` of every repository on the stand-in, as the plan asks."""
    for repo in dict.fromkeys(p.repo for p in registry.packages):
        fake.protect(repo, registry.branch)


def released_tags(registry: Registry, workspace: Path) -> dict[str, list[str]]:
    """Each package's release tag and its commit, before the rehearsal changes anything."""
    out: dict[str, list[str]] = {}
    for pkg in registry.packages:
        git = Git(pkg.checkout(workspace))
        tags = [t for t in git.tags(merged="HEAD") if pkg.version_from_tag(t) is not None]
        if tags:
            tag = max(tags, key=lambda t: pkg.version_from_tag(t) or Version("0"))
            out[pkg.name] = [tag, git.run("rev-list", "-n", "1", tag)]
    return out


def seed_indexes(
    registry: Registry, released: Mapping[str, list[str]], publish: Callable[[str, str, str], None], say: Say
) -> None:
    """Publish each package's release before the changes to the local indexes (as PyPI holds them), with the
    stand-in's own publish workflow ``publish(repo, tag, sha)``."""
    for pkg in registry.packages:
        if pkg.name in released:
            tag, sha = released[pkg.name]
            publish(pkg.repo, tag, sha)
            say(f"published the earlier release {pkg.name} {tag} to the local indexes")


def propose_and_merge(registry: Registry, workspace: Path, forge: GitHub, select: Selector, say: Say) -> list[str]:
    """Propose what ``select`` selects, merge each proposal's PR (and its follow-ons) as a reviewer would, pull
    every checkout: the packages proposed."""
    parts, evidence = select(registry, workspace)
    if not parts:
        say("detect: nothing has release-worthy changes: nothing to propose")
        return []
    say("detect: " + ", ".join(f"{n} ({p})" for n, p in parts.items()))
    proposals = plan_proposals(registry, workspace, parts, draft_notes=True, evidence=evidence)
    for repo, title, outcome in execute(proposals, forge, registry.branch, say):
        say(f"{repo}: {title}: {outcome}")
    for proposal in proposals:
        for change in (proposal.change, *proposal.followons):
            pull = forge.find_open_pull(change.repo, change.branch, registry.branch)
            if pull is None:
                continue
            merged = forge.merge_pull(change.repo, pull.number)
            say(f"merged #{pull.number} {change.title} as {merged[:8]}")
    for root in dict.fromkeys(p.repo_dir(workspace) for p in registry.packages):
        Git(root).run("pull", "-q", "--ff-only", "origin", registry.branch)
    return list(parts)


def pull_requests_opened(fake: FakeGitHub) -> int:
    """How many pull requests the stand-in was asked to open (its request log)."""
    return sum(1 for r in fake.log if r.method == "POST" and r.path.endswith("/pulls"))
