"""The organization transfer's live checklist: the 11-row by 6-repo table of what is done and what is left.

``checklist`` fills it from the same plan the codemod (:mod:`juniper_release.transfer.codemod`) computes: rows
that can be verified locally say done/pending, the website-only rows say "manual" and come with the exact values
to enter (the GitHub transfer, the PyPI/TestPyPI owners and trusted publishers).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from juniper_release.ecosystem.graph import build_graph
from juniper_release.ecosystem.registry import Package, Registry, require_checkout
from juniper_release.errors import suggest
from juniper_release.secrets import redact
from juniper_release.transfer.codemod import RepoPlan, Rewriter, parse_remote, plan_repo, resolve_owners

INDEX_LABELS = {"pypi": "PyPI", "testpypi": "TestPyPI"}

STEPS: tuple[tuple[str, str], ...] = (
    ("GitHub: transfer the repository", "manual"),
    ("git remote updated", "verify"),
    ("SSH host entry / remote form", "verify"),
    ("PyPI: organization added as owner", "manual"),
    ("TestPyPI: organization added as owner", "manual"),
    ("PyPI: trusted publisher replaced", "manual"),
    ("TestPyPI: trusted publisher replaced", "manual"),
    ("pyproject URLs + authors updated", "verify"),
    ("README badges and links updated", "verify"),
    ("docs, notes, AGENTS/CLAUDE links updated", "verify"),
    ("publish workflow on new owner (CI: manual)", "verify"),
)


@dataclass
class Checklist:
    """The 11-row by N-repo table, its per-cell details and the manual instructions."""

    old: str
    new: str
    packages: list[str]
    cells: list[dict[str, str]] = field(default_factory=list)
    details: list[dict[str, str]] = field(default_factory=list)
    manual: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"#": i + 1, "step": STEPS[i][0], **{p: self.cells[i][p] for p in self.packages}} for i in range(len(STEPS))
        ]

    def complete(self) -> bool:
        return all(v in {"done", "manual", "n/a"} for row in self.cells for v in row.values())

    def to_data(self) -> dict[str, Any]:
        return {
            "from": self.old,
            "to": self.new,
            "packages": self.packages,
            "rows": [
                {
                    "row": i + 1,
                    "step": STEPS[i][0],
                    "kind": STEPS[i][1],
                    "cells": {p: {"state": self.cells[i][p], "detail": self.details[i][p]} for p in self.packages},
                }
                for i in range(len(STEPS))
            ],
            "manual": self.manual,
        }

    def instructions(self, markdown: bool = False) -> str:
        lines = [("### " if markdown else "") + "Manual steps (exact values to enter)"]
        for pkg, items in self.manual.items():
            lines.append(f"\n**{pkg}**" if markdown else f"\n{pkg}")
            for item in items:
                bullet = "- " if markdown else "  "
                lines.append(f"{bullet}[{item['row']}] {item['text']}")
                for key in ("remove", "add"):
                    if key in item:
                        values = "  ".join(f"{k}={v}" for k, v in item[key].items())
                        lines.append(f"{'  - ' if markdown else '        '}{key + ':':8}{values}")
        return "\n".join(lines)

    def notes(self) -> str:
        lines = []
        for i, row in enumerate(self.details):
            for pkg in self.packages:
                if row[pkg] and self.cells[i][pkg] != "manual":
                    lines.append(f"  [{i + 1}] {pkg}: {row[pkg]}")
        return "Details:\n" + "\n".join(lines) if lines else ""


def _workflow_environments(text: str) -> set[str]:
    found = set(re.findall(r"^\s*environment:\s*['\"]?([A-Za-z0-9_.-]+)", text, re.M))
    found |= set(re.findall(r"^\s*environment:\s*\n\s+name:\s*['\"]?([A-Za-z0-9_.-]+)", text, re.M))
    return found


def _remote_cells(repo: RepoPlan, new: str) -> tuple[tuple[str, str], tuple[str, str]]:
    if repo.remote_before is None:
        return ("pending", "no origin remote"), ("n/a", "no origin remote")
    remote = parse_remote(repo.remote_before)
    shown = redact(repo.remote_before)
    if remote.form == "other" or remote.owner is None:
        return ("n/a", f"origin is not a GitHub URL: {shown}"), ("n/a", "not a GitHub remote")
    on_new = remote.owner.lower() == new.lower() and (remote.repo or "").lower() == repo.package.repo_name.lower()
    state = "done" if on_new else "pending"
    detail = "" if on_new else f"origin is {shown}; run `{suggest(f'invoke transfer --to {new} --execute')}`"
    if remote.form == "https":
        form = ("n/a", "https remote: no SSH host entry involved")
    elif remote.form == "ssh":
        form = (state, "" if on_new else "ssh remote still names the old owner")
    else:
        form = (
            state,
            f"keep `Host {remote.host}` (HostName github.com) in ~/.ssh/config"
            + ("" if on_new else "; the remote still names the old owner"),
        )
    return (state, detail), form


def checklist(
    registry: Registry,
    workspace: Path,
    *,
    to: str | None = None,
    packages: str | None = None,
    from_owner: str | None = None,
) -> Checklist:
    """Fill the transfer checklist from the checkouts (reads only)."""
    old, new = resolve_owners(registry, to, from_owner)
    selected = registry.select(packages)
    order = build_graph(registry, workspace).release_order(p.name for p in selected)
    # The status measures the finished transfer: references to every registry repo count.
    rewriter = Rewriter(old, new, tuple(p.repo_name for p in registry.packages))
    result = Checklist(old, new, [p.name for p in order])
    result.cells = [{} for _ in STEPS]
    result.details = [{} for _ in STEPS]
    workflow_name = PurePosixPath(registry.publish_workflow).name
    for pkg in order:
        root = require_checkout(pkg, workspace)
        repo = plan_repo(pkg, root, rewriter)

        def put(row: int, state: str, detail: str = "", name: str = pkg.name) -> None:
            result.cells[row - 1][name] = state
            result.details[row - 1][name] = detail

        for row, (_, kind) in enumerate(STEPS, start=1):
            if kind == "manual":
                put(row, "manual")
        remote_cell, form_cell = _remote_cells(repo, new)
        put(2, *remote_cell)
        put(3, *form_cell)
        by_cat: dict[str, list[str]] = {}
        for change in repo.changes:
            by_cat.setdefault(_category(change.path), []).append(change.path)
        for row, cat in ((8, "pyproject"), (9, "readme"), (10, "docs")):
            files = by_cat.get(cat, [])
            put(row, "pending" if files else "done", f"old owner in {', '.join(files)}" if files else "")
        wf_path = root / registry.publish_workflow
        wf_files = by_cat.get("workflow", [])
        if not wf_path.is_file():
            put(11, "pending", f"no {registry.publish_workflow} (run `{suggest('invoke workflows --write')}`)")
        elif wf_files:
            put(11, "pending", f"old owner in {', '.join(wf_files)}")
        else:
            put(11, "done")
        envs = _workflow_environments(wf_path.read_text(encoding="utf-8")) if wf_path.is_file() else set()
        result.manual[pkg.name] = _manual_steps(registry, pkg, old, new, workflow_name, envs, wf_path.is_file())
    return result


def _manual_steps(
    registry: Registry,
    pkg: Package,
    old: str,
    new: str,
    workflow: str,
    envs: set[str],
    has_workflow: bool,
) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = [
        {
            "row": 1,
            "text": f"GitHub https://github.com/{old}/{pkg.repo_name}/settings -> Danger Zone -> Transfer: "
            f"new owner {new}, repository name {pkg.repo_name}",
        }
    ]
    for row, index in ((4, "pypi"), (5, "testpypi")):
        base = registry.index(index).base_url
        steps.append(
            {
                "row": row,
                "index": index,
                "text": f"{INDEX_LABELS[index]} {base}/manage/project/{pkg.name}/collaboration/ -> "
                f"add organization {new} as Owner of project {pkg.name}",
            }
        )
    for row, index in ((6, "pypi"), (7, "testpypi")):
        base = registry.index(index).base_url
        note = ""
        if not has_workflow:
            note = f" ({workflow} is not in the repo yet: run `{suggest('invoke workflows --write')}`)"
        elif index not in envs:
            note = f" (warning: {workflow} declares no environment {index!r}; found {sorted(envs) or 'none'})"
        publisher = {"repository": pkg.repo_name, "workflow": workflow, "environment": index}
        steps.append(
            {
                "row": row,
                "index": index,
                "text": f"{INDEX_LABELS[index]} {base}/manage/project/{pkg.name}/settings/publishing/ -> "
                f"replace the trusted publisher{note}",
                "remove": {"owner": old, **publisher},
                "add": {"owner": new, **publisher},
            }
        )
    steps.append(
        {
            "row": 11,
            "text": f"after pushing, confirm CI passes at https://github.com/{new}/{pkg.repo_name}/actions "
            f"and the next release runs {workflow}",
        }
    )
    return steps


def render_checklist(result: Checklist, fmt: str = "text") -> str:
    """``text`` (table, details, manual steps), ``markdown`` or ``json``."""
    from juniper_release import output as report

    if fmt == "json":
        return report.to_json(result.to_data())
    columns = ["#", "step", *result.packages]
    header = f"transfer checklist: {result.old} -> {result.new}"
    if fmt == "markdown":
        return f"## {header}\n\n{report.markdown(result.rows(), columns)}\n\n{result.instructions(markdown=True)}\n"
    rows = result.rows()
    parts = [header, *(report.table(rows, ["#", "step", *group]) for group in _package_groups(rows, result.packages))]
    if result.notes():
        parts.append(result.notes())
    parts.append(result.instructions())
    return "\n\n".join(parts)


def _category(rel: str) -> str:
    """Which checklist row a file belongs to: pyproject, readme, workflow or docs (everything else)."""
    p = PurePosixPath(rel)
    if rel == "pyproject.toml":
        return "pyproject"
    if len(p.parts) == 1 and p.name.upper().startswith("README"):
        return "readme"
    if p.parts[:2] == (".github", "workflows"):
        return "workflow"
    return "docs"


def _package_groups(rows: list[dict[str, Any]], packages: Sequence[str]) -> list[list[str]]:
    """The package columns split into tables that each fit the terminal (one table per group, each with the step
    column): a log or a pipe keeps one table with every column."""
    from juniper_release import output as report

    if not (sys.stdout.isatty() or report.asked_width()):
        return [list(packages)]
    width = report.terminal_width()

    def wide(col: str) -> int:
        return max(len(col), *(len(str(row.get(col) if row.get(col) is not None else "-")) for row in rows)) + 2

    fixed = wide("#") + wide("step")
    groups: list[list[str]] = [[]]
    used = fixed
    for pkg in packages:
        if groups[-1] and used + wide(pkg) > width:
            groups.append([])
            used = fixed
        groups[-1].append(pkg)
        used += wide(pkg)
    return groups
