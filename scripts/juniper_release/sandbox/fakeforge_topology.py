"""Which workflows the local GitHub stand-in runs for a published Release: the repository's own, read from its bare
remote at the Release's commit, by the one rule of :mod:`juniper_release.ecosystem.triggers`.

A repository with a pre-release/final pair (``publish-testpypi.yml`` gated on ``prerelease == true``,
``publish-pypi.yml`` on ``== false``) gets a run of each, as on GitHub: the one for the other kind of Release
finishes at once as ``skipped`` (every job's ``if:`` is false), so a release that watched the wrong workflow would
see it do nothing. Any other repository keeps the stand-in's one publish workflow.
"""

from __future__ import annotations

from pathlib import Path

from juniper_release.ecosystem import triggers
from juniper_release.gitops import Git


def release_workflows(bare: Path | None, sha: str) -> dict[str, triggers.Role] | None:
    """{workflow path: role} of a two-workflow repository at ``sha``; None for any other topology (or no remote)."""
    if bare is None or not Git(bare).ok("cat-file", "-e", f"{sha}^{{commit}}"):
        return None
    git = Git(bare)
    listed = (
        git.run("ls-tree", "--name-only", f"{sha}:.github/workflows")
        if git.ok("cat-file", "-e", f"{sha}:.github/workflows")
        else ""
    )
    texts = {
        f".github/workflows/{name}": git.run("show", f"{sha}:.github/workflows/{name}", strip=False)
        for name in listed.splitlines()
        if name.endswith((".yml", ".yaml"))
    }
    found = triggers.topology(texts)
    return found if triggers.split_pair(found) else None
