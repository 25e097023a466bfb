"""Versions: strict parsing, the next version, and the bump's file edits (pyproject, __version__, CHANGELOG).

A bump is planned first (:func:`plan_bump` returns every file edit as old/new text), then shown as a unified diff
(``--dry-run``) or applied all-or-nothing (:func:`apply_edits`: temp files, then renames, restored on failure).
"""

from __future__ import annotations

import ast
import datetime as dt
import errno
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit
from packaging.version import InvalidVersion, Version

from juniper_release.ecosystem import tags
from juniper_release.ecosystem.project import (
    VersionKind,
    find_module_version,
    lockstep_files,
    read_project,
)
from juniper_release.ecosystem.registry import Package, Registry, require_checkout
from juniper_release.ecosystem.versions import version_edits
from juniper_release.errors import GitError, JuniperError
from juniper_release.files import unified_diff
from juniper_release.gitops import Git
from juniper_release.release.ceilings import escaped_ceilings

PARTS = ("major", "minor", "patch", "pre", "release")
PRE_LABELS = ("a", "b", "rc")
CHANGELOG = "CHANGELOG.md"

# Conventional-commit types and the CHANGELOG heading each is grouped under (in this order).
COMMIT_GROUPS = {
    "feat": "Features",
    "fix": "Bug fixes",
    "perf": "Performance",
    "docs": "Documentation",
    "refactor": "Refactoring",
    "build": "Build",
    "ci": "CI",
    "test": "Tests",
    "chore": "Chores",
}
_CC_RE = re.compile(r"^(?P<type>[a-z]+)(\([^)]*\))?(?P<bang>!)?:\s*(?P<desc>.+)$")
_UNRELEASED_RE = re.compile(r"^## \[Unreleased\][^\n]*$", re.MULTILINE | re.IGNORECASE)
_SECTION_RE = re.compile(r"^## ", re.MULTILINE)


class VersionError(JuniperError):
    """A version is invalid, not normalized, or not an increase."""


def parse_strict(text: str, where: str = "version") -> Version:
    """A PEP 440 version that is already normalized and has X.Y.Z (so "1.0", "v1.2.3", "01.2.3" are errors)."""
    try:
        version = Version(text)
    except InvalidVersion:
        raise VersionError(
            f"{where} {text!r} is not a valid PEP 440 version", "write it like 1.2.3 or 1.2.3rc1"
        ) from None
    if str(version) != text or len(version.release) != 3 or version.local or version.epoch:
        raise VersionError(
            f"{where} {text!r} is not a normalized X.Y.Z version",
            f"write {_normalized_hint(version)} (no 'v' prefix, leading zeros, epoch or local part)",
        )
    return version


def _normalized_hint(version: Version) -> str:
    release = (*version.release, 0, 0)[:3]
    base = ".".join(str(p) for p in release)
    if version.pre:
        base += f"{version.pre[0]}{version.pre[1]}"
    return base


def next_version(current: Version, part: str, pre: str | None = None) -> Version:
    """The version after ``current`` for ``part``; ``pre`` (a/b/rc) makes major/minor/patch a pre-release."""
    if part not in PARTS:
        raise VersionError(f"unknown bump part {part!r}", f"use one of: {', '.join(PARTS)}")
    if pre is not None and pre not in PRE_LABELS:
        raise VersionError(f"unknown pre-release label {pre!r}", f"use one of: {', '.join(PRE_LABELS)}")
    major, minor, patch = (*current.release, 0, 0)[:3]
    if part == "release":
        if not current.is_prerelease:
            raise VersionError(f"{current} is not a pre-release", "use --part major|minor|patch for a final version")
        return Version(f"{major}.{minor}.{patch}")
    if part == "pre":
        if current.pre is None:
            return Version(f"{major}.{minor}.{patch + 1}{pre or 'rc'}1")
        label, num = current.pre
        want = pre or label
        if PRE_LABELS.index(want) < PRE_LABELS.index(label):
            raise VersionError(
                f"cannot go from {current} back to a {want!r} pre-release", f"use --pre {label} or a later label"
            )
        return Version(f"{major}.{minor}.{patch}{want}{num + 1 if want == label else 1}")
    if part == "major":
        base = f"{major + 1}.0.0"
    elif part == "minor":
        base = f"{major}.{minor + 1}.0"
    else:
        base = f"{major}.{minor}.{patch if current.is_prerelease and pre is None else patch + 1}"
    return Version(f"{base}{pre}1" if pre else base)


# --------------------------------------------------------------------------------------------------- edits


@dataclass(frozen=True)
class FileEdit:
    """One file's full old and new text (``old`` None for a new file)."""

    path: Path
    old: str | None
    new: str

    def diff(self, base: Path | None = None) -> str:
        name = str(self.path.relative_to(base)) if base and self.path.is_relative_to(base) else str(self.path)
        return unified_diff(self.old, self.new, name)


