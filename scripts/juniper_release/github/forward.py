"""Workflows only move forward: the releases a workflow already pins, and rendering that never goes back from them.

A repository's workflows can run a newer release of an action than :data:`juniper_release.github.pins.PINS` has
(Dependabot moved them, or a person did). Rendering over such a file keeps the newer pin (:func:`forward_only`), and
says so; only an explicit ``--allow-downgrade`` writes the table's older release. :func:`newer_than_table` is what
``invoke check`` warns about: the pin table is older than what a repository already runs.

A release counts only when it is pinned as ``owner/name@<40-hex sha> # vX.Y.Z``: a full commit SHA next to a version
comment that :mod:`packaging` reads as a version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from juniper_release.github.pins import PINS, SHA, USES, Pin, repo_workflows


@dataclass(frozen=True)
class Seen:
    """One action release pinned in a workflow: which commit, under which version comment, on which line."""

    action: str
    """``owner/name`` (a sub-directory action counts as its repository)."""
    tag: str
    sha: str
    line: int

    @property
    def version(self) -> Version:
        return Version(self.tag)


def version_of(tag: str) -> Version | None:
    """The version a ``vX.Y.Z`` tag names, or None when it names none (a branch such as ``release/v1``)."""
    try:
        return Version(tag)
    except InvalidVersion:
        return None


def pinned_releases(text: str) -> list[Seen]:
    """Every ``uses:`` of ``text`` pinned to a full commit SHA with a version comment, in file order."""
    out: list[Seen] = []
    for match in USES.finditer(text):
        ref, comment = match["ref"], match["comment"]
        if ref is None or comment is None or not SHA.fullmatch(ref) or match["action"].startswith(("./", "docker:")):
            continue
        words = comment.strip().lstrip("#").split()
        tag = words[0] if words else ""
        if version_of(tag) is None:
            continue
        action = "/".join(match["action"].split("/")[:2])
        out.append(Seen(action, tag, ref, text.count("\n", 0, match.start()) + 1))
    return out


def newest(seen: Iterable[Seen]) -> dict[str, Seen]:
    """Per action, the newest release among ``seen`` (the first one seen wins a tie)."""
    out: dict[str, Seen] = {}
    for s in seen:
        if s.action not in out or s.version > out[s.action].version:
            out[s.action] = s
    return out


@dataclass(frozen=True)
class Held:
    """An action whose file on disk pins a newer release than the pin table: kept, or (asked for) downgraded."""

    action: str
    disk: str
    """The release the file on disk pins."""
    table: str
    """The release the pin table has."""
    downgraded: bool

    def row(self, package: str, path: str) -> dict[str, str]:
        rendered = f"{self.table} (downgrade)" if self.downgraded else f"{self.disk} (kept)"
        return {"package": package, "file": path, "action": self.action, "on disk": self.disk,
                "pin table": self.table, "rendered": rendered}  # fmt: skip


def forward_only(rendered: str, on_disk: str, *, allow_downgrade: bool = False) -> tuple[str, tuple[Held, ...]]:
    """``rendered`` with every action that ``on_disk`` pins at a newer release rendered at that release instead.

    Returns the text and what was held back (one :class:`Held` per action). With ``allow_downgrade`` the text stays
    as rendered (the table's older release) and each such action is reported as downgraded.
    """
    disk = newest(pinned_releases(on_disk))
    held: dict[str, Held] = {}
    pieces: list[str] = []
    last = 0
    for match, seen in _matches(rendered):
        mine = disk.get(seen.action)
        if mine is None or mine.version <= seen.version:
            continue
        held.setdefault(seen.action, Held(seen.action, mine.tag, seen.tag, allow_downgrade))
        if not allow_downgrade:
            pieces += [rendered[last : match.start()], f"{match['head']}{match['action']}@{mine.sha} # {mine.tag}"]
            last = match.end()
    pieces.append(rendered[last:])
    return "".join(pieces), tuple(held.values())


def _matches(text: str) -> list[tuple[re.Match[str], Seen]]:
    """The pinned ``uses:`` matches of ``text`` with what each pins."""
    by_line = {s.line: s for s in pinned_releases(text)}
    return [(m, by_line[line]) for m in USES.finditer(text) if (line := text.count("\n", 0, m.start()) + 1) in by_line]


@dataclass(frozen=True)
class Newer:
    """A release a repository's workflow runs that is newer than the pin table's."""

    action: str
    seen: Seen
    path: str
    """The workflow (relative to the repository) that pins it."""
    table: Pin


def newer_than_table(top: Path, pins: Mapping[str, Pin] = PINS) -> list[Newer]:
    """Per action of the table, the newest release the repository at ``top`` pins in its workflows, when it is newer
    than the table's (actions outside the table are not this tool's to pin)."""
    best: dict[str, tuple[Seen, str]] = {}
    for path in repo_workflows(top):
        for seen in pinned_releases(path.read_text(encoding="utf-8", errors="replace")):
            pin = pins.get(seen.action)
            table = version_of(pin.tag) if pin else None
            if table is None or seen.version <= table:
                continue
            if seen.action not in best or seen.version > best[seen.action][0].version:
                best[seen.action] = (seen, path.relative_to(top).as_posix())
    return [Newer(a, s, p, pins[a]) for a, (s, p) in sorted(best.items())]
