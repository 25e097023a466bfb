"""A lockstep group's publish workflow: one hand-written run that builds and publishes every member.

The publish template (``templates/publish.yml``) renders one package per workflow, and a group publishes all its
members in one run (issue 25), so the renderer leaves the group's workflow alone and says so in one line, as it does
for a hand-written pair of pre-release and final workflows. Each member still gets its rendered validation gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from juniper_release.ecosystem.registry import Package, Registry


def group_notes(
    registry: Registry, packages: Sequence[Package] | None = None, workspace: Path | None = None
) -> list[str]:
    """One line per lockstep group with a selected member: its one publish workflow (one run building and
    publishing every member) is hand-written and left alone, since the publish template renders one package."""
    chosen = {p.name for p in (registry.packages if packages is None else packages)}
    notes: list[str] = []
    for group in registry.groups:
        if not chosen & set(group.members):
            continue
        first = registry.get(group.members[0])
        path = registry.workflow_for(first)
        top = first.top_of(first.checkout(workspace)) if workspace else None
        state = "missing: write it by hand" if top is not None and not (top / path).is_file() else "left alone"
        notes.append(
            f"group {group.name}: {path} publishes every member ({', '.join(group.members)}) in one run: {state} "
            "(the publish template renders one package per workflow, so `workflows --write` writes no per-member "
            "copy onto it)"
        )
    return notes
