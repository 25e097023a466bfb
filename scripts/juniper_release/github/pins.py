"""The one table of pinned GitHub Actions: every ``uses:`` of every workflow comes from here.

A moving reference (``actions/checkout@v5``, ``pypa/gh-action-pypi-publish@release/v1``) lets whoever controls the
action's repository change the code a workflow runs, inside a job that may hold an upload token. Every workflow this
tool renders (``templates/*.yml``: a template says ``uses: actions/checkout`` with no ref) and every workflow of this
repository (``.github/workflows/*.yml``) therefore references an action by a full commit SHA, with the tag it was
resolved from as a comment::

    - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1

The table is never older than what the ecosystem runs: ``invoke pin-actions --from-workspace`` (module
:mod:`juniper_release.github.pin_table`) proposes every newer release the package repositories' workflows pin, with
the SHA seen there. Otherwise, to move a pin, edit :data:`PINS` (resolve the new tag to its commit in the action's
own repository: ``git ls-remote https://github.com/OWNER/NAME refs/tags/TAG^{}``, else ``refs/tags/TAG``). Either
way, record the new release's inputs in :mod:`juniper_release.github.inputs`, then run ``invoke pin-actions
--write`` (this repository's workflows) and ``invoke workflows --write`` (each package repository; it never renders
an older release than a file already pins, :mod:`juniper_release.github.forward`). Dependabot
(``.github/dependabot.yml``, also rendered into every package repository) proposes new versions; its pull request is
the cue to move the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from packaging.version import InvalidVersion, Version

from juniper_release.errors import EXIT_FINDINGS, EXIT_OK, JuniperError, suggest
from juniper_release.files import unified_diff
from juniper_release.output import emit, to_stderr


@dataclass(frozen=True)
class Pin:
    """One action pinned to the commit its release tag pointed at."""

    action: str
    """``owner/name`` of the action's repository."""
    tag: str
    """The release tag the SHA was resolved from (the newest release of the major version in use)."""
    sha: str
    """The full 40-hex commit SHA the tag points at (an annotated tag peeled to its commit)."""

    @property
    def ref(self) -> str:
        """What follows ``uses:``: ``owner/name@sha # tag``."""
        return f"{self.action}@{self.sha} # {self.tag}"


def _table(*pins: Pin) -> Mapping[str, Pin]:
    return MappingProxyType({p.action: p for p in pins})


