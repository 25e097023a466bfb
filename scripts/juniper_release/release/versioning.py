"""Versions: strict parsing, the next version, and the bump's file edits (pyproject, __version__, CHANGELOG).

A bump is planned first (:func:`plan_bump` returns every file edit as old/new text), then shown as a unified diff
(``--dry-run``) or applied all-or-nothing (:func:`apply_edits`: temp files, then renames, restored on failure).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from shlex import quote

from packaging.version import Version

from juniper_release.conventions import CHANGELOG as CHANGELOG
from juniper_release.conventions import COMMIT_GROUPS as COMMIT_GROUPS
from juniper_release.conventions import changelog_section as changelog_section
from juniper_release.conventions import draft_notes as draft_notes
from juniper_release.conventions import unreleased_notes as unreleased_notes
from juniper_release.conventions import update_changelog as update_changelog
from juniper_release.ecosystem import lines, notes, tags
from juniper_release.ecosystem.groups import disagreeing, group_version
from juniper_release.ecosystem.model import Group
from juniper_release.ecosystem.paths import inside
from juniper_release.ecosystem.project import (
    VersionKind,
    find_module_version,
    lockstep_files,
    read_project,
    version_edits,
)
from juniper_release.ecosystem.registry import Package, Registry, require_checkout
from juniper_release.ecosystem.semver import PARTS as PARTS
from juniper_release.ecosystem.semver import PRE_LABELS as PRE_LABELS
from juniper_release.ecosystem.semver import VersionError as VersionError
from juniper_release.ecosystem.semver import next_version as next_version
from juniper_release.ecosystem.semver import parse_strict as parse_strict
from juniper_release.ecosystem.versions import set_literal_version as set_literal_version
from juniper_release.ecosystem.versions import set_pyproject_version as set_pyproject_version
from juniper_release.errors import GitError, JuniperError
from juniper_release.gitops import Git
from juniper_release.release import lockstep
from juniper_release.release.ceilings import escaped_ceilings
from juniper_release.release.edits import FileEdit as FileEdit
from juniper_release.release.edits import apply_edits as apply_edits

# --------------------------------------------------------------------------------------------------- changelog


def changelog_path(root: Path, where: str) -> Path:
    """``root``'s CHANGELOG.md, refused when a symlink leads it out of the checkout (never read, written or sent)."""
    fix = f"make {CHANGELOG} a plain file of the checkout (a symlink out of it is never read or written)"
    return root / inside(CHANGELOG, field=CHANGELOG, where=where, place="the checkout", base=root, fix=fix)


def release_notes(root: Path, version: Version | str) -> str:
    path = changelog_path(root, root.name)
    section = changelog_section(path.read_text(encoding="utf-8"), version) if path.is_file() else None
    return section or f"Release {version}.\n"


# --------------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class DependentChange:
    """A sibling whose requirement on the bumped package no longer admits the new version."""

    package: str
    extra: str | None
    old: str
    new: str


