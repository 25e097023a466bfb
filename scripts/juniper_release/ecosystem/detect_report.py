"""``invoke detect`` across the registry: every selected package's detection (:func:`collect`, per package by
:mod:`juniper_release.ecosystem.detect`), a lockstep group's one bump, and the report: the table, Markdown or JSON
(:func:`render`), what ``invoke propose`` takes from it (:func:`selection`) and the exit code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from packaging.version import Version

from juniper_release import output as report
from juniper_release.ecosystem import apidiff, lines, status
from juniper_release.ecosystem.detect import (
    TO_RELEASE,
    Detection,
    Finding,
    detect_line,
    detect_package,
    diff_target,
    line_target,
)
from juniper_release.ecosystem.registry import Registry
from juniper_release.ecosystem.semver import next_version
from juniper_release.gitops import Git
from juniper_release.offline import offline
from juniper_release.output import to_stderr

COLUMNS = ("package", "layer", "baseline", "tag", "target", "changes", "bump", "evidence", "state")


def collect(
    registry: Registry,
    workspace: Path,
    packages: str | None = None,
    *,
    sandbox: bool = False,
    fetch: bool = True,
    timeout: float = 5.0,
    warn: Callable[[str], None] | None = None,
    branch: str | None = None,
) -> list[Detection]:
    """Every selected package's detection, in release order. ``fetch=False`` is offline: no fetch, no index (the
    tags stand in for it), the local HEAD. ``branch``: a maintenance branch (:func:`detect_line`)."""
    warn = warn or to_stderr
    if branch is not None:
        lines.check_branch_name(branch)
    chosen = {p.name for p in registry.select(packages)}
    query = fetch and status.queries_indexes(registry, sandbox=sandbox, warn=warn)
    with offline(not fetch):
        rows = status.collect(registry, workspace, timeout, warn=warn, query_indexes=query)
    targets: dict[str, tuple[str, str | None]] = {}
    found: list[Detection] = []
    for row in rows:
        if row.package not in chosen:
            continue
        pkg = registry.get(row.package)
        root = pkg.checkout(workspace)
        if row.state is not status.State.MISSING and pkg.path not in targets:
            git = Git(pkg.repo_dir(workspace))
            targets[pkg.path] = (
                line_target(git, branch, fetch=fetch) if branch else diff_target(git, registry.branch, fetch=fetch)
            )
        target = targets.get(pkg.path, ("HEAD", None))
        if branch is not None:
            found.append(detect_line(registry, pkg, row, root, target, branch))
        else:
            found.append(detect_package(registry, pkg, row, root, target))
    return lockstep_bumps(registry, found)


_PART_RANK = {"patch": 1, "minor": 2, "major": 3}


def lockstep_bumps(registry: Registry, found: Sequence[Detection]) -> list[Detection]:
    """``found`` with each lockstep group's bump the largest of its members' (from the group's baseline, the
    highest released version among them), given to every member that has something to release."""
    out = {d.package: d for d in found}
    for group in registry.groups:
        members = [out[name] for name in group.members if name in out]
        asked = [d for d in members if d.bump.part is not None]
        if not asked:
            continue
        top = max(asked, key=lambda d: _PART_RANK[d.bump.part or "patch"])
        part = top.bump.part
        baselines = [Version(d.released) for d in members if d.released]
        base = max(baselines, default=None)
        upcoming = str(next_version(base, part)) if part and base is not None else top.bump.next_version
        why = ", ".join(f"{d.package} {d.bump.part}" for d in asked)
        note = f"lockstep group {group.name}: one bump for every member, {part} -> {upcoming} (the largest of: {why})"
        for d in members:
            bump = replace(d.bump, part=part, next_version=upcoming) if d.bump.part is not None else d.bump
            out[d.package] = replace(d, bump=bump, notes=(*d.notes, note))
    return [out[d.package] for d in found]


def render(found: Sequence[Detection], fmt: str = "table", registry: Registry | None = None) -> str:
    """The table (with the evidence, conflicts, anomalies and notes below it), or ``json``: one manifest."""
    if fmt == "json":
        return report.to_json(
            {
                "manifest": "juniper-release detect",
                "registry": registry.shown_path if registry else None,
                "to_release": [d.package for d in found if d.state in TO_RELEASE],
                "packages": [d.as_dict() for d in found],
            }
        )
    if fmt == "markdown":  # a GitHub job summary: the table, and the evidence as a list
        lines = [report.markdown([d.row() for d in found], COLUMNS), ""]
        lines += [
            f"- **{d.package}**: {cls}: " + ", ".join(report.markdown_text(f.path) for f in files)
            for d in found
            for cls, files in (d.changes.by_class() if d.changes else {}).items()
        ]
        lines += [
            f"- **{d.package}**: API {c.level}: {c.kind} {report.markdown_code(c.path)}{_forms(c)}"
            for d, c in _api_findings(found)
        ]
        lines += [
            f"- **{d.package}**: understated bump: {report.markdown_text(d.bump.understated)}"
            for d in found
            if d.bump.understated
        ]
        return "\n".join(lines)
    # Least important first, to fit the terminal: the target branch and the layer are in --json.
    text = report.table([d.row() for d in found], COLUMNS, painted="state", expendable=("target", "layer"))
    evidence = []
    for d in found:
        for cls, files in (d.changes.by_class() if d.changes else {}).items():
            shown = ", ".join(f"{f.path} ({f.detail})" if f.detail else f.path for f in files)
            evidence.append(f"- {d.package}: {cls}: {shown}")
    api = [f"- {d.package}: {c.line()}" for d, c in _api_findings(found)]
    conflicts = [f"- {d.package}: {d.bump.conflict}" for d in found if d.bump.conflict]
    understated = [f"- {d.package}: {d.bump.understated}" for d in found if d.bump.understated]
    anomalies = [f"- {d.package}: {'; '.join(d.reasons)}" for d in found if d.reasons]
    notes = [f"- {d.package}: {'; '.join(d.notes)}" for d in found if d.notes]
    sections = (
        ("evidence", evidence),
        ("API changes", api),
        ("changelog conflicts", conflicts),
        ("understated bumps", understated),
        ("anomalies", anomalies),
        ("notes", notes),
    )
    for title, lines in sections:  # file names, commit subjects and tags come from people: each line kept one line
        text += f"\n\n{title}:\n" + "\n".join(report.printable(line) for line in lines) if lines else ""
    return text


def _api_findings(found: Sequence[Detection]) -> list[tuple[Detection, apidiff.ApiChange]]:
    return [(d, c) for d in found if d.api is not None for c in d.api.changes]


def _forms(change: apidiff.ApiChange) -> str:
    """A finding's old and new form, as Markdown text (names come from the code: escaped like any untrusted text)."""
    if change.old and change.new:
        return f": {report.markdown_code(change.old)} -> {report.markdown_code(change.new)}"
    return f": {report.markdown_code(change.old or change.new)}" if change.old or change.new else ""


