"""Move the pin table forward from what the ecosystem already runs (``invoke pin-actions --from-workspace``).

The stored snapshots of the actions' own repositories can be older than the releases the package repositories pin.
Their workflows are real, public evidence: ``owner/name@<40-hex sha> # vX.Y.Z``. For every action of
:data:`juniper_release.github.pins.PINS`, the newest release pinned anywhere in the workspace that is newer than the
table's is proposed, as a diff of ``pins.py`` (and of the table in docs/pins.md). A proposal takes only a SHA that was seen
pinned next to that version comment; a version seen with two different SHAs is refused, naming both places.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from juniper_release.ecosystem.registry import Registry, require_checkout
from juniper_release.errors import EXIT_FINDINGS, EXIT_OK, JuniperError, suggest
from juniper_release.files import unified_diff, write_text
from juniper_release.github import pins as pins_module
from juniper_release.github.inputs import DECLARED
from juniper_release.github.pins import PIN_COMMAND, PINS, Pin, Seen, pinned_releases, repo_workflows, version_of
from juniper_release.output import emit, to_stderr

TABLE_FILE = Path(pins_module.__file__).resolve()
"""The source file holding :data:`PINS` (what ``--write`` edits)."""


@dataclass(frozen=True)
class Evidence:
    """One pinned release seen in one workflow of one repository."""

    repo: str
    path: str
    seen: Seen

    @property
    def where(self) -> str:
        return f"{self.repo}/{self.path}:{self.seen.line}"


@dataclass(frozen=True)
class Proposal:
    """A newer release of a pinned action, with every place it was seen pinned."""

    old: Pin
    new: Pin
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Refusal:
    """A newer release that cannot be taken: the same version comment names different commits."""

    action: str
    tag: str
    shas: tuple[str, ...]
    evidence: tuple[Evidence, ...]

    def __str__(self) -> str:
        places = "; ".join(f"{e.seen.sha[:12]} in {e.where}" for e in self.evidence)
        return (
            f"{self.action} {self.tag} is pinned to {len(self.shas)} different commits ({places}). Fix: resolve the "
            f"tag in the action's own repository and correct the wrong workflow"
        )


def workspace_evidence(registry: Registry, workspace: Path) -> list[Evidence]:
    """Every pinned release in the workflows of every repository of the registry (each repository read once)."""
    out: list[Evidence] = []
    repos: set[str] = set()
    for pkg in registry.packages:
        if pkg.repo in repos:
            continue
        repos.add(pkg.repo)
        top = pkg.repo_dir(workspace)  # a sub-package missing from an older snapshot leaves its repository readable
        if not top.is_dir():
            require_checkout(pkg, workspace)  # the one "no checkout" error and its fix
        for path in repo_workflows(top):
            rel = path.relative_to(top).as_posix()
            out += [Evidence(pkg.repo, rel, s) for s in pinned_releases(path.read_text("utf-8", errors="replace"))]
    return out


def propose(evidence: Sequence[Evidence], pins: Mapping[str, Pin] = PINS) -> tuple[list[Proposal], list[Refusal]]:
    """Per action of the table, the newest release seen that is newer than the table's, unless its SHA is disputed
    (then the next newer undisputed one is not taken either: the newest must be settled first)."""
    proposals: list[Proposal] = []
    refusals: list[Refusal] = []
    for action, pin in pins.items():
        current = version_of(pin.tag)
        newer = [e for e in evidence if e.seen.action == action and current is not None and e.seen.version > current]
        if not newer:
            continue
        best = max(e.seen.version for e in newer)
        top = [e for e in newer if e.seen.version == best]
        tag = top[0].seen.tag
        shas = tuple(dict.fromkeys(e.seen.sha for e in top))
        if len(shas) > 1:
            refusals.append(Refusal(action, tag, shas, tuple(top)))
            continue
        proposals.append(Proposal(pin, Pin(action, tag, shas[0]), tuple(top)))
    return proposals, refusals


def _pin_line(pin: Pin) -> re.Pattern[str]:
    return re.compile(
        rf'^(?P<head>\s*Pin\("{re.escape(pin.action)}", )"{re.escape(pin.tag)}", "{pin.sha}"\),(?P<comment>.*)$', re.M
    )


def rewrite_table(source: str, proposals: Sequence[Proposal]) -> str:
    """``pins.py``'s text with each proposal's ``Pin(...)`` line moved to the new release, its comment naming where
    the SHA was seen. A line that is not where the table says is an error (edited by hand since import)."""
    for p in proposals:
        match = _pin_line(p.old).search(source)
        if match is None:
            raise JuniperError(
                f'{TABLE_FILE.name}: no line `Pin("{p.old.action}", "{p.old.tag}", "{p.old.sha}")`',
                "restore the table's one-line Pin(...) entries (`git diff` it), then re-run",
            )
        where = f"  # pinned in {p.evidence[0].repo}" if p.evidence else ""
        moved = f'{match["head"]}"{p.new.tag}", "{p.new.sha}"),{where}'
        source = source[: match.start()] + moved + source[match.end() :]
    return source


def rewrite_readme(text: str, proposals: Sequence[Proposal]) -> str:
    """The pinned-actions table of docs/pins.md with each proposal's row moved (rows it does not hold are left alone)."""
    for p in proposals:
        row = re.compile(rf"^\| {re.escape(p.old.action)} \| {re.escape(p.old.tag)} \| {p.old.sha} \|$", re.M)
        text = row.sub(f"| {p.new.action} | {p.new.tag} | {p.new.sha} |", text)
    return text