def apply_edits(edits: Sequence[FileEdit]) -> None:
    """Write every edit or none: temp files first, then renames; on any failure the originals are restored."""
    temps: list[tuple[FileEdit, Path]] = []
    try:
        for edit in edits:
            # A read-only file would still be replaced by the rename below: refuse it like a failed write.
            if edit.path.exists() and not os.access(edit.path, os.W_OK):
                raise PermissionError(errno.EACCES, "Permission denied", str(edit.path))
            tmp = edit.path.with_name(f".{edit.path.name}.juniper-tmp")
            tmp.write_text(edit.new, encoding="utf-8")
            if edit.path.exists():
                os.chmod(tmp, edit.path.stat().st_mode & 0o7777)
            temps.append((edit, tmp))
    except OSError as exc:
        for _, tmp in temps:
            tmp.unlink(missing_ok=True)
        raise JuniperError(
            f"could not write {exc.filename}: {exc.strerror}", "check permissions; nothing was changed"
        ) from None
    done: list[FileEdit] = []
    try:
        for edit, tmp in temps:
            os.replace(tmp, edit.path)
            done.append(edit)
    except OSError as exc:
        for edit in done:
            if edit.old is None:
                edit.path.unlink(missing_ok=True)
            else:
                edit.path.write_text(edit.old, encoding="utf-8")
        for _, tmp in temps:
            tmp.unlink(missing_ok=True)
        raise JuniperError(
            f"could not replace {exc.filename}: {exc.strerror}", "check permissions; every file was restored"
        ) from None


def set_pyproject_version(text: str, version: Version) -> str:
    """``text`` with ``[project].version`` replaced, every other byte unchanged (tomlkit)."""
    doc = tomlkit.parse(text)
    project = doc.get("project")
    if project is None or "version" not in project:
        raise VersionError("pyproject.toml has no static [project].version", "declare version = 'X.Y.Z'")
    project["version"] = str(version)
    return tomlkit.dumps(doc)


def set_literal_version(text: str, version: Version, filename: str = "__init__.py", name: str = "__version__") -> str:
    """``text`` with the ``name`` (``__version__``) string literal replaced (located with ast, so nothing else
    moves)."""
    tree = ast.parse(text)
    names = {name} | ({"version", "VERSION"} if name == "__version__" and filename == "_version.py" else set())
    lines = text.splitlines(keepends=True)
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            continue
        if any(isinstance(t, ast.Name) and t.id in names for t in targets) and value.lineno == value.end_lineno:
            i = value.lineno - 1
            line = lines[i].encode("utf-8")
            start, end = value.col_offset, value.end_col_offset or value.col_offset
            quote = line[start : start + 1].decode()
            lines[i] = (line[:start] + f"{quote}{version}{quote}".encode() + line[end:]).decode("utf-8")
            return "".join(lines)
    raise VersionError(f"{filename}: no single-line {name} string literal", f"write {name} = 'X.Y.Z'")


# --------------------------------------------------------------------------------------------------- changelog


def draft_notes(subjects: Sequence[str]) -> str:
    """Release notes from conventional-commit subjects, grouped by type (breaking changes first)."""
    groups: dict[str, list[str]] = {}
    for subject in subjects:
        if subject.startswith(("Bump ", "Merge ")):
            continue
        m = _CC_RE.match(subject)
        if m and m.group("bang"):
            heading = "Breaking changes"
        elif m:
            heading = COMMIT_GROUPS.get(m.group("type"), "Other")
        else:
            heading = "Other"
        desc = m.group("desc") if m else subject
        groups.setdefault(heading, []).append(desc[:1].upper() + desc[1:])
    order = ["Breaking changes", *COMMIT_GROUPS.values(), "Other"]
    parts = []
    for heading in order:
        if heading in groups:
            parts.append(f"### {heading}\n\n" + "".join(f"- {item}\n" for item in groups[heading]))
    return "\n".join(parts) if parts else "- No notable changes.\n"


def update_changelog(text: str | None, version: Version, date: str, drafted: str) -> str:
    """Move ``[Unreleased]`` to ``[version] - date`` (or use ``drafted`` when it is empty or missing)."""
    header = f"## [{version}] - {date}"
    if text is None:
        return f"# Changelog\n\n## [Unreleased]\n\n{header}\n\n{drafted.rstrip()}\n"
    m = _UNRELEASED_RE.search(text)
    if m is None:
        first = _SECTION_RE.search(text)
        at = first.start() if first else len(text)
        prefix = text[:at] if first else text.rstrip("\n") + "\n\n"
        return f"{prefix}## [Unreleased]\n\n{header}\n\n{drafted.rstrip()}\n\n{text[at:]}".rstrip("\n") + "\n"
    nxt = _SECTION_RE.search(text, m.end())
    body_end = nxt.start() if nxt else len(text)
    body = text[m.end() : body_end].strip("\n")
    notes = body if body.strip() else drafted.rstrip()
    rest = text[body_end:]
    out = f"{text[: m.start()]}## [Unreleased]\n\n{header}\n\n{notes}\n"
    return out + ("\n" + rest if rest else "")


