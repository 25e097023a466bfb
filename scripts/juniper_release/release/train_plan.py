"""The release train's plan: its rows (:class:`TrainRow`), their actions and outcomes, the table it renders, and
:func:`plan_train`, which decides which packages to release and which dependents must follow (from the status
matrix, the journal of an unfinished train and, on a maintenance branch, the line's state).

:mod:`juniper_release.release.train` releases the plan layer by layer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from juniper_release import output as report
from juniper_release import summary
from juniper_release.ecosystem import indexes, lines, status
from juniper_release.ecosystem.graph import Graph, build_graph, marker_can_hold
from juniper_release.ecosystem.project import read_project, sibling_requirements
from juniper_release.ecosystem.registry import Registry
from juniper_release.ecosystem.status import State
from juniper_release.errors import JuniperError, current_invocation
from juniper_release.gitops import Git
from juniper_release.hints import Invocation
from juniper_release.offline import is_offline
from juniper_release.release.context import remote_refs, target_index
from juniper_release.release.journal import Journal
from juniper_release.secrets import redact

TRAIN_STATES = {State.BUMPED_NOT_RELEASED, State.NEVER_RELEASED}


class Action(StrEnum):
    """What the plan says about one package."""

    RELEASE = "release"
    NEEDS_BUMP = "needs bump"
    FOLLOW = "follow"
    UP_TO_DATE = "up to date"
    ANOMALY = "anomaly"
    UNKNOWN = "unknown"


BLOCKING = {Action.NEEDS_BUMP, Action.FOLLOW, Action.ANOMALY, Action.UNKNOWN}


class Outcome(StrEnum):
    """How one package ended in the train. ``ready`` is a dry run's ``released``: it passed every gate."""

    RELEASED = "released"
    READY = "ready"
    HALTED = "halted"
    HELD = "held"
    SKIPPED = "skipped"
    PENDING_APPROVAL = "pending-approval"
    """Its publish run waits for an environment's required reviewer: not a halt, not a timeout; re-run once
    approved (the journal resumes it), and its dependents wait for it."""
    INTERRUPTED = "interrupted"
    """Ctrl-C or SIGTERM arrived during its release: not a failure; a re-run resumes it."""
    NOT_STARTED = "not started"
    """The train was interrupted before its turn."""


STOPPED = {Outcome.HALTED, Outcome.HELD, Outcome.PENDING_APPROVAL}


@dataclass
class TrainRow:
    package: str
    layer: int
    version: str
    state: State
    action: Action
    reason: str = ""
    outcome: Outcome = Outcome.SKIPPED

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "layer": self.layer,
            "version": self.version,
            "state": self.state,
            "action": self.action,
            "reason": self.reason,
        }

    def summary(self) -> dict[str, Any]:
        """The row of the table the train ends with."""
        return {"package": self.package, "version": self.version, "outcome": self.outcome, "reason": self.reason}


