"""Workflows only move forward: the releases a workflow already pins, and rendering that never goes back from them.

A repository's workflows can run a newer release of an action than :data:`juniper_release.github.pins.PINS` has
(Dependabot moved them, or a person did). Rendering over such a file keeps the newer pin (:func:`forward_only`), and
says so; only an explicit ``--allow-downgrade`` writes the table's older release (``invoke check`` warns about the
same newer releases: :func:`juniper_release.github.pins.newer_than_table`).

A release counts only when it is pinned as ``owner/name@<40-hex sha> # vX.Y.Z``: a full commit SHA next to a version
comment that :mod:`packaging` reads as a version (:func:`juniper_release.github.pins.pinned_releases`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from juniper_release.github.pins import USES, Seen, newest, pinned_releases


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
