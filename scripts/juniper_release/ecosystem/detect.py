"""``invoke detect``: which packages have release-worthy changes, with the evidence, and the bump they call for.

Per package:

- Baseline: the released version and its release tag, from the status matrix
  (:func:`juniper_release.ecosystem.status.collect`: the index by its rule, the tag by
  :func:`juniper_release.ecosystem.tags.release_tag`). A release without its tag, or any other status anomaly, is
  ``anomaly``. When the index cannot be read (or offline, or in the sandbox) the tags stand in for it.
- Diff: from that tag to ``origin/<branch>`` after ``git fetch``; offline (``--offline``, no ``origin``, or a fetch
  that fails) to the local ``HEAD``, and the output says so.
- Classes: every changed file of the package's own paths, by :mod:`juniper_release.ecosystem.changes`, with the
  commits that touched it.
- Bump: the largest of three pieces of evidence: the public API diff (:mod:`juniper_release.ecosystem.apidiff`:
  breaking, feature, or internal, which asks for a patch), the conventional-commit classes of those commits
  (``feat``, ``fix``, ``!`` or ``BREAKING CHANGE``) and the CHANGELOG's ``[Unreleased]`` categories; before 1.0 a
  breaking change or a feature is ``minor`` and a fix ``patch``, from 1.0 a breaking change is ``major`` (the
  package's ``breaking_bump`` may say ``major`` or ``minor`` instead). The table says which evidence decided. When
  the commits and the CHANGELOG disagree (or code ships with an empty ``[Unreleased]``) a changelog conflict is
  flagged next to the bump; when they claim less than the API shows, an understated bump is flagged: the bump is
  still proposed from the evidence, the API's level included.

A lockstep group (``[[group]]``) moves as one: its bump is the largest of its members' bumps, proposed for every
member with something to release, from the group's baseline; every member's notes name the group's bump.

States (:class:`Finding`): ``release-worthy``, ``changelog conflict``, ``shipped nothing`` (only cosmetic, tests,
docs, CI or other files changed), ``up to date``, ``anomaly`` and ``missing`` (a sub-package this checkout lacks).
Exit 1 when anything is release-worthy, conflicting or anomalous, else 0 (2: an error, raised).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from pathlib import Path
from shlex import quote
from typing import Any

from packaging.version import InvalidVersion, Version

from juniper_release.conventions import CHANGELOG, changelog_section
from juniper_release.conventions import CONVENTIONAL_COMMIT as _CC_RE
from juniper_release.ecosystem import apidiff, changes, lines, status
from juniper_release.ecosystem.apidiff import ApiDiff
from juniper_release.ecosystem.changes import Changes
from juniper_release.ecosystem.notes import Convention, Notes, describe, pending_in
from juniper_release.ecosystem.registry import Package, Registry
from juniper_release.ecosystem.semver import next_version
from juniper_release.errors import GitError
from juniper_release.gitops import Git
from juniper_release.offline import Offline


class Finding(StrEnum):
    """What ``invoke detect`` says about one package."""

    RELEASE_WORTHY = "release-worthy"
    CHANGELOG_CONFLICT = "changelog conflict"
    SHIPPED_NOTHING = "shipped nothing"
    UP_TO_DATE = "up to date"
    ANOMALY = "anomaly"
    MISSING = "missing"


TO_RELEASE = frozenset({Finding.RELEASE_WORTHY, Finding.CHANGELOG_CONFLICT, Finding.ANOMALY})
"""The findings ``invoke detect`` exits 1 for."""


class Level(IntEnum):
    """How much a change asks of the version."""

    NONE = 0
    FIX = 1
    FEATURE = 2
    BREAKING = 3


LEVEL_NAMES = {Level.NONE: None, Level.FIX: "fix", Level.FEATURE: "feature", Level.BREAKING: "breaking"}

API_LEVELS = {apidiff.BREAKING: Level.BREAKING, apidiff.FEATURE: Level.FEATURE, apidiff.INTERNAL: Level.FIX}
"""What the API diff's level asks of the version (internal: a patch)."""