def proposal_lines(proposals: Sequence[Proposal]) -> list[str]:
    """One line per proposal: the move, the commit, and where it was seen pinned next to that version."""
    return [
        f"{p.new.action} {p.old.tag} -> {p.new.tag} ({p.new.sha}), pinned in {p.evidence[0].where}"
        + (f" and {len(p.evidence) - 1} more place(s)" if len(p.evidence) > 1 else "")
        for p in proposals
    ]


def run_from_workspace(
    registry: Registry,
    workspace: Path,
    *,
    write: bool,
    table_file: Path = TABLE_FILE,
    readme: Path | None = None,
    out: Callable[[str], None] = emit,
    err: Callable[[str], None] = to_stderr,
) -> int:
    """Propose (dry run: the diff, EXIT_FINDINGS when the table is older) or write the newer pins the workspace runs."""
    proposals, refusals = propose(workspace_evidence(registry, workspace))
    for refusal in refusals:
        err(f"refused: {refusal}")
    if not proposals:
        out("the pin table is at least as new as every pinned action in the workspace's workflows")
        return EXIT_FINDINGS if refusals else EXIT_OK
    for line in proposal_lines(proposals):
        out(line)
    files: dict[Path, tuple[str, str]] = {}
    old = table_file.read_text(encoding="utf-8")
    files[table_file] = (old, rewrite_table(old, proposals))
    if readme is not None and readme.is_file():
        text = readme.read_text(encoding="utf-8")
        files[readme] = (text, rewrite_readme(text, proposals))
    unrecorded = [f"{p.new.action} {p.new.tag}" for p in proposals if (p.new.action, p.new.tag) not in DECLARED]
    for path, (before, after) in files.items():
        if write:
            write_text(path, after)
            out(f"wrote {path.name}")
        else:
            out(unified_diff(before, after, path.name))
    if unrecorded:
        err(f"record the inputs of {', '.join(unrecorded)} in github/inputs.py (from each release's action.yml)")
    if write:
        err(
            f"next: `{suggest(PIN_COMMAND)}` (this repository) and `{suggest('invoke workflows --write')}` (each package repo)"
        )
        return EXIT_FINDINGS if refusals else EXIT_OK
    fix = suggest("invoke pin-actions --from-workspace --write")
    err(f"the pin table is older than the workspace's workflows for {len(proposals)} action(s). Fix: run `{fix}`")
    return EXIT_FINDINGS