def unreleased_notes(text: str) -> str | None:
    """The body of the ``## [Unreleased]`` section (empty when it has none), or None without the section."""
    m = _UNRELEASED_RE.search(text)
    if m is None:
        return None
    nxt = _SECTION_RE.search(text, m.end())
    return text[m.end() : nxt.start() if nxt else len(text)].strip("\n")


def changelog_section(text: str, version: Version | str) -> str | None:
    """The body of the ``## [version]`` section (the GitHub Release notes), or None."""
    m = re.search(rf"^## \[{re.escape(str(version))}\][^\n]*$", text, re.MULTILINE)
    if m is None:
        return None
    nxt = _SECTION_RE.search(text, m.end())
    return text[m.end() : nxt.start() if nxt else len(text)].strip("\n") + "\n"


def release_notes(root: Path, version: Version | str) -> str:
    path = root / CHANGELOG
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
) -> BumpPlan:
    """Every edit a bump makes, computed without writing anything; a member of a lockstep group bumps every member
    (:func:`juniper_release.release.lockstep.plan_group_bump`)."""
    group = registry.group_of(package)
    if group is not None:
        from juniper_release.release.lockstep import plan_group_bump

        return plan_group_bump(
            registry, workspace, group, part, pre=pre, to=to, update_dependents=update_dependents, today=today
        )
    return plan_package_bump(
        registry, workspace, package, part, pre=pre, to=to, update_dependents=update_dependents, today=today
    )


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
    drafted = draft_notes(subjects)
    path = root / CHANGELOG
    other = None if path.is_file() else _other_changelog(root)
    if other is not None:
        plan.warnings.append(
            f"{pkg.name}: the project keeps its changes in {other} (not a Keep a Changelog CHANGELOG.md): it is not "
            "edited; update it as the project does"
        )
    else:
        old_log = path.read_text(encoding="utf-8") if path.is_file() else None
        date = (today or dt.date.today()).isoformat()
        plan.edits.append(FileEdit(path, old_log, update_changelog(old_log, new, date, drafted)))
    if together is not None:
        plan.dependents, dep_edits = _dependent_edits(registry, workspace, pkg, new, update_dependents, together)
        plan.edits.extend(dep_edits)
    return plan


_OTHER_CHANGELOGS = tuple(
    f"{base}{name}.{ext}"
    for base in ("", "docs/", "doc/")
    for name in ("CHANGELOG", "changelog", "CHANGES", "changes", "NEWS", "news", "HISTORY", "history")
    for ext in ("rst", "md", "txt")
    if (base, ext) != ("", "md") or name != "CHANGELOG"
)
_FRAGMENT_DIRS = tuple(
    f"{base}{name}"
    for base in ("", "docs/", "doc/")
    for name in ("changelog.d", "changelog", "changes", "newsfragments")
)


def _other_changelog(root: Path) -> str | None:
    """The changelog a project keeps instead of CHANGELOG.md (another file, or towncrier fragments), if any."""
    for name in _OTHER_CHANGELOGS:
        if (root / name).is_file():
            return name
    for name in _FRAGMENT_DIRS:
        if (root / name).is_dir():
            return f"{name}/ (news fragments)"
    return None


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
            f"choose another version, or delete the stale tag with `git -C {plan.root} tag -d {name}` if it was "
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
                f"{plan.package.name}: tag {name} already exists", f"delete it with `git tag -d {name}` if it is stale"
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
) -> BumpPlan:
    """``invoke bump``: plan, check, then print the diff (dry run) or write atomically and commit/tag."""
    if tag and not commit:
        raise JuniperError("--tag needs --commit (the tag must point at the bump commit)", "add --commit")
    plan = plan_bump(registry, workspace, package, part, pre=pre, to=to, update_dependents=update_dependents)
    tag = tag or (commit and plan.vcs is not None)  # a version from git tags exists only as its tag
    if commit and not dry_run:
        check_on_branch(plan, registry)
    if not force and not dry_run:
        check_clean(plan, workspace, registry)
    if tag:
        check_tag_is_new(plan, registry)
    for warning in plan.warnings:
        out(f"warning: {warning}")
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
            f"`git switch {main}` first (or `git switch -c <new-branch>` to keep this commit's line), then bump again",
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
        f"git tag -a {name} -m 'Release {plan.package.name} {plan.new}'",
    )