CHANGELOG_LEVELS = {
    "removed": Level.BREAKING,
    "breaking changes": Level.BREAKING,
    "breaking": Level.BREAKING,
    "added": Level.FEATURE,
    "changed": Level.FEATURE,
    "deprecated": Level.FEATURE,
    "features": Level.FEATURE,
    "fixed": Level.FIX,
    "security": Level.FIX,
    "bug fixes": Level.FIX,
    "performance": Level.FIX,
}
"""``[Unreleased]`` ``###`` categories (Keep a Changelog's and the drafted notes' headings) and what they ask for;
other headings (Documentation, Tests, ...) ask for nothing."""

_BREAKING_RE = re.compile(r"^BREAKING[ -]CHANGE:", re.MULTILINE)
_HEADING_RE = re.compile(r"^###\s+(.+?)\s*$", re.MULTILINE)
_ITEM_RE = re.compile(r"^\s*[-*]\s+\S", re.MULTILINE)


@dataclass(frozen=True)
class Commit:
    """A commit since the baseline: short sha, subject, and the level its conventional-commit type asks for."""

    sha: str
    subject: str
    level: Level

    def as_dict(self) -> dict[str, Any]:
        return {"sha": self.sha, "subject": self.subject, "level": LEVEL_NAMES[self.level]}


@dataclass(frozen=True)
class Bump:
    """The proposed bump (None: nothing to release), what each source asked for, and a changelog conflict."""

    part: str | None
    next_version: str | None
    from_commits: Level
    from_changelog: Level
    changelog_categories: tuple[str, ...]
    conflict: str | None = None
    from_api: Level = Level.NONE
    decided_by: str | None = None
    """Which evidence decided the bump: ``api``, ``commits``, ``changelog``, or ``files`` (only a patch's floor)."""
    understated: str | None = None
    """The commits or the CHANGELOG claim less than the API shows."""

    def shown(self) -> str:
        if self.part is None:
            return "-"
        text = f"{self.part} -> {self.next_version}" if self.next_version else self.part
        text = f"{text} (changelog conflict)" if self.conflict else text
        return f"{text} (understated)" if self.understated else text

    def as_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "next_version": self.next_version,
            "from_commits": LEVEL_NAMES[self.from_commits],
            "from_changelog": LEVEL_NAMES[self.from_changelog],
            "changelog_categories": list(self.changelog_categories),
            "changelog_conflict": self.conflict,
            "from_api": LEVEL_NAMES[self.from_api],
            "decided_by": self.decided_by,
            "understated": self.understated,
        }


NO_BUMP = Bump(None, None, Level.NONE, Level.NONE, ())