PINS: Mapping[str, Pin] = _table(
    # Each SHA was seen pinned next to its version in the Juniper repositories' own workflows (at their HEAD) and,
    # where the snapshot of the action's repository holds the tag, equals `git rev-parse TAG^{commit}` there.
    Pin("actions/checkout", "v7.0.1", "3d3c42e5aac5ba805825da76410c181273ba90b1"),  # Juniper workflows; tag
    Pin("actions/setup-python", "v7.0.0", "5fda3b95a4ea91299a34e894583c3862153e4b97"),  # Juniper workflows; tag
    Pin("actions/upload-artifact", "v7.0.1", "043fb46d1a93c77aae656e7c1c64a875d1fc6a0a"),  # Juniper workflows
    Pin("actions/download-artifact", "v8.0.1", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c"),  # Juniper workflows; tag
    Pin("astral-sh/setup-uv", "v7.6.0", "37802adc94f370d6bfd71619e3f0bf239e1f3b78"),  # tag (no Juniper repo uses it)
    Pin("pypa/gh-action-pypi-publish", "v1.14.2", "dc37677b2e1c63e2034f94d8a5b11f265b73ba33"),  # Juniper workflows
)
"""action (``owner/name``) -> its pin. One edit here moves every workflow."""

SHA = re.compile(r"[0-9a-f]{40}")

USES = re.compile(
    r"^(?P<head>[ \t]*(?:-[ \t]+)?uses:[ \t]*)"
    r"(?P<quote>[\"']?)(?P<action>[^@\s\"'#]+)(?:@(?P<ref>[^\s\"'#]+))?(?P=quote)"
    r"(?P<comment>[ \t]+#[^\n]*)?[ \t]*$",
    re.M,
)
"""A ``uses:`` line (a step's or a reusable workflow's): the action, its ref (if any) and a trailing comment."""


def is_local(action: str) -> bool:
    """``./path`` (an action in the same repository) and ``docker://`` images are not GitHub action references."""
    return action.startswith(("./", "docker://"))


def pin_for(action: str, where: str) -> Pin:
    """The pin of ``action`` (``owner/name``, or ``owner/name/sub/dir`` for an action in a sub-directory)."""
    repo = "/".join(action.split("/")[:2])
    pin = PINS.get(repo)
    if pin is None:
        raise JuniperError(
            f"{where}: {action} has no pin in scripts/juniper_release/github/pins.py",
            "add it to PINS with the commit SHA its newest release tag points at",
        )
    return pin


def pinned_uses(action: str, where: str) -> str:
    """``action@sha # tag`` for ``action`` (which may name a sub-directory of the pinned repository)."""
    pin = pin_for(action, where)
    return f"{action}@{pin.sha} # {pin.tag}"


def apply_pins(text: str, where: str, *, only_bare: bool = False) -> str:
    """Every ``uses:`` of a workflow rewritten to its pin from :data:`PINS` (local and docker references kept).

    With ``only_bare`` (templates) only a ``uses:`` without a ``@ref`` is pinned and any other is left as written.
    An action missing from the table is an error naming ``where``.
    """

    def repl(match: re.Match[str]) -> str:
        action = match["action"]
        if is_local(action) or (only_bare and match["ref"] is not None):
            return match[0]
        return f"{match['head']}{pinned_uses(action, where)}"

    return USES.sub(repl, text)


@dataclass(frozen=True)
class Unpinned:
    """A ``uses:`` that is not pinned to a full commit SHA, or lacks the ``# tag`` comment saying which release."""

    line: int
    uses: str
    why: str


def unpinned(text: str) -> list[Unpinned]:
    """Every ``uses:`` of ``text`` that does not reference a full 40-hex commit SHA with a version comment."""
    found: list[Unpinned] = []
    for match in USES.finditer(text):
        action, ref, comment = match["action"], match["ref"], match["comment"]
        if action.startswith("./"):
            continue
        line = text.count("\n", 0, match.start()) + 1
        shown = f"{action}@{ref}" if ref else action
        if action.startswith("docker://"):
            if not (ref or "").startswith("sha256:"):
                found.append(Unpinned(line, shown, "a docker image by tag, not by digest"))
        elif ref is None or not SHA.fullmatch(ref):
            found.append(Unpinned(line, shown, "a moving tag or branch, not a commit SHA"))
        elif comment is None or not comment.strip().lstrip("#").strip():
            found.append(Unpinned(line, shown, "no `# vX.Y.Z` comment saying which release the SHA is"))
    return found


def repo_workflows(root: Path) -> list[Path]:
    """This repository's workflow files (``.github/workflows/*.yml`` and ``*.yaml``), sorted."""
    folder = root / ".github" / "workflows"
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def stale_repo_workflows(root: Path) -> dict[Path, str]:
    """This repository's workflows whose ``uses:`` differ from the table: {path: text with the pins applied}."""
    out: dict[Path, str] = {}
    for path in repo_workflows(root):
        text = path.read_text(encoding="utf-8")
        pinned = apply_pins(text, str(path.relative_to(root)))
        if pinned != text:
            out[path] = pinned
    return out


# ----------------------------------------------------------------------- releases a workflow already pins


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


PIN_COMMAND = "invoke pin-actions --write"
"""Rewrites this repository's workflows from :data:`PINS` (the package repositories': ``invoke workflows --write``)."""


def run_pin_actions(
    root: Path, *, write: bool, out: Callable[[str], None] = emit, err: Callable[[str], None] = to_stderr
) -> int:
    """Check (default) or rewrite this repository's workflows against :data:`PINS`.

    Checking prints a unified diff per stale workflow and returns EXIT_FINDINGS with the fix on ``err``; writing
    rewrites them and returns EXIT_OK.
    """
    stale = stale_repo_workflows(root)
    for path, text in stale.items():
        rel = path.relative_to(root).as_posix()
        if write:
            path.write_text(text, encoding="utf-8")
            out(f"pinned {rel}")
        else:
            out(unified_diff(path.read_text(encoding="utf-8"), text, rel))
    total = len(repo_workflows(root))
    if write or not stale:
        out(f"{len(stale)} workflow file(s) re-pinned, {total - len(stale)} already match the pin table")
        return EXIT_OK
    err(f"{len(stale)} workflow(s) differ from the pin table. Fix: run `{suggest(PIN_COMMAND)}` and commit")
    return EXIT_FINDINGS
