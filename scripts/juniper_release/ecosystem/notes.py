"""Release notes: where each package keeps them (its convention), and what its pending notes ask for.

One rule in one place. A package keeps its notes in one of four ways (:data:`CONVENTIONS`):

- ``keepachangelog``: a ``CHANGELOG.md`` with a ``## [Unreleased]`` section (Keep a Changelog);
- ``other``: a changelog in another format (``CHANGELOG.rst``, ``CHANGES.md``, ``NEWS.txt``, ...), such as
  pypa/packaging's ``*unreleased*`` heading in ``CHANGELOG.rst``;
- ``fragments``: towncrier-style news fragments in a directory (``changelog.d/``, ``docs/changelog/``,
  ``newsfragments/``): one file per change, its type in its name (``123.feature.md``);
- ``releases``: no changelog file: the GitHub Releases are the notes.

The registry's ``notes`` field names it; without it, :func:`convention` detects it from the package's directory (or
from the files at a git revision). :func:`pending` reads the notes waiting for the next release in that convention,
and says which problems that convention can have: a package without a CHANGELOG never has an empty
``[Unreleased]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

from juniper_release.ecosystem.model import Package


class Convention(StrEnum):
    """How a package keeps its release notes."""

    KEEPACHANGELOG = "keepachangelog"
    OTHER = "other"
    FRAGMENTS = "fragments"
    RELEASES = "releases"


CONVENTIONS = tuple(c.value for c in Convention)
"""The registry's ``notes`` values."""

KEEPACHANGELOG_FILE = "CHANGELOG.md"

OTHER_FILES = tuple(
    f"{base}{name}.{ext}"
    for base in ("", "docs/", "doc/")
    for name in ("CHANGELOG", "changelog", "CHANGES", "changes", "NEWS", "news", "HISTORY", "history")
    for ext in ("rst", "md", "txt")
    if (base, ext) != ("", "md") or name != "CHANGELOG"
)
"""Changelogs in another format than Keep a Changelog's CHANGELOG.md, in the order they are looked for."""

FRAGMENT_DIRS = tuple(
    f"{base}{name}"
    for base in ("", "docs/", "doc/")
    for name in ("changelog.d", "changelog", "changes", "newsfragments")
)
"""Directories of towncrier-style news fragments."""

FRAGMENT_TYPES = {
    "breaking": "breaking",
    "removal": "breaking",
    "feature": "feature",
    "deprecation": "feature",
    "bugfix": "fix",
    "fix": "fix",
    "security": "fix",
    "performance": "fix",
}
"""Towncrier's fragment types (and common extras) and the bump each asks for; others (doc, misc) ask none."""

_KEEP_UNRELEASED_RE = re.compile(r"^## \[Unreleased\][^\n]*$", re.MULTILINE | re.IGNORECASE)
_OTHER_UNRELEASED_RE = re.compile(r"[*_`\[]*(unreleased|in development|upcoming)( changes)?[*_`\]:]*", re.IGNORECASE)
_UNDERLINE_RE = re.compile(r"^([=\-~^\"'`#*+.])\1{2,}\s*$")
_ITEM_RE = re.compile(r"^\s*([-*+]|\d+\.)\s+\S", re.MULTILINE)
_FRAGMENT_RE = re.compile(r"^[^.]+\.(?P<type>[a-z]+)(\.\d+)?(\.(md|rst|txt))?$")


@dataclass(frozen=True)
class Notes:
    """A package's convention, where its notes live (``None`` for GitHub Releases), and what is pending."""

    convention: Convention
    where: str | None
    pending: tuple[str, ...] = ()
    """The pending entries (their text), or fragment file names."""
    asks: tuple[str, ...] = ()
    """The kinds of change the pending notes name (``breaking``, ``feature``, ``fix``)."""
    empty: str | None = None
    """Why the pending notes are empty when the convention has a place for them (None: they are not, or it has
    none: a package whose notes are its GitHub Releases can never have empty pending notes)."""


# --------------------------------------------------------------------------------------------------- the convention


def _detect(is_file: Callable[[str], bool], is_dir: Callable[[str], bool]) -> tuple[Convention, str | None]:
    """The convention from what exists (relative paths in the package's directory)."""
    if is_file(KEEPACHANGELOG_FILE):
        return Convention.KEEPACHANGELOG, KEEPACHANGELOG_FILE
    for name in FRAGMENT_DIRS:
        if is_dir(name):
            return Convention.FRAGMENTS, name
    for name in OTHER_FILES:
        if is_file(name):
            return Convention.OTHER, name
    return Convention.RELEASES, None


def _located(
    pkg: Package, found: tuple[Convention, str | None], is_file: Callable[[str], bool], is_dir: Callable[[str], bool]
) -> tuple[Convention, str | None]:
    """The registry's ``notes`` field wins over detection; the place is still found from the files."""
    if pkg.notes is None:
        return found
    declared = Convention(pkg.notes)
    if declared is found[0]:
        return found
    if declared is Convention.KEEPACHANGELOG:
        return declared, KEEPACHANGELOG_FILE
    if declared is Convention.FRAGMENTS:
        return declared, next((d for d in FRAGMENT_DIRS if is_dir(d)), FRAGMENT_DIRS[0])
    if declared is Convention.OTHER:
        return declared, next((f for f in OTHER_FILES if is_file(f)), None)
    return declared, None


