"""The facts on which two registries of one ecosystem differ (``invoke init``'s output against a hand-written one):
the settings, which packages each lists, and per package every field a task reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from packaging.utils import canonicalize_name

from juniper_release.ecosystem.model import Package, Registry

_SETTINGS = ("owner", "tag_format", "branch")
_FIELDS: dict[str, Callable[[Registry, Package], Any]] = {
    "repo": lambda r, p: p.repo,
    "path": lambda r, p: p.path,
    "subdir": lambda r, p: p.subdir,
    "import": lambda r, p: list(p.imports),
    "layer": lambda r, p: p.layer,
    "torch": lambda r, p: p.torch,
    "extras": lambda r, p: sorted(p.extras),
    "smoke": lambda r, p: sorted(p.smoke),
    "python": lambda r, p: list(p.python),
    "tag_format": lambda r, p: p.tag_format,
    "version_file": lambda r, p: p.version_file,
    "publish_workflow": lambda r, p: r.workflow_for(p),
}


def differences(ours: Registry, theirs: Registry) -> list[tuple[str, str, Any, Any]]:
    """``(package or 'settings', field, ours, theirs)`` for every fact that differs; a package only one of them
    lists is the field ``listed`` (True on the side that lists it)."""
    out: list[tuple[str, str, Any, Any]] = [
        ("settings", key, getattr(ours, key), getattr(theirs, key))
        for key in _SETTINGS
        if getattr(ours, key) != getattr(theirs, key)
    ]
    mine = {canonicalize_name(p.name): p for p in ours.packages}
    other = {canonicalize_name(p.name): p for p in theirs.packages}
    for key in sorted(mine.keys() | other.keys()):
        if key not in mine or key not in other:
            out.append(((mine.get(key) or other[key]).name, "listed", key in mine, key in other))
            continue
        for name, get in _FIELDS.items():
            a, b = get(ours, mine[key]), get(theirs, other[key])
            if a != b:
                out.append((mine[key].name, name, a, b))
    return out