def selection(found: Sequence[Detection]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """What ``invoke propose`` takes from detect: package -> proposed part, -> evidence (Markdown), -> changelog
    conflict (propose refuses those)."""
    parts: dict[str, str] = {}
    evidence: dict[str, str] = {}
    conflicts: dict[str, str] = {}
    for d in found:
        if d.state not in {Finding.RELEASE_WORTHY, Finding.CHANGELOG_CONFLICT} or d.bump.part is None:
            continue
        parts[d.package] = d.bump.part
        tag = report.markdown_text(d.tag or "-")
        lines = [f"Released {d.released or 'never'} (tag {tag}); compared with {d.target}."]
        for cls, files in (d.changes.by_class() if d.changes else {}).items():
            lines.append(f"- **{cls}**: " + ", ".join(report.markdown_text(f.path) for f in files))
            lines += [f"  - {c.sha} {report.markdown_text(c.subject)}" for c in d.class_commits.get(str(cls), ())]
        lines.append(f"- **bump decided by**: {d.bump.decided_by}")
        if d.bump.understated:
            lines.append(f"- **understated bump**: {report.markdown_text(d.bump.understated)}")
        evidence[d.package] = "\n".join(lines)
        if d.bump.conflict:
            conflicts[d.package] = d.bump.conflict
    return parts, evidence, conflicts


def exit_code(found: Sequence[Detection]) -> int:
    """1 when anything is to be released or anomalous, else 0."""
    return int(any(d.state in TO_RELEASE for d in found))


def run(
    registry: Registry,
    workspace: Path,
    packages: str | None = None,
    *,
    sandbox: bool = False,
    fetch: bool = True,
    fmt: str = "table",
    timeout: float = 5.0,
    warn: Callable[[str], None] | None = None,
    branch: str | None = None,
) -> tuple[str, int]:
    """``invoke detect``: the rendered report and the exit code (:func:`exit_code`)."""
    found = collect(
        registry, workspace, packages, sandbox=sandbox, fetch=fetch, timeout=timeout, warn=warn, branch=branch
    )
    return render(found, fmt, registry), exit_code(found)
