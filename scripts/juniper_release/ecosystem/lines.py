"""Maintenance lines: ``release/x.y`` branches that receive patch fixes while ``main`` moves ahead.

One rule in one place for every stage that takes ``--branch NAME``:

- the branch name must be a valid git branch name (:func:`check_branch_name`, ``git check-ref-format`` rules, the
  one rule of :func:`juniper_release.ecosystem.registry_fields.bad_ref_name`);
- the *baseline* of a line is the newest tag (by version) reachable from the branch, never from ``main``
  (:func:`line_baseline`);
- the line is the ``X.Y`` its name ends in (``release/0.1``), else the baseline's major and minor
  (:func:`line_of`); every version released from it is the line's next patch, and anything outside the line is
  refused, naming the line (:func:`check_in_line`);
- :func:`maintenance_branches` lists origin's ``release/*`` branches, for ``status``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from juniper_release.ecosystem.model import Package, Registry
from juniper_release.ecosystem.registry_fields import bad_ref_name
from juniper_release.ecosystem.tags import matching_tags
from juniper_release.errors import ConfigError, JuniperError
from juniper_release.gitops import Git

LINE_PREFIX = "release/"
"""Maintenance branches are ``release/X.Y`` (the release-process document's naming)."""

_MAINTENANCE_RE = re.compile(r"release/v?\d+\.\d+(\.x)?")
_LINE_RE = re.compile(r"(?:^|[/-])v?(?P<major>\d+)\.(?P<minor>\d+)(?:\.x)?$")


@dataclass(frozen=True)
class Line:
    """A maintenance line: its branch, ``(major, minor)``, and its baseline tag and version (None: no tag yet)."""

    branch: str
    line: tuple[int, int]
    tag: str | None
    version: Version | None

    @property
    def name(self) -> str:
        return f"{self.line[0]}.{self.line[1]}"

    def next_patch(self) -> Version:
        """The line's next patch: one past the baseline, or ``X.Y.0`` for a line with no release yet."""
        if self.version is None:
            return Version(f"{self.name}.0")
        major, minor, patch = (*self.version.release, 0, 0)[:3]
        return Version(f"{major}.{minor}.{patch if self.version.is_prerelease else patch + 1}")


def check_branch_name(name: str) -> str:
    """``name`` when it is a valid branch name; else a one-line error naming it and the fix."""
    bad = bad_ref_name(name)
    if bad:
        raise ConfigError(
            f"--branch {name!r} is not a valid git branch name ({bad})", "pass a branch such as release/0.1"
        )
    return name


def line_baseline(git: Git, pkg: Package, ref: str) -> tuple[str | None, Version | None]:
    """The newest release tag of ``pkg`` (by version, pre-releases only when there is no final) reachable from
    ``ref``: the maintenance line's baseline, whatever ``main`` released since."""
    tags = matching_tags(pkg.tag_format, git.tags(merged=ref))
    finals = [v for v in tags if not v.is_prerelease]
    version = max(finals or list(tags), default=None)
    return (tags[version] if version is not None else None), version


def line_of(branch: str, baseline: Version | None) -> tuple[int, int]:
    """The ``(major, minor)`` of the line: from the branch name (``release/0.1``), else from its baseline."""
    m = _LINE_RE.search(branch)
    if m:
        return int(m["major"]), int(m["minor"])
    if baseline is None:
        raise JuniperError(
            f"branch {branch!r} names no X.Y line and has no release tag to take one from",
            "name maintenance branches release/X.Y, or tag the line's first release",
        )
    return baseline.major, baseline.minor


def resolve(git: Git, pkg: Package, branch: str, ref: str | None = None) -> Line:
    """The line of ``branch`` in ``pkg``'s repository (``ref``: the revision to read its tags from, default the
    branch itself, else ``origin/<branch>``)."""
    check_branch_name(branch)
    rev = ref or next(
        (
            r
            for r in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}")
            if git.ok("rev-parse", "-q", "--verify", r)
        ),
        None,
    )
    if rev is None:
        raise JuniperError(
            f"{pkg.name}: branch {branch!r} exists neither here nor on origin",
            f"`git fetch origin` (or create it: `git branch {branch} <tag>`), then re-run",
        )
    tag, version = line_baseline(git, pkg, rev)
    return Line(branch, line_of(branch, version), tag, version)


def check_in_line(pkg: Package, line: Line, version: Version) -> None:
    """A version released from a maintenance line belongs to it: the same major and minor (a patch, or its
    pre-release); anything else (0.2.0 on ``release/0.1``) is refused, naming the line."""
    if (version.major, version.minor) != line.line:
        raise JuniperError(
            f"{pkg.name}: {version} is outside the {line.name} line of branch {line.branch} (it releases "
            f"{line.name}.x patches only)",
            f"release {line.next_patch()} from {line.branch} (--part patch), or {version} from the main branch",
        )
    if line.version is not None and version <= line.version:
        raise JuniperError(
            f"{pkg.name}: {version} is not above the line's latest release {line.version} ({line.tag})",
            f"release {line.next_patch()} from {line.branch}",
        )


def maintenance_branches(git: Git) -> list[str]:
    """origin's ``release/*`` branches as last fetched, oldest line first (``release/0.1`` before
    ``release/0.10``)."""
    out = git.run("for-each-ref", "--format=%(refname)", f"refs/remotes/origin/{LINE_PREFIX}")
    names = [r.removeprefix("refs/remotes/origin/") for r in out.splitlines() if r]
    names = [n for n in names if _MAINTENANCE_RE.fullmatch(n)]  # not a proposal's release/<pkg>-<version>

    def key(name: str) -> tuple[int, ...]:
        m = _LINE_RE.search(name)
        return (int(m["major"]), int(m["minor"])) if m else (1 << 30,)

    return sorted(names, key=key)


def unreleased_on(git: Git, pkg: Package, branch: str, pathspec: tuple[str, ...] = ()) -> tuple[Line, int]:
    """A maintenance line of origin and the number of commits on the package's paths since its baseline."""
    ref = f"refs/remotes/origin/{branch}"
    line = resolve(git, pkg, branch, ref)
    rng = f"{line.tag}..{ref}" if line.tag else ref
    count = int(git.run("rev-list", "--count", rng, *(("--", *pathspec) if pathspec else ())))
    return line, count


def pending_lines(registry: Registry, workspace: Path) -> list[str]:
    """One line per package and maintenance branch of origin (as last fetched) with commits on the package's paths
    since the line's baseline: what ``status`` lists under the table."""
    out: list[str] = []
    for pkg in registry.packages:
        root = pkg.checkout(workspace)
        git = Git(pkg.repo_dir(workspace))
        if not root.is_dir() or not git.is_repo():
            continue
        for branch in maintenance_branches(git):
            try:
                line, count = unreleased_on(Git(root), pkg, branch, registry.pathspec(pkg))
            except JuniperError:
                continue  # a line without a tag of this package: not its line
            if count and line.tag is not None:
                out.append(
                    f"- {pkg.name}: {branch}: {count} unreleased commit(s) since {line.tag}; release "
                    f"{line.next_patch()} with `release --package {pkg.name} --branch {branch}`"
                )
    return out