def convention(pkg: Package, root: Path) -> tuple[Convention, str | None]:
    """The package's convention and the place of its notes (relative to ``root``, its directory)."""

    def is_file(rel: str) -> bool:
        return (root / rel).is_file()

    def is_dir(rel: str) -> bool:
        return (root / rel).is_dir()

    return _located(pkg, _detect(is_file, is_dir), is_file, is_dir)


def convention_in(pkg: Package, names: Iterable[str]) -> tuple[Convention, str | None]:
    """The convention from the file names of a tree (``git ls-tree -r --name-only``, relative to the package)."""
    files = set(names)
    dirs = {str(parent) for name in files for parent in PurePosixPath(name).parents if str(parent) != "."}
    return _located(pkg, _detect(files.__contains__, dirs.__contains__), files.__contains__, dirs.__contains__)


# --------------------------------------------------------------------------------------------------- pending notes


def _keep_pending(text: str) -> Notes:
    m = _KEEP_UNRELEASED_RE.search(text)
    where = KEEPACHANGELOG_FILE
    if m is None:
        return Notes(Convention.KEEPACHANGELOG, where, empty=f"{where} has no [Unreleased] section")
    nxt = re.search(r"^## ", text[m.end() :], re.MULTILINE)
    body = text[m.end() : m.end() + nxt.start()] if nxt else text[m.end() :]
    items = tuple(line.strip() for line in body.splitlines() if _ITEM_RE.match(line))
    empty = None if items else f"{where}'s [Unreleased] is empty"
    return Notes(Convention.KEEPACHANGELOG, where, items, empty=empty)


def _is_heading(lines: list[str], k: int) -> bool:
    """Line ``k`` starts a section: a Markdown heading, or a line underlined by the next (reStructuredText)."""
    line = lines[k]
    if line.startswith("#") and not _UNDERLINE_RE.match(line):
        return True
    return bool(line.strip()) and k + 1 < len(lines) and bool(_UNDERLINE_RE.match(lines[k + 1]))


def _other_pending(where: str, text: str) -> Notes:
    """A changelog in another format: its "unreleased" heading (pypa/packaging's ``*unreleased*``, an underlined
    ``Unreleased``, ``## Unreleased``) and the items below it. Without such a heading nothing is said: the format
    keeps no pending notes in the file, and there is nothing to find empty."""
    lines = text.splitlines()
    at = next((i for i, line in enumerate(lines) if _OTHER_UNRELEASED_RE.fullmatch(line.strip("#").strip())), None)
    if at is None:
        return Notes(Convention.OTHER, where)
    k = at + 1
    while k < len(lines) and _UNDERLINE_RE.match(lines[k]):
        k += 1
    items: list[str] = []
    while k < len(lines) and not _is_heading(lines, k):
        if _ITEM_RE.match(lines[k]):
            items.append(lines[k].strip())
        k += 1
    empty = None if items else f"{where}'s unreleased section is empty"
    return Notes(Convention.OTHER, where, tuple(items), empty=empty)


def _fragments_pending(where: str, names: Iterable[str]) -> Notes:
    """News fragments: every file of the directory but its template and README; each type's bump."""
    found = sorted(n for n in names if not n.startswith((".", "template", "README", "_")))
    asks = tuple(dict.fromkeys(FRAGMENT_TYPES[t] for n in found if (t := _fragment_type(n)) in FRAGMENT_TYPES))
    empty = None if found else f"no news fragment in {where}/"
    return Notes(Convention.FRAGMENTS, where, tuple(found), asks, empty)


def _fragment_type(name: str) -> str | None:
    m = _FRAGMENT_RE.match(name)
    return m.group("type") if m else None


def pending(pkg: Package, root: Path) -> Notes:
    """The notes waiting for the next release of ``pkg`` (its directory ``root``), in its convention."""
    kind, where = convention(pkg, root)
    if kind is Convention.RELEASES or where is None:
        return Notes(kind, None)
    if kind is Convention.FRAGMENTS:
        directory = root / where
        return _fragments_pending(where, (p.name for p in directory.iterdir()) if directory.is_dir() else ())
    path = root / where
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return _keep_pending(text) if kind is Convention.KEEPACHANGELOG else _other_pending(where, text)


def pending_in(pkg: Package, names: Iterable[str], read: Callable[[str], str | None]) -> Notes:
    """:func:`pending` from a git tree: its file names (relative to the package) and a reader of one file."""
    listed = tuple(names)
    kind, where = convention_in(pkg, listed)
    if kind is Convention.RELEASES or where is None:
        return Notes(kind, None)
    if kind is Convention.FRAGMENTS:
        prefix = f"{where}/"
        return _fragments_pending(
            where, (n[len(prefix) :] for n in listed if n.startswith(prefix) and "/" not in n[len(prefix) :])
        )
    text = read(where) or ""
    return _keep_pending(text) if kind is Convention.KEEPACHANGELOG else _other_pending(where, text)


def edits_changelog(pkg: Package, root: Path, *, asked: bool = False) -> bool:
    """A bump moves the notes of a Keep a Changelog CHANGELOG.md; it creates one only when ``asked``
    (``--changelog``). Other conventions are never edited: the project updates them as it does."""
    kind, _where = convention(pkg, root)
    return kind is Convention.KEEPACHANGELOG or asked


def describe(notes: Notes) -> str:
    """One line: where the notes are kept."""
    if notes.convention is Convention.RELEASES:
        return "notes on the GitHub Releases (no changelog file)"
    if notes.convention is Convention.FRAGMENTS:
        return f"news fragments in {notes.where}/"
    if notes.convention is Convention.OTHER:
        return f"a changelog in its own format ({notes.where})"
    return f"Keep a Changelog ({notes.where})"
