"""Raising a consumer's ceiling on a sibling: only the upper bound moves, the floor and every other specifier stay.

``juniper-data-client>=0.3,<0.5`` escaped by 0.5.0 becomes ``juniper-data-client>=0.3,<0.6``; a compatible-release
``~=0.4.1`` becomes ``>=0.4.1,<0.6`` (its floor kept), a prefix match ``==0.4.*`` becomes ``>=0.4,<0.6``. An exact
pin (``==0.4.0``, ``===``) or an exclusion (``!=0.5.0``) is not a ceiling: it is left to the maintainer, and said so.
The new ceiling is the house rule's next breaking version: the next minor before 1.0, the next major from 1.0.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import tomlkit
from packaging.requirements import Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from juniper_release.ecosystem.graph import marker_can_hold
from juniper_release.ecosystem.project import read_project, sibling_requirements

if TYPE_CHECKING:
    from juniper_release.ecosystem.registry import Package, Registry

_ORDER = {">=": 0, ">": 0, "~=": 1, "==": 1, "===": 1, "!=": 2, "<": 3, "<=": 3}


def ceiling_for(version: Version) -> str:
    """The next breaking version above ``version``: ``0.6`` for 0.5.x, ``2`` for 1.x."""
    major, minor = (*version.release, 0)[:2]
    return f"0.{minor + 1}" if major == 0 else f"{major + 1}"


def _raised(spec: Specifier, ceiling: str) -> list[str] | None:
    """``spec`` rewritten so that only its upper bound moves to ``<ceiling``; None when it is no ceiling."""
    if spec.operator in {"<", "<="}:
        return [f"<{ceiling}"]
    if spec.operator == "~=":
        return [f">={spec.version}", f"<{ceiling}"]
    if spec.operator == "==" and spec.version.endswith(".*"):
        return [f">={spec.version[:-2]}", f"<{ceiling}"]
    return None


def raise_ceiling(req: Requirement, new: Version) -> str | None:
    """``req`` with its ceiling raised to admit ``new``, as requirement text (extras and marker kept); None when it
    already admits ``new`` or what excludes ``new`` is a pin or an exclusion rather than a ceiling."""
    if req.specifier.contains(new, prereleases=True):
        return None
    ceiling = ceiling_for(new)
    kept: list[str] = []
    for spec in req.specifier:
        if spec.contains(new, prereleases=True):
            kept.append(str(spec))
            continue
        raised = _raised(spec, ceiling)
        if raised is None:
            return None
        kept.extend(raised)
    parts = sorted(dict.fromkeys(kept), key=lambda s: _ORDER.get(Specifier(s).operator, 1))
    SpecifierSet(",".join(parts))  # validated by packaging
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    marker = f"; {req.marker}" if req.marker else ""
    return f"{req.name}{extras}{','.join(parts)}{marker}"


@dataclass(frozen=True)
class EscapedPin:
    """One consumer requirement a new version escapes, and what it becomes (None: a pin, left as it is)."""

    extra: str | None
    old: Requirement
    new: str | None


@dataclass(frozen=True)
class ConsumerCeilings:
    """A consumer whose pins on a package escape its new version: its pyproject, before and after."""

    consumer: Package
    pyproject: Path
    old_text: str
    new_text: str
    pins: tuple[EscapedPin, ...]


def escaped_ceilings(
    registry: Registry, workspace: Path, pkg: Package, new: Version, together: Sequence[Package] = ()
) -> Iterator[ConsumerCeilings]:
    """Every consumer (in the registry, checked out) whose requirement on ``pkg`` (or on a package moving
    ``together`` with it to ``new``: a lockstep group) escapes ``new``: its pyproject with only those ceilings raised
    (tomlkit: every other byte kept), each consumer read once. A requirement whose marker holds on no verified Python
    is not one."""
    targets: set[str] = {canonicalize_name(p.name) for p in (pkg, *together)}
    for other in registry.packages:
        root = other.checkout(workspace)
        wanted = targets - {canonicalize_name(other.name)}
        if not wanted or not (root / "pyproject.toml").is_file():
            continue
        project = read_project(other, root)
        stale = [
            (extra, req)
            for extra, req in sibling_requirements(project, wanted)
            if not req.specifier.contains(new, prereleases=True) and marker_can_hold(req.marker, extra)
        ]
        if not stale:
            continue
        text = project.pyproject.read_text(encoding="utf-8")
        doc = tomlkit.parse(text)
        proj = doc["project"]
        arrays = [proj.get("dependencies", []), *list(proj.get("optional-dependencies", {}).values())]
        pins = []
        for extra, req in stale:
            raised = raise_ceiling(req, new)
            pins.append(EscapedPin(extra, req, raised))
            for arr in arrays if raised is not None else ():
                for i, item in enumerate(arr):
                    if Requirement(str(item)) == req:
                        arr[i] = raised
        yield ConsumerCeilings(other, project.pyproject, text, tomlkit.dumps(doc), tuple(pins))