@dataclass
class TrainPlan:
    rows: list[TrainRow] = field(default_factory=list)
    finished_before: bool = False
    graph: Graph | None = field(default=None, repr=False)
    current: str | None = None
    """The package being released (an interruption names it)."""

    @property
    def releases(self) -> list[TrainRow]:
        return [r for r in self.rows if r.action is Action.RELEASE]

    @property
    def blockers(self) -> list[TrainRow]:
        return [r for r in self.rows if r.action in BLOCKING]

    @property
    def stopped(self) -> list[TrainRow]:
        """The halted and held packages, in release order."""
        return [r for r in self.rows if r.outcome in STOPPED]

    def row(self, package: str) -> TrainRow:
        return next(r for r in self.rows if r.package == package)

    def halt(self, package: str, reason: str) -> None:
        """Halt ``package`` and hold every package of the train that depends on it, transitively."""
        row = self.row(package)
        row.outcome, row.reason = Outcome.HALTED, redact(reason.removeprefix(f"{package}: "))
        self.hold_dependents(package, f"depends on {package}, which halted")

    def pending(self, package: str, url: str) -> None:
        """``package``'s publish run waits for an approval at ``url``; its dependents wait for it (held, saying so)."""
        row = self.row(package)
        row.outcome, row.reason = Outcome.PENDING_APPROVAL, f"publish run waiting for approval: {url}"
        self.hold_dependents(package, f"waits for {package} (pending approval)")

    def hold_dependents(self, package: str, reason: str) -> None:
        """Hold every package still to be released that depends on ``package``, transitively."""
        for dependent in self._dependents(package):
            held = self.row(dependent)
            if held.action is Action.RELEASE and held.outcome is Outcome.SKIPPED:
                held.outcome, held.reason = Outcome.HELD, redact(reason)

    def _dependents(self, package: str) -> list[str]:
        if self.graph is None:
            return []
        seen: list[str] = []
        todo = [package]
        while todo:
            for dep in sorted(self.graph.dependents(todo.pop())):
                if dep not in seen and dep != package:
                    seen.append(dep)
                    todo.append(dep)
        return seen

    def interrupted(self, package: str | None, what: str) -> None:
        """Ctrl-C or SIGTERM ended the train: ``package`` (the one being released, if any) says so, every later one
        is not started (never halted by what the interruption broke, such as its own stopped servers)."""
        for row in self.releases:
            if row.package == package and row.outcome is Outcome.SKIPPED:  # not released before the signal came
                row.outcome, row.reason = Outcome.INTERRUPTED, redact(what.removeprefix(f"{package}: "))
            elif row.outcome in {Outcome.SKIPPED, Outcome.HELD}:
                row.outcome, row.reason = Outcome.NOT_STARTED, "the train was interrupted before its turn"

    def render_plan(self) -> str:
        data = [r.as_dict() for r in self.rows]
        return report.table(data, ["layer", "package", "version", "state", "action", "reason"])

    def to_markdown(self) -> str:
        """The outcome table as Markdown (a GitHub step summary), with the Mermaid dependency graph."""
        stopped = self.stopped
        verdict = f"**{len(stopped)} package(s) stopped**" if stopped else "no package stopped"
        mermaid = self.graph.to_mermaid() if self.graph is not None else None
        return summary.render("release train", [r.summary() for r in self.rows], verdict, mermaid)

    def render(self, fmt: str = "table") -> str:
        """The table the train ends with, or ``{"packages": [...]}`` as JSON."""
        data = [r.summary() for r in self.rows]
        if fmt == "json":
            return report.to_json({"packages": data})
        return report.table(data, ["package", "version", "outcome", "reason"], painted="outcome")


# --------------------------------------------------------------------------------------------------- the plan


def _collect_states(registry: Registry, workspace: Path) -> dict[str, status.StatusRow]:
    """package -> its row of the status matrix (offline: the tags stand in for the indexes, as in the sandbox)."""
    rows = status.collect(registry, workspace, warn=lambda m: print(m, file=sys.stderr), query_indexes=not is_offline())
    return {row.package: row for row in rows}


def _released_in_reality(registry: Registry, workspace: Path, name: str, version: str) -> bool:
    """The train's upload of ``name`` ``version`` happened: its tag on origin, a file of it on the target index
    (yanked or not: a yanked file was still uploaded, and the version cannot be uploaded again)."""
    pkg = registry.get(name)
    git = Git(pkg.checkout(workspace))
    try:
        v = Version(version)
        _, tags = remote_refs(git, registry.branch)
        return pkg.tag_for(v) in tags and indexes.has_version(target_index(registry, v), name, v)
    except (JuniperError, InvalidVersion):
        return False


def _unfinished_train(registry: Registry, workspace: Path, journal: Journal) -> set[str]:
    """The packages of an unfinished train that are not released yet, or whose release steps did not all finish
    (interrupted during a verification after the upload: the tag and the files are there, the checks are not)."""
    train = journal.train
    if not train or train.get("finished"):
        return set()
    return {
        n
        for n, v in train["packages"].items()
        if not (journal.finished(f"{n}=={v}") and _released_in_reality(registry, workspace, n, v))
    }


def _plan_row(found: status.StatusRow, chosen: bool, resuming: bool, hints: Invocation) -> TrainRow:
    """One package's row from its status, before dependents are checked."""
    name, state = found.package, found.state
    row = TrainRow(name, found.layer, found.pyproject_version, state, Action.UP_TO_DATE, "up to date")
    if resuming or (state in TRAIN_STATES and chosen):
        row.action, row.reason = Action.RELEASE, ""
        if resuming and not chosen:  # never resumed silently: the plan names it, and why
            row.reason = f"{RESUMED_UNSELECTED}: its release is unfinished"
        elif resuming and state not in TRAIN_STATES:
            row.reason = "resuming the unfinished train"
    elif state == State.UNRELEASED_CHANGES and chosen:
        row.action = Action.NEEDS_BUMP
        bump = hints.hint(f"invoke bump --package {name} --part patch")
        detect = hints.hint(f"invoke detect --packages {name}")
        row.reason = f"release-worthy changes since the last release (`{detect}`): run `{bump}` first"
    elif state in {State.ANOMALY, State.UNKNOWN} and chosen:
        row.action = Action.ANOMALY if state is State.ANOMALY else Action.UNKNOWN
        row.reason = f"{state}: {'; '.join(found.reasons) or 'see `' + hints.hint('invoke status') + '`'}"
    elif not chosen:
        row.reason = "not selected (--packages)"
    return row


