"""Lockstep groups: the ``[[group]]`` tables of the registry, parsed strictly, and the group's version rule.

A group is a set of packages that share one version and one tag (a uv workspace released together, with hatch-vcs
members versioned by the repository's one ``vX.Y.Z`` tag, or static members bumped together)::

    [[group]]
    name = "sdk"
    members = ["sdk-core", "sdk-http"]   # package names of the registry
    tag_format = "v{version}"            # optional; default: settings.tag_format

Rules (each broken one is a one-line error naming the file, the group or package, and the fix):

- a group has a valid name, at least two distinct members, and every member is a package of the registry;
- a package is in at most one group;
- the members live in one repository: the group's one tag and one GitHub Release live there, so members in
  different repositories (which would need a tag in each, pushed and released separately) are refused;
- a member takes the group's ``tag_format``; a member that sets another one is refused (members of one group share
  the tag by design, so the loader's check that packages of one repository do not read each other's tags leaves them
  out); members that name a ``publish_workflow`` name the same one (the group publishes in one run).

The group's version (:func:`group_version`) is the version most of its members declare (ties: the highest); a
member declaring another is a status ANOMALY naming both.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from juniper_release.ecosystem.model import Group, Package
from juniper_release.errors import ConfigError

_GROUP_FIELDS: dict[str, type] = {"name": str, "members": list, "tag_format": str}
_GROUP_OPTIONAL = frozenset({"tag_format"})
_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")

TableCheck = Callable[..., dict[str, Any]]
FormatCheck = Callable[[str, str, str, str], None]


def parse_groups(
    file: str, raw: Any, default_tag_format: str, table: TableCheck, check_format: FormatCheck
) -> tuple[Group, ...]:
    """The ``[[group]]`` tables (absent: none), checked on their own; membership is checked by :func:`check_groups`
    once the packages are known. ``table`` and ``check_format`` are the loader's own table and tag format checks."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{file}: group must be an array of tables", "write each group as a [[group]] table")
    groups: list[Group] = []
    owner: dict[str, str] = {}
    for i, entry in enumerate(raw):
        label = entry.get("name") if isinstance(entry, dict) and isinstance(entry.get("name"), str) else f"#{i + 1}"
        where = f"group {label}"
        data = table(file, where, entry, _GROUP_FIELDS, _GROUP_OPTIONAL)
        name = data["name"]
        if not _NAME_RE.match(name):
            raise ConfigError(f"{file}: {where}: name {name!r} is not a valid group name", "use letters, digits, '-'")
        if any(g.name == name for g in groups):
            raise ConfigError(f"{file}: duplicate group name {name!r}", "give each [[group]] its own name")
        members = _members(file, where, data["members"])
        for member in members:
            key = canonicalize_name(member)
            if key in owner:
                raise ConfigError(
                    f"{file}: package {member} is in two groups ({owner[key]} and {name})",
                    "a package shares one version with one group: keep it in one [[group]]",
                )
            owner[key] = name
        fmt = data.get("tag_format", default_tag_format)
        check_format(file, f"{where}: ", fmt, "write tag_format = 'v{version}'")
        groups.append(Group(name=name, members=members, tag_format=fmt.replace("{name}", name)))
    return tuple(groups)


def _members(file: str, where: str, value: list[Any]) -> tuple[str, ...]:
    fix = "list at least two package names of the registry, such as members = ['sdk-core', 'sdk-http']"
    if any(not isinstance(item, str) for item in value):
        raise ConfigError(f"{file}: {where}.members must be a list of package names, got {value!r}", fix)
    if len(value) < 2:
        raise ConfigError(f"{file}: {where}.members lists {len(value)} package(s); a group needs two or more", fix)
    keys = [canonicalize_name(v) for v in value]
    if len(set(keys)) != len(keys):
        twice = next(v for v, k in zip(value, keys, strict=True) if keys.count(k) > 1)
        raise ConfigError(f"{file}: {where}.members lists {twice!r} twice", "list each member once")
    return tuple(value)


def by_member(groups: Iterable[Group]) -> dict[str, Group]:
    """{canonical member name: its group}."""
    return {canonicalize_name(m): g for g in groups for m in g.members}


def member_tag_format(file: str, pkg: Package, raw: Mapping[str, Any], group: Group) -> str:
    """The tag format of ``pkg``, a member of ``group``: the group's. A member's own ``tag_format`` that says
    otherwise is refused."""
    own = raw.get("tag_format")
    if isinstance(own, str) and own.replace("{name}", pkg.name) != group.tag_format:
        raise ConfigError(
            f"{file}: package {pkg.name}: tag_format {own!r} conflicts with its group {group.name}'s "
            f"{group.tag_format!r} (the members of a group share one tag)",
            f"drop tag_format from package {pkg.name} (a member takes its group's), or set the group's tag_format",
        )
    return group.tag_format


def check_groups(file: str, groups: Sequence[Group], packages: Sequence[Package]) -> tuple[Group, ...]:
    """Every member is a registry package (the group then names it as the registry does), all of one repository,
    with one publish workflow."""
    found = {canonicalize_name(p.name): p for p in packages}
    checked: list[Group] = []
    for group in groups:
        members: list[Package] = []
        for name in group.members:
            pkg = found.get(canonicalize_name(name))
            if pkg is None:
                close = difflib.get_close_matches(name, [p.name for p in packages], n=1, cutoff=0.6)
                raise ConfigError(
                    f"{file}: group {group.name}: unknown member {name!r}"
                    + (f" (did you mean {close[0]!r}?)" if close else ""),
                    "list package names of the registry's [[package]] tables",
                )
            members.append(pkg)
        first = members[0]
        for pkg in members[1:]:
            if pkg.repo.lower() != first.repo.lower():
                raise ConfigError(
                    f"{file}: group {group.name}: members {first.name} ({first.repo}) and {pkg.name} ({pkg.repo}) "
                    "are in different repositories; a group's one tag and GitHub Release live in one repository",
                    "group only packages of one repository (release the others on their own)",
                )
            if pkg.publish_workflow and first.publish_workflow and pkg.publish_workflow != first.publish_workflow:
                raise ConfigError(
                    f"{file}: group {group.name}: members {first.name} and {pkg.name} name different publish "
                    f"workflows ({first.publish_workflow!r}, {pkg.publish_workflow!r}); a group publishes in one run",
                    "name one publish_workflow for every member, or none (settings.publish_workflow)",
                )
        ordered = tuple(p.name for p in packages if p in members)
        checked.append(Group(name=group.name, members=ordered, tag_format=group.tag_format))
    return tuple(checked)


def group_version(declared: Mapping[str, Version]) -> Version | None:
    """The group's version from its members' declared versions: the one most members declare (ties: the highest);
    None without any."""
    if not declared:
        return None
    counts = Counter(declared.values())
    return max(counts, key=lambda v: (counts[v], v))


def disagreeing(declared: Mapping[str, Version]) -> dict[str, Version]:
    """The members whose declared version is not the group's (:func:`group_version`)."""
    version = group_version(declared)
    return {name: v for name, v in declared.items() if v != version}
