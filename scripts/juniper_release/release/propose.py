"""``invoke propose``: each release as a pull request, so a protected ``main`` gets its bumps through review.

For each package chosen (by ``invoke detect``, or ``--packages``), in dependency order:

- a branch ``release/<name>-<version>`` holding one commit: the version edited through the one version rule
  (:mod:`juniper_release.ecosystem.versions`: pyproject or the version file, every ``__version__`` literal in
  lockstep; a version from git tags has no file, and its release's tag is the version), the CHANGELOG's
  ``[Unreleased]`` moved to ``[X.Y.Z] - date`` under a fresh empty ``[Unreleased]`` (an empty one is refused unless
  ``--draft-notes`` drafts it from the commits, marked as drafted), and every consumer pin *in the same repository*
  whose ceiling the bump escapes, raised (:mod:`juniper_release.release.ceilings`: the ceiling only);
- a follow-on PR for each consumer in another repository (``deps/<upstream>-ceiling-<new>``), citing the proposal;
- the proposal PR: title, drafted notes, the detect evidence, the follow-ons and the reviewer's checklist.

A dry run (the default) prints every diff, title and body and writes nothing. ``--execute`` pushes the branches
and opens the PRs through the GitHub adapter: a PR already open for the same branch is reported, not duplicated; a
repository the token cannot push to is skipped with that reason; a re-run opens nothing new. The branch is made in a
temporary worktree from ``origin/<branch>``: the maintainer's checkout is never touched, and each file the proposal
edits must read on ``origin/<branch>`` as it does in the checkout (else: pull first).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from shlex import quote
from typing import TYPE_CHECKING

from packaging.version import Version

from juniper_release import commands
from juniper_release.ecosystem.graph import build_graph
from juniper_release.ecosystem.registry import Package, Registry
from juniper_release.errors import JuniperError
from juniper_release.files import newline_of, universal_newlines
from juniper_release.gitops import Git
from juniper_release.output import NORMAL, QUIET, VERBOSE, diffstat, paint_diff, printable
from juniper_release.release import apireview
from juniper_release.release.ceilings import escaped_ceilings
from juniper_release.release.versioning import (
    CHANGELOG,
    BumpPlan,
    FileEdit,
    changelog_path,
    plan_bump,
    unreleased_notes,
)

if TYPE_CHECKING:
    from juniper_release.github.forge import GitHub

DRAFTED = "<!-- drafted from the commits by juniper-release: review and edit before merging -->"


@dataclass
class Change:
    """One branch, one commit and one PR: a proposal, or a follow-on in another repository."""

    package: str
    repo: str
    root: Path
    """The repository checkout the edits are relative to."""
    branch: str
    title: str
    body: str
    edits: list[FileEdit] = field(default_factory=list)
    refused: str | None = None
    """Why this change is not made (a changelog conflict, an empty [Unreleased] without --draft-notes)."""
    message: str | None = None
    """The commit message (default: the title)."""

    def diff(self) -> str:
        return "".join(e.diff(self.root) for e in self.edits)

    @property
    def commit_message(self) -> str:
        return self.message or self.title


@dataclass
class Proposal:
    package: Package
    old: Version
    new: Version
    change: Change
    followons: list[Change] = field(default_factory=list)


def release_branch(pkg: Package, version: Version) -> str:
    return f"release/{pkg.name}-{version}"


def ceiling_branch(upstream: Package, version: Version) -> str:
    return f"deps/{upstream.name}-ceiling-{version}"


def _ceiling_edits(
    registry: Registry, workspace: Path, pkg: Package, new: Version
) -> dict[str, tuple[Package, FileEdit, list[str]]]:
    """Per consumer whose pin on ``pkg`` escapes ``new``: its pyproject with only the ceiling raised, and the lines."""
    out: dict[str, tuple[Package, FileEdit, list[str]]] = {}
    for found in escaped_ceilings(registry, workspace, pkg, new):
        lines = []
        for pin in found.pins:
            where = f"[{pin.extra}] " if pin.extra else ""
            if pin.new is None:
                lines.append(f"{where}{pin.old} pins {pkg.name}: not a ceiling, left for the maintainer")
            else:
                lines.append(f"{where}{pin.old} -> {pin.new}")
        edit = FileEdit(found.pyproject, found.old_text, found.new_text)
        out[found.consumer.name] = (found.consumer, edit, lines)
    return out


def _checklist(pkg: Package, new: Version, followons: Sequence[Change], vcs: bool, breaking: bool = False) -> str:
    items = [
        f"the version {new} is the right bump for these changes (see the evidence)",
        "the CHANGELOG section says what a user of the package needs to know",
        "CI passed on this branch",
    ]
    if breaking:
        items.append("the migration notes under Breaking changes are filled in for every breaking change")
    if vcs:
        items.append(f"after the merge, the release tags the merged commit {pkg.tag_for(new)}: that tag is the version")
    if followons:
        items.append("the follow-on PRs are merged after this one is released")
    return "\n".join(f"- [ ] {item}" for item in items)


def plan_proposal(
    registry: Registry,
    workspace: Path,
    name: str,
    part: str | None = None,
    *,
    to: str | None = None,
    draft_notes: bool = False,
    evidence: str = "",
    conflict: str | None = None,
    today: dt.date | None = None,
    branch: str | None = None,
) -> Proposal:
    """The proposal for ``name``: its branch, commit, PR and follow-ons, computed without writing anything. A member
    of a lockstep group proposes the group: every member in the one commit (``release/<group>-<version>``).
    ``branch``: a maintenance branch (the checkout is on it; the version must be in its line)."""
    pkg = registry.get(name)
    plan = plan_bump(registry, workspace, name, part, to=to, today=today, branch=branch)
    subject = plan.group or pkg.name
    edits, notes, refused = _notes_edits(plan.edits, plan.new, subject, draft_notes)
    if conflict:
        refused = f"changelog conflict: {conflict}"
    followons: list[Change] = []
    for member in registry.group_members(pkg):
        for consumer, (other, edit, lines) in _ceiling_edits(registry, workspace, member, plan.new).items():
            if other.repo == pkg.repo:
                edits.append(edit)
                continue
            followons.append(_followon(registry, workspace, member, plan.new, consumer, other, edit, lines))
    vcs = plan.vcs is not None
    section = _notes_section(plan, notes)
    members = ", ".join(p.name for p in registry.group_members(pkg)) if plan.group else ""
    api, breaking = _api_section(registry, workspace, pkg, plan)
    body = "\n\n".join(
        part
        for part in (
            f"Release **{subject} {plan.new}** (from {plan.old})."
            + (f" A lockstep group: {members} move together, one tag." if members else ""),
            f"## Notes\n\n{section}",
            api,
            f"## Evidence\n\n{evidence.strip()}" if evidence.strip() else "",
            "## Follow-ons\n\n" + "\n".join(f"- {f.repo}: {f.title} (`{f.branch}`)" for f in followons)
            if followons
            else "",
            "## Reviewer checklist\n\n" + _checklist(pkg, plan.new, followons, vcs, breaking),
        )
        if part
    )
    head = f"release/{subject}-{plan.new}" if plan.group else release_branch(pkg, plan.new)
    change = Change(pkg.name, pkg.repo, pkg.repo_dir(workspace), head, f"Release {subject} {plan.new}", body, edits)
    change.refused = refused
    for follow in followons:
        follow.body += f"\n\nTriggered by the proposal {pkg.repo}: {change.title} (`{change.branch}`)."
    return Proposal(pkg, plan.old, plan.new, change, followons)


def _notes_edits(
    planned: Sequence[FileEdit], new: Version, subject: str, draft_notes: bool
) -> tuple[list[FileEdit], str, str | None]:
    """The bump's edits with each CHANGELOG whose ``[Unreleased]`` is empty marked as drafted, the notes written
    (the members' own, for a group), and why the proposal is refused: every CHANGELOG's ``[Unreleased]`` empty
    without ``--draft-notes``."""
    edits: list[FileEdit] = []
    written: list[str] = []
    drafted = False
    for edit in planned:
        if edit.path.name != CHANGELOG:
            edits.append(edit)
            continue
        notes = (unreleased_notes(edit.old) or "").strip() if edit.old is not None else ""
        if notes:
            written.append(notes)
            edits.append(edit)
            continue
        drafted = True
        edits.append(FileEdit(edit.path, edit.old, _mark_drafted(edit.new, new)))
    refused = None
    if drafted and not written and not draft_notes:
        refused = (
            f"{subject}: its CHANGELOG [Unreleased] is empty; write the notes, or pass --draft-notes to "
            "draft them from the commits (marked as drafted)"
        )
    return edits, "\n\n".join(written), refused


def _followon(
    registry: Registry,
    workspace: Path,
    pkg: Package,
    new: Version,
    consumer: str,
    other: Package,
    edit: FileEdit,
    lines: Sequence[str],
) -> Change:
    """The follow-on PR raising ``consumer``'s ceiling on ``pkg`` in its own repository."""
    return Change(
        consumer,
        other.repo,
        other.repo_dir(workspace),
        ceiling_branch(pkg, new),
        f"Allow {pkg.name} {new} in {consumer}",
        f"{pkg.name} {new} escapes {consumer}'s ceiling. This raises the ceiling only (the floor and "
        "the other specifiers stay), and notes it in the CHANGELOG's [Unreleased] (its next release "
        "ships it):\n\n" + "\n".join(f"- `{line}`" for line in lines),
        [edit, *_changelog_entry(other.checkout(workspace), "Fixed", f"Allow {pkg.name} {new}.")],
        message=f"fix(deps): allow {pkg.name} {new}",
    )


def _notes_section(plan: BumpPlan, notes: str) -> str:
    """The PR's notes: the CHANGELOGs' [Unreleased], else drafted from the commits (they go on the GitHub Release
    where the package keeps no CHANGELOG it edits)."""
    if notes.strip():
        return notes.strip()
    if plan.notes_only or not any(e.path.name == CHANGELOG for e in plan.edits):
        return f"(drafted from the commits; no CHANGELOG: these go on the GitHub Release)\n\n{plan.drafted.strip()}"
    return "(drafted from the commits: see the CHANGELOG diff)"


def _api_section(registry: Registry, workspace: Path, pkg: Package, plan: BumpPlan) -> tuple[str, bool]:
    """The PR's "Breaking changes" section and whether anything breaks; for a lockstep group, each member's (from
    the group's tag), under its name."""
    members = registry.group_members(pkg)
    found = []
    for member in members:
        root = plan.root if member is pkg else member.checkout(workspace)
        text, breaks = apireview.breaking_section(apireview.proposal_diff(member, Git(root), plan.old, "HEAD"))
        if text and len(members) > 1:
            text = text.replace("## Breaking changes", f"## Breaking changes: {member.name}", 1)
        found.append((text, breaks))
    return "\n\n".join(text for text, _ in found if text), any(breaks for _, breaks in found)


def _changelog_entry(root: Path, heading: str, entry: str) -> list[FileEdit]:
    """The consumer's CHANGELOG with ``entry`` under ``### heading`` in ``[Unreleased]`` (none without one)."""
    path = changelog_path(root, root.name)
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    marker = "## [Unreleased]\n"
    if marker not in text:
        return []
    return [FileEdit(path, text, text.replace(marker, f"{marker}\n### {heading}\n\n- {entry}\n", 1))]


def _mark_drafted(text: str, version: Version) -> str:
    header = f"## [{version}]"
    at = text.find(header)
    if at < 0:
        return text
    end = text.index("\n", at) + 1
    return f"{text[:end]}\n{DRAFTED}\n{text[end:]}"


def plan_proposals(
    registry: Registry,
    workspace: Path,
    parts: Mapping[str, str],
    *,
    draft_notes: bool = False,
    evidence: Mapping[str, str] | None = None,
    conflicts: Mapping[str, str] | None = None,
    today: dt.date | None = None,
    branch: str | None = None,
) -> list[Proposal]:
    """One proposal per package of ``parts`` (name -> major/minor/patch), in dependency order; the members of a
    lockstep group make one proposal, with the largest of their parts, their evidence and any conflict."""
    graph = build_graph(registry, workspace)
    proposals: list[Proposal] = []
    done: set[str] = set()
    for pkg in graph.release_order(parts):
        if pkg.name in done:
            continue
        named = [p.name for p in registry.group_members(pkg) if p.name in parts]
        done.update(named)
        found = [(evidence or {}).get(n, "") for n in named]
        clash = [f"{n}: {c}" if len(named) > 1 else c for n in named if (c := (conflicts or {}).get(n))]
        proposals.append(
            plan_proposal(
                registry,
                workspace,
                pkg.name,
                max((parts[n] for n in named), key=_PART_ORDER.index),
                draft_notes=draft_notes,
                evidence="\n\n".join(
                    f"**{n}**: {e}" if len(named) > 1 else e for n, e in zip(named, found, strict=True) if e
                ),
                conflict="; ".join(clash) or None,
                today=today,
                branch=branch,
            )
        )
    return proposals


_PART_ORDER = ("release", "pre", "patch", "minor", "major")


def render(proposals: Sequence[Proposal]) -> str:
    """The dry run: every change's diff, title and body, and its follow-ons."""
    out: list[str] = []
    for proposal in proposals:
        for change in (proposal.change, *proposal.followons):
            kind = "proposal" if change is proposal.change else "follow-on"
            shown = printable(f"==== {kind} {change.repo}: {change.title} (branch {change.branch})")
            out.append(shown)
            if change.refused:
                out.append(printable(f"refused: {change.refused}"))
            out.append(paint_diff(printable(change.diff().rstrip("\n"), multiline=True)))  # CHANGELOG lines
            out.append(printable(f"---- PR body\n{change.body}", multiline=True))
    return "\n".join(out) + "\n"


def digest(proposals: Sequence[Proposal]) -> str:
    """The dry run in one line per change: repository, title, branch, files and lines (``-v``: :func:`render`)."""
    out: list[str] = []
    for proposal in proposals:
        for change in (proposal.change, *proposal.followons):
            kind = "proposal" if change is proposal.change else "follow-on"
            added, removed = diffstat(change.diff())
            size = f"{len(change.edits)} file(s), +{added} -{removed}"
            out.append(f"{kind} {change.repo}: {change.title} (branch {change.branch}; {size})")
            if change.refused:
                out.append(f"  refused: {change.refused}")
    return "\n".join(out) + ("\n(the diffs and pull-request bodies: add -v)\n" if out else "")


# ------------------------------------------------------------------------------------------------------- execute


def _prepare_branch(change: Change, base: str, say: Callable[[str], None]) -> bool:
    """Push ``change.branch`` with its one commit, made in a temporary worktree from origin's current ``<base>``.
    A branch origin has already (an earlier run's, whose PR was closed unmerged or never opened) is reused only
    when it is exactly that commit's content on that head; else it is rebuilt and replaced (``--force-with-lease``
    on the sha just fetched), so the PR body always matches the branch. False when nothing was pushed."""
    git = Git(change.root)
    git.fetch()
    remote_ref = f"refs/remotes/origin/{change.branch}"
    old_tip = git.run("rev-parse", remote_ref) if git.ok("rev-parse", "-q", "--verify", remote_ref) else None
    _check_applies(change, git, base)
    scratch = Path(tempfile.mkdtemp(prefix="juniper-propose-"))
    (scratch / WORKTREE_MARKER).write_text(f"{os.getpid()}\n", encoding="utf-8")
    tree = scratch / "tree"
    try:
        git.run("worktree", "add", "--quiet", "--detach", str(tree), f"origin/{base}")
        work = Git(tree)
        for edit in change.edits:
            target = tree / edit.path.relative_to(change.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(edit.new, encoding="utf-8", newline=newline_of(target if target.exists() else edit.path))
        work.run("add", "--", *(e.path.relative_to(change.root).as_posix() for e in change.edits))
        work.run("commit", "--quiet", "-m", change.commit_message)
        if old_tip is not None and _same_change(git, old_tip, work.run("rev-parse", "HEAD")):
            return False
        lease = f"--force-with-lease=refs/heads/{change.branch}:{old_tip or ''}"
        work.run("push", "--quiet", lease, "origin", f"HEAD:refs/heads/{change.branch}")
        say(f"  pushed {change.branch} to {change.repo}" + (f" (rebuilt on origin/{base})" if old_tip else ""))
    finally:
        if tree.exists():
            git.run("worktree", "remove", "--force", str(tree))
        shutil.rmtree(scratch, ignore_errors=True)
    return True


def _check_applies(change: Change, git: Git, base: str) -> None:
    """Every edit starts from the file as origin's ``<base>`` has it, or the proposal would not apply."""
    for edit in change.edits:
        rel = edit.path.relative_to(change.root).as_posix()
        on_base = (
            git.run("show", f"origin/{base}:{rel}", strip=False)
            if git.ok("cat-file", "-e", f"origin/{base}:{rel}")
            else None
        )
        if (on_base if on_base is None else universal_newlines(on_base)) != edit.old:  # CRLF on origin reads as LF
            raise JuniperError(
                f"{change.repo}: {rel} in the checkout differs from origin/{base}; the proposal would not apply",
                f"update the checkout (`git -C {quote(str(change.root))} pull --ff-only origin {quote(base)}`), then re-run",
            )


def _same_change(git: Git, old: str, new: str) -> bool:
    """The branch's commit ``old`` is the rebuilt ``new``: the same parent (origin's head) and the same tree."""
    return (
        git.run("rev-parse", f"{old}^{{tree}}") == git.run("rev-parse", f"{new}^{{tree}}")
        and git.run("rev-list", "--parents", "-n", "1", old).split()[1:]
        == git.run("rev-list", "--parents", "-n", "1", new).split()[1:]
    )


WORKTREE_MARKER = "made-by-juniper-release-propose"
"""The file beside each temporary worktree propose makes, holding the PID of the run that made it: a later run
removes a worktree left by a killed run (SIGKILL: no ``finally``) only when this file says propose made it and its
run is gone."""


def prune_stale_worktrees(root: Path, say: Callable[[str], None]) -> list[Path]:
    """Remove the temporary worktrees of earlier propose runs on ``root`` that were killed: registered with git,
    beside a :data:`WORKTREE_MARKER`, whose PID no longer runs. Any other worktree is left alone. The removed ones."""
    git = Git(root)
    removed: list[Path] = []
    for line in git.run("worktree", "list", "--porcelain").splitlines():
        tree = Path(line.removeprefix("worktree ")) if line.startswith("worktree ") else None
        marker = tree.parent / WORKTREE_MARKER if tree is not None else None
        if tree is None or marker is None or not marker.is_file() or _runs(marker.read_text(encoding="utf-8")):
            continue
        git.run("worktree", "remove", "--force", str(tree))
        shutil.rmtree(tree.parent, ignore_errors=True)
        say(f"  removed {tree}, left by a propose run that was killed")
        removed.append(tree)
    return removed


def _runs(pid_text: str) -> bool:
    """The PID in a marker is a process still running (an unreadable marker counts as running: left alone)."""
    try:
        os.kill(int(pid_text.strip()), 0)
    except ValueError:
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def open_change(change: Change, forge: GitHub, base: str, say: Callable[[str], None]) -> str:
    """Open one change's PR (idempotent): the outcome line."""
    if change.refused:
        return f"refused: {change.refused}"
    prune_stale_worktrees(change.root, say)
    if not forge.can_push(change.repo):
        return f"skipped: the token cannot push to {change.repo}"
    existing = forge.find_open_pull(change.repo, change.branch, base)
    if existing is not None:
        return f"already open: #{existing.number} {existing.html_url}"
    _prepare_branch(change, base, say)
    pull = forge.create_pull(change.repo, change.branch, base, change.title, change.body)
    return f"opened #{pull.number} {pull.html_url}"


def execute(
    proposals: Sequence[Proposal],
    forge: GitHub,
    base: str,
    say: Callable[[str], None],
    progress: Callable[[str, str], None] | None = None,
) -> list[tuple[str, str, str]]:
    """Push and open every change: (repo, title, outcome) rows; a follow-on cites its proposal's PR. ``progress``
    is told of each branch's phase (``opening``, then the first word of its outcome)."""
    rows: list[tuple[str, str, str]] = []
    tell = progress or (lambda _branch, _phase: None)

    def opened(change: Change) -> str:
        tell(change.branch, "opening")
        outcome = open_change(change, forge, base, say)
        tell(change.branch, "proposed" if outcome.startswith(("opened", "already open")) else outcome.split(":")[0])
        return outcome

    for proposal in proposals:
        outcome = opened(proposal.change)
        rows.append((proposal.change.repo, proposal.change.title, outcome))
        for follow in proposal.followons:
            if proposal.change.refused:
                tell(follow.branch, "held")
                rows.append((follow.repo, follow.title, f"held: its proposal was refused ({proposal.package.name})"))
                continue
            if outcome.startswith(("opened", "already open")):
                follow.body += f"\n\nThe proposal's PR: {outcome.split(' ', 2)[-1]}"
            rows.append((follow.repo, follow.title, opened(follow)))
    return rows


def run(
    registry: Registry,
    workspace: Path,
    parts: Mapping[str, str],
    *,
    draft_notes: bool = False,
    execute_: bool = False,
    forge: GitHub | None = None,
    evidence: Mapping[str, str] | None = None,
    conflicts: Mapping[str, str] | None = None,
    out: Callable[[str], None] = print,
    today: dt.date | None = None,
    verbosity: int = NORMAL,
    branch: str | None = None,
) -> int:
    """``invoke propose``: print the proposals (a dry run), or push and open them; the exit code (1 when a change was
    refused or skipped). By default a digest (one line per change), ``-v`` the diffs and bodies, ``-q`` the summary
    alone; executed, the pushes and
    pull requests show a live progress display on a terminal."""
    from juniper_release import output as report
    from juniper_release.github.forge import GitHub
    from juniper_release.progress import Board

    proposals = plan_proposals(
        registry,
        workspace,
        parts,
        draft_notes=draft_notes,
        evidence=evidence,
        conflicts=conflicts,
        today=today,
        branch=branch,
    )
    if verbosity > QUIET:
        out(render(proposals) if verbosity >= VERBOSE else digest(proposals))
    if not execute_:
        refused = [p.package.name for p in proposals if p.change.refused]
        out(
            f"dry run: {len(proposals)} proposal(s), {sum(len(p.followons) for p in proposals)} follow-on(s)"
            + (f", refused: {', '.join(refused)}" if refused else "")
            + "; nothing was written or pushed (pass --execute to push the branches and open the PRs)"
        )
        return 1 if refused else 0
    forge = forge or GitHub(allowed_repos=frozenset(p.repo for p in registry.packages))
    forge.require_token()
    branches = [c.branch for p in proposals for c in (p.change, *p.followons)]
    board = Board("propose", branches, verbosity=verbosity, out=out)
    with board, commands.tracing(board.log if verbosity >= VERBOSE else None):
        rows = execute(
            proposals, forge, branch or registry.branch, lambda line: board.log(line, important=True), board.phase
        )
    out(report.table([{"repo": r, "pull request": t, "outcome": o} for r, t, o in rows], painted="outcome"))
    bad = [o for _, _, o in rows if o.startswith(("refused", "skipped", "held"))]
    return 1 if bad else 0