RESUMED_UNSELECTED = "not selected (--packages), resumed from the unfinished train"
"""The reason of a package a ``--packages`` train releases only because an earlier train left it unfinished."""


def resumed_unselected(plan: TrainPlan) -> list[str]:
    """The packages this train resumes without being asked for them (``--packages`` named others)."""
    return [r.package for r in plan.releases if r.reason.startswith(RESUMED_UNSELECTED)]


def _mark_followers(
    registry: Registry, graph: Graph, plan: TrainPlan, new_versions: dict[str, Version], hints: Invocation
) -> None:
    """Dependents whose specifiers no longer admit a version being released must follow."""
    canon = {canonicalize_name(p.name): p.name for p in registry.packages}
    for row in plan.rows:
        if row.action not in {Action.UP_TO_DATE, Action.NEEDS_BUMP} and row.package not in new_versions:
            continue
        stale = []
        deps = []
        for extra, req in sibling_requirements(graph.projects[row.package], set(canon)):
            dep = canon[canonicalize_name(req.name)]
            if (
                dep in new_versions
                and not req.specifier.contains(new_versions[dep], prereleases=True)
                and marker_can_hold(req.marker, extra)
            ):
                stale.append(f"{'[' + extra + '] ' if extra else ''}{req} excludes {dep} {new_versions[dep]}")
                deps.append(dep)
        if stale:
            row.action = Action.FOLLOW
            target = new_versions[deps[0]]
            to = "--part patch" if target.is_devrelease or target.local else f"--to {target}"
            rewrite = f"invoke bump --package {deps[0]} {to} --update-dependents --force"
            row.reason = (
                f"{'; '.join(stale)}: rewrite it (`{hints.hint(rewrite)}` or by hand), commit, "
                f"then `{hints.hint(f'invoke bump --package {row.package} --part patch')}`"
            )


def _line_state(registry: Registry, workspace: Path, row: status.StatusRow, branch: str) -> status.StatusRow:
    """A package's state on a maintenance branch, judged against the line's own tags: a newer release of the main
    branch is neither an anomaly nor a reason to hold it; a version outside the line is."""
    if row.state is State.MISSING:
        return row
    pkg = registry.get(row.package)
    root = pkg.checkout(workspace)
    declared = read_project(pkg, root).version
    try:
        line = lines.resolve(Git(root), pkg, branch)
        if line.version == declared:
            return replace(row, state=State.UP_TO_DATE, reasons=())
        lines.check_in_line(pkg, line, declared)
    except JuniperError as exc:
        return replace(row, state=State.ANOMALY, reasons=(exc.what,))
    return replace(row, state=State.BUMPED_NOT_RELEASED, reasons=())


def plan_train(
    registry: Registry,
    workspace: Path,
    packages: str | None = None,
    branch: str | None = None,
    hints: Invocation | None = None,
) -> TrainPlan:
    """The packages that need a release, plus dependents whose specifiers must follow, ordered by layer.
    ``branch``: a maintenance branch, whose packages are judged against the line (:func:`_line_state`); ``hints``
    (what the user typed; default: this run's) names the commands in the rows' reasons."""
    hints = hints or current_invocation()
    chosen = {p.name for p in registry.select(packages)}
    states = _collect_states(registry, workspace)
    if branch is not None and branch != registry.branch:
        states = {name: _line_state(registry, workspace, row, branch) for name, row in states.items()}
    graph = build_graph(registry, workspace)
    journal = Journal(workspace)
    train = journal.train
    unfinished = _unfinished_train(registry, workspace, journal)
    plan = TrainPlan(graph=graph)
    for pkg in graph.release_order():
        plan.rows.append(_plan_row(states[pkg.name], pkg.name in chosen, pkg.name in unfinished, hints))
    _mark_followers(registry, graph, plan, {r.package: Version(r.version) for r in plan.releases}, hints)
    for row in plan.blockers:
        plan.halt(row.package, f"{row.action}: {row.reason}" if row.action is not Action.ANOMALY else row.reason)
    if not plan.releases and train and train.get("finished"):
        plan.finished_before = True
    return plan
