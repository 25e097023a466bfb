"""The workflow checks of ``invoke check`` and the driver that runs every check.

Per package, beside the checks of :mod:`juniper_release.ecosystem.checks`: the publish workflow and its trigger,
actions pinned to a commit SHA in every workflow of the repository, and no release newer than the pin table's.
:func:`run_checks` runs them all, then the ecosystem-wide ones, and orders the findings.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from juniper_release.ecosystem import triggers
from juniper_release.ecosystem.checks import (
    SEVERITIES,
    Finding,
    check_graph,
    check_license,
    check_license_table,
    check_meta_extras,
    check_python_floors,
    check_readme,
    check_secrets,
    check_specifiers,
    check_version_sync,
)
from juniper_release.ecosystem.graph import build_graph
from juniper_release.ecosystem.project import Project
from juniper_release.ecosystem.registry import Package, Registry, missing_checkouts, missing_packages
from juniper_release.errors import WorkspaceError, suggest
from juniper_release.github.pins import newer_than_table, repo_workflows, unpinned
from juniper_release.github.workflows import validate_workflow_path


def _push_runs_on_tags(config: Any) -> bool:
    """A push trigger fires on tag pushes unless it filters on branches only."""
    if not isinstance(config, dict) or not config:
        return True
    return "tags" in config or "tags-ignore" in config or not ({"branches", "branches-ignore"} & set(config))


def check_publish_workflow(pkg: Package, project: Project, workflow: str) -> list[Finding]:
    import yaml  # type: ignore[import-untyped,unused-ignore]

    path = pkg.top_of(project.root) / workflow  # workflows live at the repository root, one per package
    if not path.is_file():
        return [
            Finding(
                pkg.name,
                "publish-workflow",
                "error",
                f"no publish workflow at {workflow}. Fix: add one triggered by a published GitHub Release "
                f"(`{suggest('invoke workflows --write')}` generates it)",
            )
        ]
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        return [
            Finding(pkg.name, "publish-workflow", "error", f"{workflow} is not valid YAML ({first}). Fix: correct it")
        ]
    events = triggers.workflow_triggers(doc)
    if "release" in events and "push" in events and _push_runs_on_tags(events["push"]):
        return [
            Finding(
                pkg.name,
                "publish-workflow",
                "error",
                f"{workflow} triggers on tag pushes and on Releases, so two runs race to upload the same version. "
                "Fix: remove the `push:` trigger and keep `release: types: [published]`",
            )
        ]
    if "release" not in events:
        shown = ", ".join(sorted(events)) or "nothing"
        return [
            Finding(
                pkg.name,
                "publish-workflow",
                "warning",
                f"{workflow} is triggered by {shown}, not by a published Release. Fix: use "
                "`on: release: types: [published]`",
            )
        ]
    return []


def check_release_topology(registry: Registry, pkg: Package, project: Project) -> list[Finding]:
    """A pre-release workflow beside the publish workflow (the registry's ``prerelease_workflow``) is a topology,
    not a problem: each must publish its own kind (:func:`juniper_release.ecosystem.triggers.topology_problems`)."""
    pre = registry.workflow_for(pkg, prerelease=True) if registry.has_prerelease_workflow(pkg) else None
    texts = triggers.repository_workflows(pkg.top_of(project.root))
    found = [] if pre is None else check_publish_workflow(pkg, project, pre)
    problems = triggers.topology_problems(registry.workflow_for(pkg), pre, texts)
    return found + [Finding(pkg.name, "publish-workflow", sev, msg) for sev, msg in problems]


def check_pinned_actions(pkg: Package, project: Project, generated: Collection[str]) -> list[Finding]:
    """A warning per workflow of the repository with a ``uses:`` not pinned to a full commit SHA and its version.

    A tag or branch (``actions/checkout@v5``) can be moved to other code by whoever controls the action, and that code
    runs with the job's token. ``generated`` are the workflow paths ``invoke workflows --write`` renders (pinned from
    juniper-release's pin table); any other workflow is pinned by hand.
    """
    top = pkg.top_of(project.root)
    out: list[Finding] = []
    for path in repo_workflows(top):
        found = unpinned(path.read_text(encoding="utf-8", errors="replace"))
        if not found:
            continue
        rel = path.relative_to(top).as_posix()
        shown = ", ".join(dict.fromkeys(u.uses for u in found))
        command = suggest("invoke workflows --write")
        fix = (
            f"run `{command}` (it renders every action pinned to a commit SHA) and commit"
            if rel in generated
            else f"pin each to a full commit SHA with its release as a comment (`actions/checkout@<sha> # v5.1.0`), "
            f"the SHAs `{command}` renders from juniper-release's pin table (scripts/juniper_release/github/pins.py)"
        )
        out.append(
            Finding(
                pkg.name,
                "pinned-actions",
                "warning",
                f"{rel} references {len(found)} action(s) by a moving tag or branch, or without the version it pins "
                f"({shown}). Fix: {fix}",
            )
        )
    return out


def check_pin_table_age(pkg: Package, project: Project) -> list[Finding]:
    """A warning per action the repository's workflows run at a newer release than juniper-release's pin table."""
    fix = suggest("invoke pin-actions --from-workspace --write")
    return [
        Finding(
            pkg.name,
            "pin-table",
            "warning",
            f"{n.path} runs {n.action} {n.seen.tag}, but juniper-release's pin table has the older {n.table.tag}. "
            f"Fix: run `{fix}` in juniper-release and commit (a rendered workflow keeps the newer pin meanwhile)",
        )
        for n in newer_than_table(pkg.top_of(project.root))
    ]


# --------------------------------------------------------------------------------------------------- driver


def run_checks(registry: Registry, workspace: Path) -> list[Finding]:
    """Every check on every package, then the ecosystem-wide ones. A missing checkout is an error (exit 2)."""
    missing = missing_checkouts(registry, workspace)
    if missing:
        raise WorkspaceError(
            f"no checkout of {', '.join(p.name for p in missing)} under {workspace} "
            f"(looked for {', '.join(str(p.checkout(workspace)) for p in missing)})",
            f"run `{suggest(f'invoke clone --workspace {workspace}')}`, or pass --workspace DIR",
        )
    graph = build_graph(registry, workspace)
    projects = dict(graph.projects)
    findings: list[Finding] = [
        Finding(
            pkg.name,
            "missing-package",
            "warning",
            f"not in this checkout: {pkg.repo_dir(workspace)} has no {pkg.subdir}/pyproject.toml (an older snapshot "
            f"of {pkg.repo}); its requirements and dependents are not checked. Fix: update the checkout (git pull)",
        )
        for pkg in missing_packages(registry, workspace)
    ]
    findings += [
        Finding(
            name,
            "missing-package",
            "info",
            f"requires {', '.join(sorted(gone))}, which this workspace lacks: that edge is not checked",
        )
        for name, gone in graph.unresolved.items()
    ]
    registry = graph.registry  # the packages present in the workspace
    pinned_repos: set[str] = set()
    for pkg in registry.packages:
        project = projects[pkg.name]
        if canonicalize_name(project.name) != canonicalize_name(pkg.name):
            findings.append(
                Finding(
                    pkg.name,
                    "registry",
                    "error",
                    f"{pkg.checkout(workspace)} holds {project.name!r}, not {pkg.name!r}. Fix: check out "
                    f"{pkg.repo} there",
                )
            )
        findings += check_version_sync(pkg, project)
        findings += check_license(pkg, project)
        findings += check_license_table(pkg, project)
        findings += check_readme(pkg, project)
        findings += check_secrets(pkg, project)
        findings += check_publish_workflow(pkg, project, registry.workflow_for(pkg))
        findings += check_release_topology(registry, pkg, project)
        if pkg.repo not in pinned_repos:  # a repository's workflows are reported once, with its first package
            pinned_repos.add(pkg.repo)
            generated = {
                path
                for p in registry.packages
                if p.repo == pkg.repo
                for path in (registry.workflow_for(p), validate_workflow_path(registry, p))
                if path != registry.workflow_for(p) or not registry.has_prerelease_workflow(p)  # a hand-written pair
            }
            findings += check_pinned_actions(pkg, project, generated) + check_pin_table_age(pkg, project)
    findings += check_graph(graph)
    findings += check_specifiers(graph)
    findings += check_python_floors(registry, projects)
    findings += check_meta_extras(graph)
    order = {name: i for i, name in enumerate(registry.names)}
    order.update({f.package: len(order) for f in findings if f.check == "missing-package" and f.package not in order})
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), order.get(f.package, len(order))))
