"""The live version matrix (``invoke status``): where every package stands, in release order.

Per package: the pyproject version, the module ``__version__``, the latest release tag and the commits since it, the
newest version on PyPI and TestPyPI, and a :class:`State`. A version whose every file is yanked (PEP 592) is not a
release here (a partly yanked one is); when it is the version pyproject declares, a warning says to bump, since an
index never takes its files again.

Which tag is "latest" and which version is released is decided by :mod:`juniper_release.ecosystem.tags` (never a
stale tag picked by sorting, such as a pre-reset ``v0.25.0-alpha``). The released version is PyPI's newest final
release. Tags that rule ignores (above the pyproject version, not following ``tag_format``, or a fallback tag whose
commit declares another version) are listed as warnings below the table; they never change the state.

The state, checked in this order:

- ``ANOMALY``: the module ``__version__`` disagrees with pyproject (or cannot be found); the checkout is behind PyPI
  (pyproject below the released version); the released version has no tag; the released version's tag is on a
  commit declaring another version; or a member of a lockstep group declares another version than its group's
  (:func:`juniper_release.ecosystem.groups.group_version`), and the reason names both.
- ``UNKNOWN``: the state depends on an index that could not be read: PyPI for every package, TestPyPI too for a
  pre-release (pre-releases go to TestPyPI only). The reason is listed below the table.
- ``NEVER_RELEASED``: no released version.
- ``BUMPED_NOT_RELEASED``: pyproject is above the released version (and, for a pre-release, not yet on either index).
- ``UNRELEASED_CHANGES``: pyproject is the released version (or a pre-release already published) and a file that
  ships changed since its tag in a release-worthy way (:mod:`juniper_release.ecosystem.changes`: code, package data
  or the pyproject's runtime fields). Commits touching only notes, tests, docs or CI are counted in
  ``commits_since_tag`` but leave the package ``UP_TO_DATE``.
- ``UP_TO_DATE``: otherwise.
- ``MISSING``: the registry lists a sub-package the checkout does not have (an older snapshot); the row says why.

A registry with lockstep groups (``[[group]]``) has a ``group`` column naming each member's group.

Tags follow the package's own ``tag_format``, and commits since the tag count only the package's own paths (its
sub-directory; for the root package of a shared repository, everything but its sub-packages' directories).

The stand-in sandbox has no index of its own unless pointed at local ones: its tags stand in for the index there.
Index look-ups run concurrently with a short timeout; an unreachable index shows ``unknown`` and a warning on stderr.
``invoke status`` exits 1 when any row is ``ANOMALY`` or ``UNKNOWN``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from shlex import quote
from typing import Any

from packaging.version import InvalidVersion, Version

from juniper_release import output as report
from juniper_release.ecosystem import changes, groups, lines, tags
from juniper_release.ecosystem.graph import CycleError, build_graph
from juniper_release.ecosystem.indexes import IndexUnreachable, Listing, listings_many
from juniper_release.ecosystem.project import Project, VersionKind, find_module_version
from juniper_release.ecosystem.registry import INDEX_NAMES, Package, Registry, missing_packages
from juniper_release.errors import suggest
from juniper_release.gitops import Git
from juniper_release.output import to_stderr

UNKNOWN = "unknown"
COLUMNS = (
    "package",
    "layer",
    "pyproject_version",
    "module_version",
    "latest_tag",
    "commits_since_tag",
    "pypi_version",
    "testpypi_version",
    "state",
)


class State(StrEnum):
    """Where a package stands in its release cycle."""

    UP_TO_DATE = "UP_TO_DATE"
    UNRELEASED_CHANGES = "UNRELEASED_CHANGES"
    BUMPED_NOT_RELEASED = "BUMPED_NOT_RELEASED"
    NEVER_RELEASED = "NEVER_RELEASED"
    ANOMALY = "ANOMALY"
    UNKNOWN = "UNKNOWN"
    MISSING = "MISSING"


FINDINGS = frozenset({State.ANOMALY, State.UNKNOWN})
"""The states ``invoke status`` exits 1 for."""


@dataclass(frozen=True)
class StatusRow:
    """One row of the matrix. ``reasons`` explains an ANOMALY or UNKNOWN, ``warnings`` name ignored tags (neither is
    part of the JSON/table columns)."""

    package: str
    layer: int
    pyproject_version: str
    module_version: str
    latest_tag: str | None
    commits_since_tag: int | None
    pypi_version: str | None
    testpypi_version: str | None
    state: State
    reasons: tuple[str, ...] = field(default=(), compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)
    group: str | None = None
    """The lockstep group the package belongs to (a ``group`` column when any row has one)."""

    def as_dict(self) -> dict[str, Any]:
        """Exactly the :data:`COLUMNS` (and ``group`` for a member of a lockstep group), JSON-ready."""
        return {
            **({"group": self.group} if self.group else {}),
            "package": self.package,
            "layer": self.layer,
            "pyproject_version": self.pyproject_version,
            "module_version": self.module_version,
            "latest_tag": self.latest_tag,
            "commits_since_tag": self.commits_since_tag,
            "pypi_version": self.pypi_version,
            "testpypi_version": self.testpypi_version,
            "state": str(self.state),
        }


IndexVersions = tuple[Version, ...] | None
"""Released (not wholly yanked) versions on an index, or None when the index could not be reached."""


def _lookup(
    registry: Registry, names: Sequence[str], timeout: float, warn: Callable[[str], None]
) -> dict[str, dict[str, Listing | None]]:
    """{index: {package: listing or None}} with both indexes queried at once; one warning per unreachable index."""
    pool = ThreadPoolExecutor(max_workers=len(INDEX_NAMES))
    try:
        futures = {name: pool.submit(listings_many, registry.index(name), names, timeout) for name in INDEX_NAMES}
        raw = {name: fut.result() for name, fut in futures.items()}
    except BaseException:  # Ctrl-C: never wait for a look-up blocked on the network (it ends at its timeout)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    out: dict[str, dict[str, Listing | None]] = {}
    for name, results in raw.items():
        failures = [r for r in results.values() if isinstance(r, IndexUnreachable)]
        if failures:
            warn(f"warning: {failures[0]}; its versions show as {UNKNOWN!r}")
        out[name] = {pkg: None if isinstance(r, IndexUnreachable) else r for pkg, r in results.items()}
    return out


def _module_version(pkg: Package, project: Project) -> tuple[str, list[str]]:
    """The module version for display, and anomaly reasons."""
    if pkg.is_meta:
        return VersionKind.NONE.value, []
    reasons: list[str] = []
    shown: str | None = None
    for import_name in pkg.imports:
        mv = find_module_version(project.root, import_name)
        shown = shown or mv.display
        if mv.kind is VersionKind.MISSING and not project.is_vcs:  # a VCS version needs no literal
            reasons.append(f"{import_name} has no recognisable __version__")
        elif mv.disagrees_with(project.module_target):
            against = f"tag {pkg.tag_for(project.module_target)}" if project.is_vcs else "pyproject"
            reasons.append(f"{import_name}.__version__ {mv.value} != {against} {project.module_target}")
    return shown or VersionKind.MISSING.value, reasons


def _shown(found: IndexVersions) -> str | None:
    """The newest version on the index (a pre-release too: the column shows what is there; the reasons name the
    released version by the one rule)."""
    if found is None:
        return UNKNOWN
    return str(max(found)) if found else None


def package_status(
    registry: Registry,
    pkg: Package,
    project: Project,
    layer: int,
    pypi: IndexVersions,
    testpypi: IndexVersions,
    *,
    tags_stand_in: bool = False,
    yanked: Mapping[str, Sequence[Version]] | None = None,
) -> StatusRow:
    """One row from a checkout and what the two indexes report for it: their released versions (None: the index
    could not be read), and per index the versions whose every file is yanked (``yanked``).

    With ``tags_stand_in`` (the sandbox, where no index was asked) the released version is the release tag's.
    """
    git = Git(project.root)
    declared = project.version
    module_version, reasons = _module_version(pkg, project)
    released = tags.released_version(pypi) if pypi is not None else None
    published_pre = declared.is_prerelease and any(declared in (found or ()) for found in (pypi, testpypi))
    basis = declared if published_pre else released  # a published pre-release is its own release
    if Git(pkg.top_of(project.root)).is_repo():  # a sub-package's git commands run in its own directory
        choice = tags.release_tag(git, pkg, declared, basis, registry.sibling_tag_formats(pkg))
    else:
        choice = tags.TagChoice(None, None)
    if tags_stand_in:
        released = choice.version
    latest_tag = choice.tag
    # Only the package's own paths: a commit in a sibling sub-package is not an unreleased change of this one.
    commits = git.commits_since(latest_tag, registry.pathspec(pkg)) if latest_tag else None
    # Unreleased only when a release-worthy class changed: notes, tests, docs or CI alone ship nothing.
    shipped = bool(commits) and changes.release_worthy(registry, pkg, git, latest_tag)
    warnings = [w for w in choice.warnings if w != choice.mismatch]
    gone = [index for index, found in (yanked or {}).items() if declared in found]
    if gone:
        bump = suggest(f"invoke bump --package {pkg.name} --part patch")
        warnings.append(f"{declared} is yanked on {', '.join(gone)}: its files cannot be uploaded again; run `{bump}`")
    unknown = [] if tags_stand_in else _unknown(declared, pypi, testpypi)

    if tags.behind(declared, released):
        branch = git.branch() if Git(pkg.top_of(project.root)).is_repo() else registry.branch
        where = "" if branch == registry.branch else f" (on branch {branch}, not {registry.branch})"
        reasons.append(f"checkout behind PyPI: pyproject {declared} is below the released {released}{where}")
    elif basis is not None and choice.version != basis:
        name = pkg.tag_for(basis)
        shallow = git.unshallow_hint()  # a depth-1 clone has neither the history nor the tags: say so
        if git.tag_exists(name):  # tagged, but on a commit this checkout's history does not hold
            reasons.append(
                f"released {basis}'s tag {name} is not reachable from HEAD (released from another branch?): "
                f"`git merge-base --is-ancestor {quote(name)} HEAD` fails{shallow}"
            )
        else:
            reasons.append(f"released {basis} has no tag {name}{shallow}")
    if choice.mismatch and basis is not None and choice.version == basis:
        reasons.append(choice.mismatch)  # the released version's own tag names another version than its commit
    elif choice.mismatch:
        warnings.append(choice.mismatch)

    state = _state(project, released, bool(reasons), bool(unknown), published_pre, shipped)
    if state is State.UNKNOWN:
        reasons = unknown
    return StatusRow(
        package=pkg.name,
        layer=layer,
        pyproject_version=str(declared),
        module_version=module_version,
        latest_tag=latest_tag,
        commits_since_tag=commits,
        pypi_version=_shown(pypi),
        testpypi_version=_shown(testpypi),
        state=state,
        reasons=tuple(reasons),
        warnings=tuple(warnings),
    )


def _state(
    project: Project, released: Version | None, anomaly: bool, unknown: bool, published_pre: bool, shipped: bool
) -> State:
    """The one state of a row, by the rules of the module docstring, in their order."""
    declared = project.version
    if anomaly:
        return State.ANOMALY
    if unknown:
        return State.UNKNOWN
    if published_pre:
        return State.UNRELEASED_CHANGES if shipped else State.UP_TO_DATE
    if released is None:
        return State.NEVER_RELEASED
    if declared > released and not (project.is_vcs and (declared.is_devrelease or declared.local)):
        return State.BUMPED_NOT_RELEASED  # a VCS version past its tag is commits since it, not a bump
    return State.UNRELEASED_CHANGES if shipped else State.UP_TO_DATE


def _unknown(declared: Version, pypi: IndexVersions, testpypi: IndexVersions) -> list[str]:
    """Why the state cannot be known: an index it depends on could not be read."""
    if pypi is None:
        return [f"PyPI could not be read, so whether {declared} is released is unknown"]
    if declared.is_prerelease and declared not in pypi and testpypi is None:
        return [f"TestPyPI could not be read, so whether the pre-release {declared} is released there is unknown"]
    return []


def missing_row(pkg: Package, workspace: Path) -> StatusRow:
    """The row of a package the registry lists but the checkout does not have (yet): an older snapshot."""
    return StatusRow(
        package=pkg.name,
        layer=pkg.layer,
        pyproject_version=UNKNOWN,
        module_version=UNKNOWN,
        latest_tag=None,
        commits_since_tag=None,
        pypi_version=None,
        testpypi_version=None,
        state=State.MISSING,
        reasons=(f"not in this checkout: {pkg.repo_dir(workspace)} has no {pkg.subdir}/pyproject.toml",),
    )


def collect(
    registry: Registry,
    workspace: Path,
    timeout: float = 5.0,
    *,
    warn: Callable[[str], None] | None = None,
    query_indexes: bool = True,
) -> list[StatusRow]:
    """The matrix: one row per package in release order (declared layers when the graph has a cycle).

    With ``query_indexes=False`` no index is contacted, both index columns show as unknown and the tags stand in for
    the index (the sandbox).
    """
    warn = warn or to_stderr
    graph = build_graph(registry, workspace)
    try:
        layers = graph.computed_layers()
        order = graph.release_order()
    except CycleError as exc:
        warn(f"warning: {exc}; rows follow the declared layers")
        layers = {p.name: p.layer for p in graph.registry.packages}
        order = sorted(graph.registry.packages, key=lambda p: (p.layer, p.name))
    names = [p.name for p in order]
    if query_indexes:
        found = _lookup(registry, names, timeout, warn)
    else:
        found = {index: dict.fromkeys(names) for index in INDEX_NAMES}
    rows = [
        package_status(
            registry,
            pkg,
            graph.projects[pkg.name],
            layers[pkg.name],
            _live(found["pypi"][pkg.name]),
            _live(found["testpypi"][pkg.name]),
            tags_stand_in=not query_indexes,
            yanked=_yanked(found, pkg.name),
        )
        for pkg in order
    ]
    return lockstep_rows(registry, rows) + [
        missing_row(pkg, workspace) for pkg in missing_packages(registry, workspace)
    ]


def lockstep_rows(registry: Registry, rows: Sequence[StatusRow]) -> list[StatusRow]:
    """``rows`` with each lockstep member's group named, and a member declaring another version than its group's an
    ANOMALY naming both."""
    by_name = {row.package: row for row in rows}
    out = {row.package: row for row in rows}
    for group in registry.groups:
        declared: dict[str, Version] = {}
        for name in group.members:
            row = by_name.get(name)
            if row is None:
                continue
            out[name] = replace(row, group=group.name)
            try:
                declared[name] = Version(row.pyproject_version)
            except InvalidVersion:
                continue
        version = groups.group_version(declared)
        for name, own in groups.disagreeing(declared).items():
            row = out[name]
            reason = f"declares {own} but its lockstep group {group.name} is at {version}"
            out[name] = replace(row, state=State.ANOMALY, reasons=(*row.reasons, reason))
    return [out[row.package] for row in rows]


def _live(listing: Listing | None) -> IndexVersions:
    return None if listing is None else listing.live_versions


def _yanked(found: Mapping[str, Mapping[str, Listing | None]], name: str) -> dict[str, tuple[Version, ...]]:
    """{index: versions of ``name`` whose every file is yanked there}, for the indexes that could be read."""
    return {
        index: listing.yanked_versions for index, listings in found.items() if (listing := listings[name]) is not None
    }


def render(rows: Sequence[StatusRow], fmt: str = "table") -> str:
    """``table`` (with the reasons for any ANOMALY or UNKNOWN below it), ``json`` or ``markdown``."""
    data = [row.as_dict() for row in rows]
    columns = ("package", "group", *COLUMNS[1:]) if any(row.group for row in rows) else COLUMNS
    if columns != COLUMNS:
        data = [{"group": "-", **d} for d in data]
    if fmt == "json":
        return report.to_json(data)
    notes = [f"- {row.package}: {'; '.join(row.reasons)}" for row in rows if row.state is State.ANOMALY]
    unknown = [f"- {row.package}: {'; '.join(row.reasons)}" for row in rows if row.state is State.UNKNOWN]
    warned = [f"- {row.package}: {'; '.join(row.warnings)}" for row in rows if row.warnings]
    if fmt == "markdown":
        text = report.markdown(data, columns)
        text += ("\n\n**Anomalies**\n\n" + "\n".join(notes)) if notes else ""
        text += ("\n\n**Unknown**\n\n" + "\n".join(unknown)) if unknown else ""
        return text + ("\n\n**Warnings**\n\n" + "\n".join(warned) if warned else "")
    # Least important first: what an index or the module says is in the reasons when it matters.
    drop = ("testpypi_version", "module_version", "commits_since_tag", "layer")
    text = report.table(data, columns, painted="state", expendable=drop)
    text += ("\n\nanomalies:\n" + "\n".join(notes)) if notes else ""
    text += ("\n\nunknown:\n" + "\n".join(unknown)) if unknown else ""
    return text + ("\n\nwarnings:\n" + "\n".join(warned) if warned else "")


def exit_code(rows: Sequence[StatusRow]) -> int:
    """1 when any row is a finding (ANOMALY or UNKNOWN), else 0."""
    return int(any(row.state in FINDINGS for row in rows))


def queries_indexes(registry: Registry, *, sandbox: bool, warn: Callable[[str], None]) -> bool:
    """Whether the indexes are asked: always, except for the sandbox without local index overrides (its packages
    share their names with the real ones on PyPI), which is said through ``warn``."""
    query = not sandbox or any(k.endswith("_SIMPLE_URL") for k in registry.overrides)
    if not query:
        warn("note: sandbox: the real indexes are not queried; set JUNIPER_PYPI_SIMPLE_URL and")
        warn("      JUNIPER_TESTPYPI_SIMPLE_URL to local servers to compare with them")
    return query


def run(
    registry: Registry,
    workspace: Path,
    *,
    sandbox: bool = False,
    fmt: str = "table",
    timeout: float = 5.0,
    warn: Callable[[str], None] | None = None,
) -> tuple[str, int]:
    """``invoke status``: the rendered matrix and the exit code (:func:`exit_code`). The stand-in packages share
    their names with the real ones on PyPI, so the sandbox never queries the real indexes (only local ones set
    through the *_SIMPLE_URL overrides)."""
    warn = warn or to_stderr
    query = queries_indexes(registry, sandbox=sandbox, warn=warn)
    rows = collect(registry, workspace, timeout=timeout, warn=warn, query_indexes=query)
    text = render(rows, fmt)
    pending = lines.pending_lines(registry, workspace) if fmt != "json" else []
    if pending:  # maintenance branches (release/X.Y) with fixes not yet released from them
        title = (
            "\n\n**Maintenance lines**\n\n" if fmt == "markdown" else "\n\nmaintenance lines with unreleased fixes:\n"
        )
        text += title + "\n".join(pending)
    return text, exit_code(rows)
