"""The conventions the engine reads and writes: conventional-commit subjects and the Keep a Changelog file.

- A commit subject ``type(scope)!: description`` (:data:`CONVENTIONAL_COMMIT`) has a class (``feat``, ``fix``, ...;
  ``!`` marks a breaking change); :data:`COMMIT_GROUPS` gives the CHANGELOG heading of each class, in order.
- ``CHANGELOG.md`` keeps the coming release's notes under ``## [Unreleased]`` and each release's under
  ``## [X.Y.Z] - date``.

Shared by every stage that classifies changes or writes notes (detect, bump, propose, the release steps).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from packaging.version import Version

CHANGELOG = "CHANGELOG.md"

# Conventional-commit types and the CHANGELOG heading each is grouped under (in this order).
COMMIT_GROUPS = {
    "feat": "Features",
    "fix": "Bug fixes",
    "perf": "Performance",
    "docs": "Documentation",
    "refactor": "Refactoring",
    "build": "Build",
    "ci": "CI",
    "test": "Tests",
    "chore": "Chores",
}
CONVENTIONAL_COMMIT = re.compile(r"^(?P<type>[a-z]+)(\([^)]*\))?(?P<bang>!)?:\s*(?P<desc>.+)$")
_UNRELEASED_RE = re.compile(r"^## \[Unreleased\][^\n]*$", re.MULTILINE | re.IGNORECASE)
_SECTION_RE = re.compile(r"^## ", re.MULTILINE)


def draft_notes(subjects: Sequence[str]) -> str:
    """Release notes from conventional-commit subjects, grouped by type (breaking changes first)."""
    groups: dict[str, list[str]] = {}
    for subject in subjects:
        if subject.startswith(("Bump ", "Merge ")):
            continue
        m = CONVENTIONAL_COMMIT.match(subject)
        if m and m.group("bang"):
            heading = "Breaking changes"
        elif m:
            heading = COMMIT_GROUPS.get(m.group("type"), "Other")
        else:
            heading = "Other"
        desc = m.group("desc") if m else subject
        groups.setdefault(heading, []).append(desc[:1].upper() + desc[1:])
    order = ["Breaking changes", *COMMIT_GROUPS.values(), "Other"]
    parts = []
    for heading in order:
        if heading in groups:
            parts.append(f"### {heading}\n\n" + "".join(f"- {item}\n" for item in groups[heading]))
    return "\n".join(parts) if parts else "- No notable changes.\n"


def update_changelog(text: str | None, version: Version, date: str, drafted: str) -> str:
    """Move ``[Unreleased]`` to ``[version] - date`` (or use ``drafted`` when it is empty or missing)."""
    header = f"## [{version}] - {date}"
    if text is None:
        return f"# Changelog\n\n## [Unreleased]\n\n{header}\n\n{drafted.rstrip()}\n"
    m = _UNRELEASED_RE.search(text)
    if m is None:
        first = _SECTION_RE.search(text)
        at = first.start() if first else len(text)
        prefix = text[:at] if first else text.rstrip("\n") + "\n\n"
        return f"{prefix}## [Unreleased]\n\n{header}\n\n{drafted.rstrip()}\n\n{text[at:]}".rstrip("\n") + "\n"
    nxt = _SECTION_RE.search(text, m.end())
    body_end = nxt.start() if nxt else len(text)
    body = text[m.end() : body_end].strip("\n")
    notes = body if body.strip() else drafted.rstrip()
    rest = text[body_end:]
    out = f"{text[: m.start()]}## [Unreleased]\n\n{header}\n\n{notes}\n"
    return out + ("\n" + rest if rest else "")


def unreleased_notes(text: str) -> str | None:
    """The body of the ``## [Unreleased]`` section (empty when it has none), or None without the section."""
    m = _UNRELEASED_RE.search(text)
    if m is None:
        return None
    nxt = _SECTION_RE.search(text, m.end())
    return text[m.end() : nxt.start() if nxt else len(text)].strip("\n")


def changelog_section(text: str, version: Version | str) -> str | None:
    """The body of the ``## [version]`` section (the GitHub Release notes), or None."""
    m = re.search(rf"^## \[{re.escape(str(version))}\][^\n]*$", text, re.MULTILINE)
    if m is None:
        return None
    nxt = _SECTION_RE.search(text, m.end())
    return text[m.end() : nxt.start() if nxt else len(text)].strip("\n") + "\n"
