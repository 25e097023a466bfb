"""The live version matrix (``invoke status``): where every package stands, in release order.

Per package: the pyproject version, the module ``__version__``, the latest release tag and the commits since it, the
newest version on PyPI and TestPyPI, and a :class:`State`.

Which tag is "latest" and which version is released is decided by :mod:`juniper_release.ecosystem.tags` (never a
stale tag picked by sorting, such as a pre-reset ``v0.25.0-alpha``). The released version is PyPI's; when PyPI cannot
be reached, it is the version of the highest tag at or below the pyproject version. Tags that rule ignores (above the
pyproject version, or not following ``tag_format``) are listed as warnings below the table.

The state, checked in this order:

- ``ANOMALY``: the module ``__version__`` disagrees with pyproject (or cannot be found); the pyproject version is
  below the released one; the released version has no tag; or the tag's commit declares another version.
- ``NEVER_RELEASED``: no released version.
- ``BUMPED_NOT_RELEASED``: pyproject is above the released version.
- ``UNRELEASED_CHANGES``: pyproject equals the released version and there are commits since its tag.
- ``UP_TO_DATE``: otherwise.

Index look-ups run concurrently with a short timeout; an unreachable index shows ``unknown`` and a warning on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from packaging.version import Version

from juniper_release import output as report
from juniper_release.ecosystem import tags
from juniper_release.ecosystem.graph import CycleError, build_graph
from juniper_release.ecosystem.indexes import IndexUnreachable, versions_many
from juniper_release.ecosystem.project import Project, VersionKind, find_module_version
from juniper_release.ecosystem.registry import INDEX_NAMES, Package, Registry
from juniper_release.gitops import Git

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


@dataclass(frozen=True)
class StatusRow:
    """One row of the matrix. ``reasons`` explains an ANOMALY, ``warnings`` name ignored tags (neither is part of the
    JSON/table columns)."""

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

    def as_dict(self) -> dict[str, Any]:
        """Exactly the :data:`COLUMNS`, JSON-ready."""
        return {
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
"""Versions on an index, or None when the index could not be reached."""


def _lookup(
    registry: Registry, names: Sequence[str], timeout: float, warn: Callable[[str], None]
) -> dict[str, dict[str, IndexVersions]]:
    """{index: {package: versions or None}} with both indexes queried at once; one warning per unreachable index."""
    with ThreadPoolExecutor(max_workers=len(INDEX_NAMES)) as pool:
        futures = {name: pool.submit(versions_many, registry.index(name), names, timeout) for name in INDEX_NAMES}
        raw = {name: fut.result() for name, fut in futures.items()}
    out: dict[str, dict[str, IndexVersions]] = {}
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
        if mv.kind is VersionKind.MISSING:
            reasons.append(f"{import_name} has no recognisable __version__")
        elif mv.disagrees_with(project.version):
            reasons.append(f"{import_name}.__version__ {mv.value} != pyproject {project.version}")
    return shown or VersionKind.MISSING.value, reasons


def _shown(found: IndexVersions) -> str | None:
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
) -> StatusRow:
    """One row from a checkout and what the two indexes report for it."""
    git = Git(project.root)
    declared = project.version
    module_version, reasons = _module_version(pkg, project)
    released = tags.released_version(declared, pypi) if pypi is not None else None
    if git.is_repo():
        choice = tags.release_tag(git, registry.tag_format, declared, released)
    else:
        choice = tags.TagChoice(None, None)
    if pypi is None:
        released = choice.version  # PyPI unreachable: the tags say what was released
    latest_tag = choice.tag
    commits = git.commits_since(latest_tag) if latest_tag else None

    if released is not None:
        if declared < released:
            reasons.append(f"pyproject {declared} is below the released {released}")
        if choice.version != released:
            reasons.append(f"released {released} has no tag {registry.tag_for(released)}")
    if choice.mismatch:
        reasons.append(choice.mismatch)  # the release tag itself names another version than its commit: ANOMALY

    if reasons:
        state = State.ANOMALY
    elif released is None:
        state = State.NEVER_RELEASED
    elif declared > released:
        state = State.BUMPED_NOT_RELEASED
    elif commits:
        state = State.UNRELEASED_CHANGES
    else:
        state = State.UP_TO_DATE
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
        warnings=tuple(w for w in choice.warnings if w != choice.mismatch),
    )


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def collect(
    registry: Registry,
    workspace: Path,
    timeout: float = 5.0,
    *,
    warn: Callable[[str], None] | None = None,
    query_indexes: bool = True,
) -> list[StatusRow]:
    """The matrix: one row per package in release order (declared layers when the graph has a cycle).

    With ``query_indexes=False`` no index is contacted and both index columns show as unknown (the sandbox).
    """
    warn = warn or _stderr
    graph = build_graph(registry, workspace)
    try:
        layers = graph.computed_layers()
        order = graph.release_order()
    except CycleError as exc:
        warn(f"warning: {exc}; rows follow the declared layers")
        layers = {p.name: p.layer for p in registry.packages}
        order = sorted(registry.packages, key=lambda p: (p.layer, p.name))
    names = [p.name for p in order]
    if query_indexes:
        found = _lookup(registry, names, timeout, warn)
    else:
        found = {index: dict.fromkeys(names) for index in INDEX_NAMES}
    return [
        package_status(
            registry,
            pkg,
            graph.projects[pkg.name],
            layers[pkg.name],
            found["pypi"][pkg.name],
            found["testpypi"][pkg.name],
        )
        for pkg in order
    ]


def render(rows: Sequence[StatusRow], fmt: str = "table") -> str:
    """``table`` (with the reasons for any ANOMALY below it), ``json`` or ``markdown``."""
    data = [row.as_dict() for row in rows]
    if fmt == "json":
        return report.to_json(data)
    notes = [f"- {row.package}: {'; '.join(row.reasons)}" for row in rows if row.reasons]
    warned = [f"- {row.package}: {'; '.join(row.warnings)}" for row in rows if row.warnings]
    if fmt == "markdown":
        text = report.markdown(data, COLUMNS)
        text += ("\n\n**Anomalies**\n\n" + "\n".join(notes)) if notes else ""
        return text + ("\n\n**Warnings**\n\n" + "\n".join(warned) if warned else "")
    text = report.table(data, COLUMNS)
    text += ("\n\nanomalies:\n" + "\n".join(notes)) if notes else ""
    return text + ("\n\nwarnings:\n" + "\n".join(warned) if warned else "")


def show(
    registry: Registry,
    workspace: Path,
    *,
    sandbox: bool = False,
    fmt: str = "table",
    timeout: float = 5.0,
    warn: Callable[[str], None] | None = None,
) -> str:
    """``invoke status``: the rendered matrix. The stand-in packages share their names with the real ones on PyPI,
    so the sandbox never queries the real indexes (only local ones set through the *_SIMPLE_URL overrides)."""
    warn = warn or _stderr
    query = not sandbox or any(k.endswith("_SIMPLE_URL") for k in registry.overrides)
    if not query:
        warn("note: sandbox: the real indexes are not queried; set JUNIPER_PYPI_SIMPLE_URL and")
        warn("      JUNIPER_TESTPYPI_SIMPLE_URL to local servers to compare with them")
    return render(collect(registry, workspace, timeout=timeout, warn=warn, query_indexes=query), fmt)