@dataclass
class BumpPlan:
    package: Package
    root: Path
    old: Version
    new: Version
    edits: list[FileEdit] = field(default_factory=list)
    dependents: list[DependentChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    vcs: str | None = None
    """For a version from git tags: the tool computing it (``hatch-vcs``); no file holds the version, the tag is it."""
    drafted: str = ""
    """The notes drafted from the commits since the release tag (what a CHANGELOG-less release publishes)."""
    notes_only: bool = False
    """The package keeps no changelog file (its notes are its GitHub Releases): the bump writes none."""
    group: str | None = None
    """A lockstep group's bump (:mod:`juniper_release.release.lockstep`): ``package`` is its first member, and the
    edits move every member (and the workspace's ``uv.lock``) together."""

    @property
    def subject(self) -> str:
        """What is bumped, for messages: the package, or ``group sdk``."""
        return f"group {self.group}" if self.group else self.package.name

    def diff(self, workspace: Path) -> str:
        return "".join(e.diff(workspace) for e in self.edits)


def _dependent_edits(
    registry: Registry, workspace: Path, pkg: Package, new: Version, rewrite: bool, together: Sequence[Package] = ()
) -> tuple[list[DependentChange], list[FileEdit]]:
    """The consumers whose pins ``new`` escapes, and (``rewrite``) their pyprojects with only the ceiling raised."""
    changes: list[DependentChange] = []
    edits: list[FileEdit] = []
    for found in escaped_ceilings(registry, workspace, pkg, new, together):
        for pin in found.pins:
            # Only the ceiling moves: the floor and every other specifier stay (a pin is left, and said so).
            shown = pin.new or f"{pin.old} (a pin: not rewritten)"
            changes.append(DependentChange(found.consumer.name, pin.extra, str(pin.old), shown))
        if rewrite:
            edits.append(FileEdit(found.pyproject, found.old_text, found.new_text))
    return changes, edits


def plan_bump(
    registry: Registry,
    workspace: Path,
    package: str,
    part: str | None = None,
    *,
    pre: str | None = None,
    to: str | None = None,
    update_dependents: bool = False,
    today: dt.date | None = None,
    changelog: bool = False,
    branch: str | None = None,
) -> BumpPlan:
    """Every edit a bump makes, computed without writing anything; a member of a lockstep group bumps every member
    (:func:`plan_group_bump`). ``changelog``: create a CHANGELOG.md for a package
    that keeps none; ``branch``: a maintenance line (the checkout must be on it; the version must be in the line)."""
    group = registry.group_of(package)
    if group is not None:
        return plan_group_bump(
            registry, workspace, group, part, pre=pre, to=to, update_dependents=update_dependents, today=today,
            changelog=changelog, branch=branch,
        )  # fmt: skip
    return plan_package_bump(
        registry, workspace, package, part, pre=pre, to=to, update_dependents=update_dependents, today=today,
        changelog=changelog, branch=branch,
    )  # fmt: skip


def plan_package_bump(
    registry: Registry,
    workspace: Path,
    package: str,
    part: str | None = None,
    *,
    pre: str | None = None,
    to: str | None = None,
    update_dependents: bool = False,
    today: dt.date | None = None,
    changelog: bool = False,
    branch: str | None = None,
    together: Sequence[Package] | None = (),
) -> BumpPlan:
    """Every edit the bump of one package makes, computed without writing anything. ``together``: the packages
    moving to the same version with it, whose consumers' ceilings this plan raises too (None: none at all)."""
    pkg = registry.get(package)
    root = require_checkout(pkg, workspace)
    project = read_project(pkg, root)
    # A version from git tags: the bump starts from the release tag, not the computed 1.6.1.dev3+g... in between.
    old = (
        project.module_target if project.is_vcs else parse_strict(project.raw_version, f"{project.pyproject}: version")
    )
    if to is not None:
        if part is not None:
            raise VersionError("both --part and --to given", "pass one of them")
        new = parse_strict(to, "--to")
    elif part is None:
        raise VersionError("no --part or --to given", f"pass --part {'|'.join(PARTS)} or --to X.Y.Z")
    else:
        new = next_version(old, part, pre)
    if new <= old:
        raise VersionError(f"{pkg.name}: {new} is not greater than the current {old}", "choose a higher version")
    if branch is not None:
        _check_line(pkg, root, branch, new)
    plan = BumpPlan(pkg, root, old, new, vcs=project.source.tool if project.is_vcs else None)
    if old.major == 0 and new.major == 0 and new.minor > old.minor:
        plan.warnings.append(
            f"{pkg.name} {old} -> {new} is a minor bump before 1.0: it may break consumers pinned to <0.{old.minor + 1}"
        )
    edited: set[Path] = set()
    for path, before, after in version_edits(project, new):  # the one version rule says which file holds it
        plan.edits.append(FileEdit(path, before, after))
        edited.add(path)
    for mod in pkg.imports[:1]:
        # Every literal __version__ of the module moves in lockstep (__init__.py, _version.py, version.py).
        for file, _ in lockstep_files(root, mod):
            if file not in edited:
                text = file.read_text(encoding="utf-8")
                plan.edits.append(FileEdit(file, text, set_literal_version(text, new, file.name)))
                edited.add(file)
        mv = find_module_version(root, mod)
        if mv.kind is VersionKind.MISSING and not project.is_vcs:
            plan.warnings.append(f"{pkg.name}: no __version__ found in {mod}; only pyproject.toml changes")
    git = Git(root)
    subjects: list[str] = []
    if Git(pkg.top_of(root)).is_repo():
        # offline: the highest tag at or below old
        since = tags.release_tag(git, pkg, old, None, registry.sibling_tag_formats(pkg))
        plan.warnings.extend(f"{pkg.name}: {w}" for w in since.warnings)
        # Only the package's own paths: a sibling sub-package's commits are not this release's notes.
        subjects = git.subjects_since(since.tag, registry.pathspec(pkg))
    _changelog_edit(plan, draft_notes(subjects), changelog, today)
    if together is not None:
        plan.dependents, dep_edits = _dependent_edits(registry, workspace, pkg, new, update_dependents, together)
        plan.edits.extend(dep_edits)
    return plan


def _changelog_edit(plan: BumpPlan, drafted: str, asked: bool, today: dt.date | None) -> None:
    """The CHANGELOG move, in the package's notes convention (:mod:`juniper_release.ecosystem.notes`): a Keep a
    Changelog CHANGELOG.md is moved; none is created unless ``asked`` (``--changelog``); a changelog in another
    format or news fragments are left to the project, said so."""
    pkg, root = plan.package, plan.root
    plan.drafted = drafted
    kind, where = notes.convention(pkg, root)
    if kind in {notes.Convention.OTHER, notes.Convention.FRAGMENTS} and not asked:
        shown = f"{where}/ (news fragments)" if kind is notes.Convention.FRAGMENTS else where
        plan.warnings.append(
            f"{pkg.name}: the project keeps its changes in {shown} (not a Keep a Changelog CHANGELOG.md): it is not "
            "edited; update it as the project does"
        )
        return
    if not notes.edits_changelog(pkg, root, asked=asked):
        plan.notes_only = True
        return
    path = changelog_path(root, pkg.name)
    old_log = path.read_text(encoding="utf-8") if path.is_file() else None
    date = (today or dt.date.today()).isoformat()
    plan.edits.append(FileEdit(path, old_log, update_changelog(old_log, plan.new, date, drafted)))


def _check_line(pkg: Package, root: Path, branch: str, new: Version) -> None:
    """A bump on a maintenance line: the checkout is on ``branch`` and ``new`` is in its line."""
    lines.check_branch_name(branch)
    git = Git(root)
    if git.branch() != branch:
        raise JuniperError(
            f"{pkg.name}: the checkout is on {git.branch()!r}, not on the maintenance branch {branch!r}",
            f"`git -C {quote(str(pkg.top_of(root)))} switch {quote(branch)}` first, then bump again",
        )
    lines.check_in_line(pkg, lines.resolve(git, pkg, branch), new)


def plan_group_bump(
    registry: Registry,
    workspace: Path,
    group: Group,
    part: str | None = None,
    *,
    pre: str | None = None,
    to: str | None = None,
    update_dependents: bool = False,
    today: dt.date | None = None,
    changelog: bool = False,
    branch: str | None = None,
) -> BumpPlan:
    """Every edit the bump of ``group`` makes (all members to one version), computed without writing anything.
    ``changelog`` and ``branch``: as :func:`~juniper_release.release.versioning.plan_bump`, for every member."""
    current = lockstep.current_versions(registry, workspace, group)
    old = group_version(current)
    assert old is not None
    apart = disagreeing(current)
    if to is not None:
        if part is not None:
            raise VersionError("both --part and --to given", "pass one of them")
        new = parse_strict(to, "--to")
    elif part is None:
        raise VersionError("no --part or --to given", "pass --part major|minor|patch|pre|release or --to X.Y.Z")
    elif apart:
        shown = ", ".join(f"{name} {v}" for name, v in apart.items())
        raise VersionError(
            f"group {group.name}: members declare different versions (the group is at {old}; {shown})",
            f"bring them together with --to X.Y.Z (above {max(current.values())})",
        )
    else:
        new = next_version(old, part, pre)
    # The first member's plan raises the consumers' ceilings on every member (each consumer read once).
    members = [registry.get(name) for name in group.members]
    plans = [
        plan_package_bump(
            registry,
            workspace,
            member.name,
            to=str(new),
            update_dependents=update_dependents,
            today=today,
            changelog=changelog,
            branch=branch,
            together=members[1:] if i == 0 else None,
        )
        for i, member in enumerate(members)
    ]
    first = plans[0]
    plan = BumpPlan(first.package, first.root, old, new, vcs=first.vcs, group=group.name)
    plan.notes_only = all(member.notes_only for member in plans)
    plan.drafted = next((member.drafted for member in plans if member.drafted), "")
    edits: list[FileEdit] = []
    for member in plans:
        # A member without a CHANGELOG keeps none (unless --changelog): the group's notes are where its members
        # keep theirs.
        edits += [e for e in member.edits if changelog or not (e.old is None and e.path.name == CHANGELOG)]
        plan.warnings += [w for w in member.warnings if w not in plan.warnings]
        plan.dependents += [d for d in member.dependents if d.package not in group.members]
    plan.edits = lockstep.merge_edits(edits)
    # uv.lock records no version of a member whose version is dynamic (git tags): only a file version moves it.
    lock = None if plan.vcs else lockstep.refreshed_lock(first.package.repo_dir(workspace), plan.edits, new)
    if lock is not None:
        plan.edits.append(lock)
    return plan


def check_clean(plan: BumpPlan, workspace: Path, registry: Registry) -> None:
    """Refuse to bump on a dirty tree (``--force`` skips this)."""
    roots = {plan.package.repo_dir(workspace)} | {registry.get(d.package).repo_dir(workspace) for d in plan.dependents}
    for root in sorted(roots):
        git = Git(root)
        if git.is_repo() and not git.is_clean():
            raise JuniperError(
                f"{root.name}: the working tree has uncommitted changes ({len(git.status_porcelain())} files)",
                "commit or stash them first, or pass --force to bump anyway",
            )


def check_tag_is_new(plan: BumpPlan, registry: Registry) -> None:
    """Refuse ``--tag`` for a version whose tag already exists, before any file is written or committed."""
    name = plan.package.tag_for(plan.new)
    if Git(plan.root).tag_exists(name):
        raise JuniperError(
            f"{plan.package.name}: tag {name} already exists; nothing was changed",
            f"choose another version, or delete the stale tag with `git -C {quote(str(plan.root))} tag -d {quote(name)}` if it was "
            "never pushed",
        )


def commit_and_tag(plan: BumpPlan, registry: Registry, workspace: Path, *, tag: bool) -> list[str]:
    """Commit the bump ("Bump <package> to X"), dependents' updates, and optionally the annotated tag."""
    done: list[str] = []
    by_root: dict[Path, list[str]] = {}
    # One commit per repository (packages sharing a repository share its commit), paths from the repository root.
    for edit in plan.edits:
        for root in dict.fromkeys(pkg.repo_dir(workspace) for pkg in registry.packages):
            if edit.path.is_relative_to(root) and str(edit.path.relative_to(root)) not in by_root.get(root, []):
                by_root.setdefault(root, []).append(str(edit.path.relative_to(root)))
    for root, files in by_root.items():
        git = Git(root)
        git.add(files)
        message = (
            f"Bump {plan.group or plan.package.name} to {plan.new}"
            if root == plan.package.repo_dir(workspace)
            else f"Allow {plan.group or plan.package.name} {plan.new} in {root.name}'s requirements"
        )
        git.run("commit", "-m", message, "--", *files)
        done.append(f"{root.name}: committed {message!r}")
    if tag:
        name = plan.package.tag_for(plan.new)
        git = Git(plan.root)
        if git.tag_exists(name):
            raise JuniperError(
                f"{plan.package.name}: tag {name} already exists",
                f"delete it with `git tag -d {quote(name)}` if it is stale",
            )
        git.tag_annotated(name, f"Release {plan.group or plan.package.name} {plan.new}")
        done.append(f"{plan.root.name}: tagged {name}")
    return done


def bump(
    registry: Registry,
    workspace: Path,
    package: str,
    part: str | None = None,
    *,
    pre: str | None = None,
    to: str | None = None,
    dry_run: bool = False,
    update_dependents: bool = False,
    commit: bool = False,
    tag: bool = False,
    force: bool = False,
    out: Callable[[str], None] = print,
    changelog: bool = False,
    branch: str | None = None,
) -> BumpPlan:
    """``invoke bump``: plan, check, then print the diff (dry run) or write atomically and commit/tag."""
    if tag and not commit:
        raise JuniperError("--tag needs --commit (the tag must point at the bump commit)", "add --commit")
    plan = plan_bump(
        registry,
        workspace,
        package,
        part,
        pre=pre,
        to=to,
        update_dependents=update_dependents,
        changelog=changelog,
        branch=branch,
    )
    tag = tag or (commit and plan.vcs is not None)  # a version from git tags exists only as its tag
    if commit and not dry_run:
        check_on_branch(plan, registry)
    if not force and not dry_run:
        check_clean(plan, workspace, registry)
    if tag:
        check_tag_is_new(plan, registry)
    for warning in plan.warnings:
        out(f"warning: {warning}")
    if plan.notes_only:
        out(
            f"{plan.package.name}: no CHANGELOG (its notes are its GitHub Releases, drafted from the commits at the "
            "release): none is created; pass --changelog to start one"
        )
    for dep in plan.dependents:
        where = f"[{dep.extra}] " if dep.extra else ""
        verb = "rewrite" if update_dependents else "no longer admits"
        out(
            f"dependent {dep.package}: {where}{dep.old} {verb} {plan.new}"
            + (f" -> {dep.new}" if update_dependents else "")
        )
    if plan.dependents and not update_dependents:
        out("  (pass --update-dependents to rewrite those specifiers)")
    vcs_note = (
        f"{plan.subject}: the version comes from git tags ({plan.vcs}): no version file is edited; the release "
        f"commit is the CHANGELOG move, and the annotated tag {plan.package.tag_for(plan.new)} is the version"
        if plan.vcs
        else None
    )
    if dry_run:
        out(plan.diff(workspace))
        if vcs_note:
            out(vcs_note + " (--commit makes both)")
        out(f"dry run: {plan.subject} {plan.old} -> {plan.new}; nothing was written")
        return plan
    apply_edits(plan.edits)
    out(f"{plan.subject}: {plan.old} -> {plan.new} ({len(plan.edits)} files written)")
    if vcs_note:
        out(
            vcs_note
            + ("" if commit else "; pass --commit to make them (until the tag exists the version is unchanged)")
        )
    if commit:
        for line in commit_and_tag(plan, registry, workspace, tag=tag):
            out(line)
        if plan.vcs:
            _check_tag_maps(plan)
    return plan


def check_on_branch(plan: BumpPlan, registry: Registry) -> None:
    """A bump commit needs a branch: on a detached HEAD it would belong to none, and the release's later fix
    (``git switch main``) would leave it behind. Refused before anything is written."""
    git = Git(plan.root)
    if git.branch() == "HEAD":
        main = registry.branch
        raise GitError(
            f"{plan.package.name}: HEAD is detached (at {git.head()[:8]}); --commit would make a commit on no branch",
            f"`git switch {quote(main)}` first (or `git switch -c <new-branch>` to keep this commit's line), then bump again",
        )


def _check_tag_maps(plan: BumpPlan) -> None:
    """The version scheme reads the new tag as the new version (``v1.7.0rc1`` is ``1.7.0rc1``); else the tag this
    bump just made (never pushed) is removed again and the error names the tag format to fix."""
    got = read_project(plan.package, plan.root).version
    if got == plan.new:
        return
    name = plan.package.tag_for(plan.new)
    Git(plan.root).run("tag", "-d", name)
    raise JuniperError(
        f"{plan.package.name}: {plan.vcs} reads the new tag {name} as {got}, not {plan.new}; the tag was removed "
        "(the bump commit stays)",
        f"make the registry's tag_format for {plan.package.name} match the project's tag pattern, then tag again: "
        f"git tag -a {quote(name)} -m 'Release {plan.package.name} {plan.new}'",
    )