@dataclass(frozen=True)
class Detection:
    """One package's finding with its evidence."""

    package: str
    layer: int
    state: Finding
    released: str | None
    tag: str | None
    target: str
    target_commit: str | None = None
    local_head: bool = False
    changes: Changes | None = None
    commits: tuple[Commit, ...] = ()
    class_commits: dict[str, tuple[Commit, ...]] = field(default_factory=dict)
    bump: Bump = NO_BUMP
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    api: ApiDiff | None = None

    def summary(self) -> str:
        """``code 2, tests 1`` (release-worthy classes first)."""
        if self.changes is None:
            return "-"
        return ", ".join(f"{cls} {len(files)}" for cls, files in self.changes.by_class().items()) or "none"

    def row(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "layer": self.layer,
            "baseline": self.released or "-",
            "tag": self.tag or "-",
            "target": "HEAD (local)" if self.local_head else self.target,
            "changes": self.summary(),
            "bump": self.bump.shown(),
            "evidence": self.bump.decided_by or "-",
            "state": str(self.state),
        }

    def as_dict(self) -> dict[str, Any]:
        """The package's entry in the manifest: baseline, target, every class with its files and commits."""
        classes: dict[str, Any] = {}
        for cls, files in (self.changes.by_class() if self.changes else {}).items():
            classes[str(cls)] = {
                "release_worthy": cls in changes.RELEASE_WORTHY,
                "files": [{"path": f.path, "status": f.status, "detail": f.detail or None} for f in files],
                "commits": [c.as_dict() for c in self.class_commits.get(str(cls), ())],
            }
        return {
            "package": self.package,
            "layer": self.layer,
            "state": str(self.state),
            "baseline": {"released": self.released, "tag": self.tag},
            "target": {"ref": self.target, "commit": self.target_commit, "local_head": self.local_head},
            "bump": self.bump.as_dict(),
            "api": self.api.as_dict() if self.api else None,
            "classes": classes,
            "commits": [c.as_dict() for c in self.commits],
            "reasons": list(self.reasons),
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------------- the bump


def commit_level(subject: str, body: str = "") -> Level:
    """What a conventional commit asks for: ``!`` or a ``BREAKING CHANGE:`` footer, ``feat``, ``fix``, else none."""
    m = _CC_RE.match(subject)
    if (m and m.group("bang")) or _BREAKING_RE.search(body):
        return Level.BREAKING
    if m is None:
        return Level.NONE
    return {"feat": Level.FEATURE, "fix": Level.FIX}.get(m.group("type"), Level.NONE)


def changelog_categories(text: str | None) -> tuple[Level, tuple[str, ...]]:
    """The level the ``[Unreleased]`` section asks for and its categories that hold entries (``Removed``,
    ``Fixed``); an entry outside any category asks for a fix."""
    section = changelog_section(text, "Unreleased") if text else None
    if not section or not section.strip():
        return Level.NONE, ()
    parts = _HEADING_RE.split("\n" + section)
    found: list[str] = []
    level = Level.FIX if _ITEM_RE.search(parts[0]) else Level.NONE
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        if _ITEM_RE.search(body):
            found.append(heading)
            level = max(level, CHANGELOG_LEVELS.get(heading.lower(), Level.NONE))
    return level, tuple(found)


PARTS = (None, "patch", "minor", "major")
"""The bumps, smallest first."""


def bump_part(level: Level, version: Version | None, policy: str = "auto") -> str | None:
    """The bump ``level`` calls for at ``version``: before 1.0 a breaking change or a feature is minor. A package's
    ``breaking_bump`` policy (``major``, ``minor``) overrides ``auto`` for a breaking change."""
    if level is Level.NONE:
        return None
    if level is Level.FIX:
        return "patch"
    if level is Level.BREAKING and policy in {"major", "minor"}:
        return policy
    major = version.major if version is not None else 0
    return "major" if level is Level.BREAKING and major >= 1 else "minor"


def notes_level(pending: Notes | None, changelog: str | None = None) -> tuple[Level, tuple[str, ...]]:
    """What the pending notes ask for, in their convention: Keep a Changelog's ``[Unreleased]`` categories, the
    towncrier fragments' types, an item in another format's unreleased section (a fix); GitHub Releases: nothing."""
    if pending is None or pending.convention is Convention.KEEPACHANGELOG:
        return changelog_categories(changelog)
    if pending.convention is Convention.FRAGMENTS:
        levels = {"breaking": Level.BREAKING, "feature": Level.FEATURE, "fix": Level.FIX}
        return max((levels[a] for a in pending.asks), default=Level.NONE), pending.asks
    return (Level.FIX, ()) if pending.pending else (Level.NONE, ())


def api_level(diff: ApiDiff | None, code_changed: bool) -> Level:
    """What the API diff asks for (nothing without a diff, or when it could not be read)."""
    if diff is None or diff.error:
        return Level.NONE
    found = diff.level(code_changed)
    return API_LEVELS[found] if found else Level.NONE


def _decided_by(level: Level, api: Level, commits: Level, log: Level) -> str:
    return next((name for name, lv in (("api", api), ("commits", commits), ("changelog", log)) if lv == level), "files")


def _understated(api: Level, claimed: Level, diff: ApiDiff | None) -> str | None:
    if not claimed or api <= claimed or diff is None:
        return None
    shown = [c.line().split(": ", 1)[1] for c in diff.of(LEVEL_NAMES[api] or "")][:3]
    return (
        f"the commits and the CHANGELOG claim a {LEVEL_NAMES[claimed]}, the API shows a {LEVEL_NAMES[api]} change"
        f" ({'; '.join(shown)})"
    )


def propose(
    commits: Sequence[Commit],
    changelog: str | None,
    version: Version | None,
    release_worthy: bool,
    pending: Notes | None = None,
    api: ApiDiff | None = None,
    *,
    code_changed: bool = False,
    policy: str = "auto",
) -> Bump:
    """The bump from the largest of the API's, the commits' and the notes' levels (at least a patch when something
    ships), with a changelog conflict when the last two disagree or something ships with empty notes, where the
    package's notes convention has a place for them (``pending``; None: a Keep a Changelog ``changelog`` text), and an
    understated bump when they claim less than the API shows. A package whose notes are its GitHub Releases never has
    a changelog conflict: its notes are drafted from the commits."""
    from_commits = max((c.level for c in commits), default=Level.NONE)
    from_log, categories = notes_level(pending, changelog)
    from_api = api_level(api, code_changed) if release_worthy else Level.NONE
    level = max(from_api, from_commits, from_log, Level.FIX if release_worthy else Level.NONE)
    conflict = None
    keep = pending is None or pending.convention is Convention.KEEPACHANGELOG
    if release_worthy and keep and not categories:
        conflict = "release-worthy changes but the CHANGELOG's [Unreleased] is empty"
    elif release_worthy and not keep and pending is not None and pending.empty:
        conflict = f"release-worthy changes but {pending.empty}"
    elif from_commits and from_log and from_commits != from_log and categories:
        where = "[Unreleased]" if keep else f"the news fragments in {pending.where if pending else ''}/"
        conflict = (
            f"{where} ({', '.join(categories)}) asks for a {LEVEL_NAMES[from_log]} bump, "
            f"the commits for a {LEVEL_NAMES[from_commits]} one"
        )
    if not release_worthy:
        return Bump(None, None, from_commits, from_log, categories)
    part = bump_part(level, version, policy)
    upcoming = str(next_version(version, part)) if part and version is not None else None
    decided = _decided_by(level, from_api, from_commits, from_log)
    understated = _understated(from_api, max(from_commits, from_log), api)
    return Bump(part, upcoming, from_commits, from_log, categories, conflict, from_api, decided, understated)


# --------------------------------------------------------------------------------------------------- git


def commits_between(git: Git, base: str | None, target: str, paths: Sequence[str] = ()) -> tuple[Commit, ...]:
    """The commits after ``base`` up to ``target`` touching ``paths``, newest first (bumps and merges left out)."""
    rng = f"{base}..{target}" if base else target
    out = git.run("log", "--format=%h%x00%s%x00%b%x1e", rng, *(("--", *paths) if paths else ()), strip=False)
    found: list[Commit] = []
    for record in out.split("\x1e"):
        fields = record.strip("\n").split("\x00")
        if len(fields) < 3 or fields[1].startswith(("Bump ", "Merge ")):
            continue
        found.append(Commit(fields[0], fields[1], commit_level(fields[1], fields[2])))
    return tuple(found)


def diff_target(git: Git, branch: str, *, fetch: bool) -> tuple[str, str | None]:
    """The revision to compare with: ``origin/<branch>`` after a fetch, else ``HEAD`` and why."""
    if not fetch:
        return (
            "HEAD",
            f"offline: no fetch, no index (the tags stand in): compared with the local HEAD, not origin/{branch}",
        )
    if git.remote_url() is None:
        return "HEAD", "no remote 'origin': compared with the local HEAD"
    try:
        git.fetch()
    except (GitError, Offline) as exc:
        return "HEAD", f"offline: git fetch failed ({exc.what}); compared with the local HEAD, not origin/{branch}"
    if not git.ok("rev-parse", "-q", "--verify", f"refs/remotes/origin/{branch}^{{commit}}"):
        return "HEAD", f"origin has no branch {branch!r}: compared with the local HEAD"
    return f"origin/{branch}", None


# --------------------------------------------------------------------------------------------------- per package


def _released(row: status.StatusRow, pkg: Package) -> Version | None:
    """The baseline version: the index's release, else (index unknown or the tags standing in) the tag's."""
    if row.pypi_version not in (None, status.UNKNOWN):
        try:
            return Version(str(row.pypi_version))
        except InvalidVersion:
            return None
    return pkg.version_from_tag(row.latest_tag) if row.latest_tag else None


def _text_at(git: Git, rev: str, prefix: str, name: str) -> str | None:
    path = f"{prefix}{name}"
    return git.run("show", f"{rev}:{path}", strip=False) if git.ok("cat-file", "-e", f"{rev}:{path}") else None


def _pending_at(pkg: Package, git: Git, rev: str, prefix: str) -> Notes:
    """The package's pending notes at ``rev``, in its convention (:mod:`juniper_release.ecosystem.notes`)."""
    listed = git.run("ls-tree", "-r", "--name-only", rev, "--", f":(top){prefix}" if prefix else ":(top)")
    names = [n[len(prefix) :] for n in listed.splitlines() if n.startswith(prefix)]
    return pending_in(pkg, names, lambda rel: _text_at(git, rev, prefix, rel))


def _class_commits(git: Git, found: Changes, base: str | None, target: str) -> dict[str, tuple[Commit, ...]]:
    """{class: the commits that touched its files}."""
    out: dict[str, tuple[Commit, ...]] = {}
    for cls, files in found.by_class().items():
        paths = [f":(top){found.prefix}{f.path}" for f in files]
        out[str(cls)] = commits_between(git, base, target, paths)
    return out


def _finding(row: status.StatusRow, found: Changes, bump: Bump) -> Finding:
    if row.state is status.State.ANOMALY:
        return Finding.ANOMALY
    if found.release_worthy:
        return Finding.CHANGELOG_CONFLICT if bump.conflict else Finding.RELEASE_WORTHY
    return Finding.SHIPPED_NOTHING if found.files else Finding.UP_TO_DATE


def detect_package(
    registry: Registry, pkg: Package, row: status.StatusRow, root: Path, target: tuple[str, str | None]
) -> Detection:
    """One package's detection from its status row, its directory ``root`` and the revision to compare with (and
    why it is the local HEAD, when it is)."""
    ref, why = target
    found_version, tag = _released(row, pkg), row.latest_tag
    released = str(found_version) if found_version else None
    notes = [why] if why else []
    if row.state is status.State.UNKNOWN:
        notes.append(f"{'; '.join(row.reasons)}: the release tag stands in for the index")
    reasons = row.reasons if row.state is status.State.ANOMALY else ()
    if row.state is status.State.MISSING:
        return Detection(row.package, row.layer, Finding.MISSING, None, None, ref, reasons=row.reasons)
    if tag is None and released is not None:  # a release without its tag: nothing to diff from
        return Detection(row.package, row.layer, Finding.ANOMALY, released, None, ref, reasons=reasons)
    git = Git(root)
    found = changes.changed_files(registry, pkg, git, tag, ref)
    commits = commits_between(git, tag, ref, registry.pathspec(pkg))
    changelog = _text_at(git, ref, found.prefix, CHANGELOG)
    pending = _pending_at(pkg, git, ref, found.prefix)
    if pending.convention is not Convention.KEEPACHANGELOG:
        notes.append(f"release notes: {describe(pending)}")
    api = (
        apidiff.api_diff(pkg, git, tag, ref, prefix=found.prefix) if tag is not None and found.release_worthy else None
    )
    if api is not None and api.error:
        notes.append(f"no API evidence: {api.error}")
    code = any(f.cls is changes.FileClass.CODE for f in found.files)
    bump = propose(
        commits,
        changelog,
        found_version,
        found.release_worthy,
        pending,
        api,
        code_changed=code,
        policy=pkg.breaking_bump,
    )
    if tag is None:
        notes.append("never released: every file is new")
    return Detection(
        package=row.package,
        layer=row.layer,
        state=_finding(row, found, bump),
        released=released,
        tag=tag,
        target=ref,
        target_commit=git.run("rev-parse", "--short", ref),
        local_head=ref == "HEAD",
        changes=found,
        commits=commits,
        class_commits=_class_commits(git, found, tag, ref),
        bump=bump,
        reasons=reasons,
        notes=tuple(notes),
        api=api,
    )


def line_target(git: Git, branch: str, *, fetch: bool) -> tuple[str, str | None]:
    """The revision of a maintenance branch to compare with: ``origin/<branch>`` after a fetch, else the local
    branch (and why)."""
    why = None
    if fetch and git.remote_url() is not None:
        try:
            git.fetch()
        except (GitError, Offline) as exc:
            why = f"offline: git fetch failed ({exc.what})"
        if why is None and git.ok("rev-parse", "-q", "--verify", f"refs/remotes/origin/{branch}^{{commit}}"):
            return f"origin/{branch}", None
    if git.ok("rev-parse", "-q", "--verify", f"refs/heads/{branch}^{{commit}}"):
        return branch, why or f"compared with the local branch {branch}, not origin/{branch}"
    if git.ok("rev-parse", "-q", "--verify", f"refs/remotes/origin/{branch}^{{commit}}"):
        return f"origin/{branch}", why or f"origin/{branch} as last fetched"
    raise GitError(
        f"{git.root.name}: branch {branch!r} exists neither here nor on origin",
        f"`git -C {quote(str(git.root))} fetch origin`, or check the name (maintenance branches are release/X.Y)",
    )


def detect_line(
    registry: Registry, pkg: Package, row: status.StatusRow, root: Path, target: tuple[str, str | None], branch: str
) -> Detection:
    """One package's detection on a maintenance branch: the baseline is the newest tag reachable from the branch,
    the bump the line's next patch; what ``main`` released since is neither an anomaly nor a conflict here."""
    ref, why = target
    if row.state is status.State.MISSING:
        return Detection(row.package, row.layer, Finding.MISSING, None, None, ref, reasons=row.reasons)
    git = Git(root)
    line = lines.resolve(git, pkg, branch, ref)
    found = changes.changed_files(registry, pkg, git, line.tag, ref)
    commits = commits_between(git, line.tag, ref, registry.pathspec(pkg))
    pending = _pending_at(pkg, git, ref, found.prefix)
    api = (
        apidiff.api_diff(pkg, git, line.tag, ref, prefix=found.prefix)
        if line.tag is not None and found.release_worthy
        else None
    )
    code = any(f.cls is changes.FileClass.CODE for f in found.files)
    changelog = _text_at(git, ref, found.prefix, CHANGELOG)
    proposed = propose(
        commits,
        changelog,
        line.version,
        found.release_worthy,
        pending,
        api,
        code_changed=code,
        policy=pkg.breaking_bump,
    )
    notes = [why] if why else []
    notes.append(f"maintenance line {line.name} ({branch}): baseline {line.tag or 'none'}; releases are patches")
    if api is not None and api.error:
        notes.append(f"no API evidence: {api.error}")
    if proposed.from_api > Level.FIX:
        notes.append(
            f"the API shows a {LEVEL_NAMES[proposed.from_api]} change on {branch}: a maintenance line releases patches "
            "only; move the change to the main branch"
        )
    if proposed.from_commits > Level.FIX:
        notes.append(f"a {LEVEL_NAMES[proposed.from_commits]} commit on {branch}: the line still releases a patch")
    if proposed.part is not None:
        proposed = replace(proposed, part="patch", next_version=str(line.next_patch()))
    state = _finding(replace(row, state=status.State.UP_TO_DATE), found, proposed)
    return Detection(
        package=row.package,
        layer=row.layer,
        state=state,
        released=str(line.version) if line.version else None,
        tag=line.tag,
        target=ref,
        target_commit=git.run("rev-parse", "--short", ref),
        changes=found,
        commits=commits,
        class_commits=_class_commits(git, found, line.tag, ref),
        bump=proposed,
        notes=tuple(notes),
    )
