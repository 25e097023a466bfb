"""Raising a consumer's ceiling on a sibling: only the upper bound moves, the floor and every other specifier stay.

``juniper-data-client>=0.3,<0.5`` escaped by 0.5.0 becomes ``juniper-data-client>=0.3,<0.6``; a compatible-release
``~=0.4.1`` becomes ``>=0.4.1,<0.6`` (its floor kept), a prefix match ``==0.4.*`` becomes ``>=0.4,<0.6``. An exact
pin (``==0.4.0``, ``===``) or an exclusion (``!=0.5.0``) is not a ceiling: it is left to the maintainer, and said so.
The new ceiling is the house rule's next breaking version: the next minor before 1.0, the next major from 1.0.
"""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import Version

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
