"""The release train: plan which packages to release (and which dependents must follow), then release layer by layer.

One halt never stops the whole train. A package that is blocked before the train (it needs a bump, its dependents
must follow, its status is ANOMALY or UNKNOWN) or that fails a gate, a step or the wait for its index is *halted*,
with its reason; the packages that depend on it, transitively, are *held*; every other package proceeds. The train
ends with one table (package, version, outcome, reason) and exits 1 naming the blockers when any package was halted
or held.

The train is recorded in the journal, so an interrupted train resumes: its packages stay in the plan until their tag
is on origin and their version on the target index.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from juniper_release import commands, interrupts, summary
from juniper_release import output as report
from juniper_release.ecosystem import indexes, lines, status
from juniper_release.ecosystem.graph import Graph, build_graph, marker_can_hold
from juniper_release.ecosystem.project import read_project, sibling_requirements
from juniper_release.ecosystem.registry import Registry
from juniper_release.ecosystem.status import State
from juniper_release.errors import EXIT_FINDINGS, JuniperError, suggest
from juniper_release.github.forge import GitHub, PendingApproval
from juniper_release.gitops import Git
from juniper_release.offline import is_offline, offline
from juniper_release.output import QUIET
from juniper_release.progress import Board
from juniper_release.release import publish
from juniper_release.release.context import remote_refs, target_index
from juniper_release.release.journal import Journal, journal_path
from juniper_release.release.options import Options, Out, confirm, require_confirmable
from juniper_release.release.package import PackageRelease
from juniper_release.secrets import redact
from juniper_release.verify import durations

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


class TrainHalted(JuniperError):
    """Some packages were halted or held; the others went ahead. Exits 1 like every finding.

    With more than one package in ``items`` its message has one line per package (never one 900-character line)."""

    exit_code = EXIT_FINDINGS

    def __init__(self, what: str, fix: str | None = None, items: Sequence[str] = ()) -> None:
        self.items = [" ".join(item.split()) for item in items]
        super().__init__(what, fix)

    def __str__(self) -> str:
        if len(self.items) < 2:
            return super().__str__()
        return report.bullets(f"{self.what}:", self.items) + (f"\nFix: {self.fix}" if self.fix else "")


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


def _plan_row(found: status.StatusRow, chosen: bool, resuming: bool) -> TrainRow:
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
        bump = suggest(f"invoke bump --package {name} --part patch")
        detect = suggest(f"invoke detect --packages {name}")
        row.reason = f"release-worthy changes since the last release (`{detect}`): run `{bump}` first"
    elif state in {State.ANOMALY, State.UNKNOWN} and chosen:
        row.action = Action.ANOMALY if state is State.ANOMALY else Action.UNKNOWN
        row.reason = f"{state}: {'; '.join(found.reasons) or 'see `' + suggest('invoke status') + '`'}"
    elif not chosen:
        row.reason = "not selected (--packages)"
    return row


RESUMED_UNSELECTED = "not selected (--packages), resumed from the unfinished train"
"""The reason of a package a ``--packages`` train releases only because an earlier train left it unfinished."""


def resumed_unselected(plan: TrainPlan) -> list[str]:
    """The packages this train resumes without being asked for them (``--packages`` named others)."""
    return [r.package for r in plan.releases if r.reason.startswith(RESUMED_UNSELECTED)]


def _mark_followers(registry: Registry, graph: Graph, plan: TrainPlan, new_versions: dict[str, Version]) -> None:
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
                f"{'; '.join(stale)}: rewrite it (`{suggest(rewrite)}` or by hand), commit, "
                f"then `{suggest(f'invoke bump --package {row.package} --part patch')}`"
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
    registry: Registry, workspace: Path, packages: str | None = None, branch: str | None = None
) -> TrainPlan:
    """The packages that need a release, plus dependents whose specifiers must follow, ordered by layer.
    ``branch``: a maintenance branch, whose packages are judged against the line (:func:`_line_state`)."""
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
        plan.rows.append(_plan_row(states[pkg.name], pkg.name in chosen, pkg.name in unfinished))
    _mark_followers(registry, graph, plan, {r.package: Version(r.version) for r in plan.releases})
    for row in plan.blockers:
        plan.halt(row.package, f"{row.action}: {row.reason}" if row.action is not Action.ANOMALY else row.reason)
    if not plan.releases and train and train.get("finished"):
        plan.finished_before = True
    return plan


# --------------------------------------------------------------------------------------------------- the release


def release_train(
    registry: Registry,
    workspace: Path,
    opts: Options,
    packages: str | None = None,
    *,
    forge: GitHub | None = None,
    fmt: str = "table",
    emit: Out | None = None,
    markdown: Path | None = None,
) -> TrainPlan:
    """``invoke release-train``: plan, preflight every package, then release layer by layer; a dry run unless
    ``opts.execute``, through the same code path. An executed train holds the journal's lock from before its plan
    to its end (one train or release at a time on a workspace).

    It ends with one table (package, version, outcome, reason) on ``emit`` (default ``opts.out``); with
    ``fmt="json"`` that table is exactly one JSON document ``{"packages": [...]}`` and progress lines go to
    ``opts.out`` only (the task sends them to stderr, so stdout stays valid JSON for CI). Any halted or held
    package raises :class:`TrainHalted` after the table, naming them. ``markdown`` (a GitHub step summary) also
    gets the table and the Mermaid dependency graph, before any such error.
    """
    emit = emit or opts.out
    plan: TrainPlan | None = None
    try:
        # The journal lock comes before the plan: a second train on this workspace waits for the first (or refuses,
        # naming its PID), then plans from what the first one did.
        with Journal(workspace).locked(opts.out) if opts.execute else nullcontext():
            with offline(opts.offline):  # --offline (and a sealed sandbox) plans from the tags, asking no index
                plan = plan_train(registry, workspace, packages, opts.branch)
            if opts.verbosity > QUIET:
                opts.out(plan.render_plan())
            if others := resumed_unselected(plan):
                opts.out(
                    f"resuming the unfinished train: {', '.join(others)} too (not in --packages; an earlier train "
                    "started their release and did not finish it)"
                )
            with _progress(plan, opts) as live_opts:
                _release_train(registry, workspace, live_opts, plan, forge=forge)
    except (KeyboardInterrupt, interrupts.Interrupted) as exc:
        what = exc.what if isinstance(exc, interrupts.Interrupted) else f"by {interrupts.signal_name(exc)}"
        if plan is not None:
            plan.interrupted(plan.current, what)
            emit(plan.render(fmt))
        raise interrupts.Interrupted(
            f"the release train was interrupted ({what}); completed steps are in {journal_path(workspace)}",
            "re-run the same command to resume",
            signal_exit=exc.exit_code if isinstance(exc, interrupts.Interrupted) else interrupts.exit_code(exc),
        ) from None

    emit(plan.render(fmt))
    summary.write(markdown, plan.to_markdown())
    _raise_if_stopped(plan, opts.out)
    return plan


_IMPORTANT = ("halted", "pending approval", "FAILED", "error", "release train finished", "waiting until")
"""The train's lines a digest (the rehearsal) still shows without ``-v``."""


@contextmanager
def _progress(plan: TrainPlan, opts: Options) -> Iterator[Options]:
    """The train's progress display (one line per package to release, its step; an ETA from the last train's
    durations): ``opts`` with ``out`` through the display and ``progress`` moving its lines. Every line still
    reaches ``opts.out`` where there is no terminal; a digest (``opts.digest``) keeps only the important ones
    unless ``-v``; ``-q`` keeps none. Each released package's duration is recorded for the next ETA."""
    names = [r.package for r in plan.releases]
    board = Board("release train", names, expected=durations.recorded("train"), verbosity=opts.verbosity, out=opts.out)

    def out(line: str) -> None:
        if opts.digest and opts.verbosity < report.VERBOSE and not any(w in line for w in _IMPORTANT):
            return
        board.log(line, important=True)

    with board, commands.tracing(board.log if opts.verbosity >= report.VERBOSE else None):
        try:
            yield replace(opts, out=out, progress=board.phase)
        finally:
            for row in plan.releases:
                if row.outcome is not Outcome.SKIPPED:
                    board.phase(row.package, str(row.outcome))
    done = {r.package for r in plan.releases if r.outcome in {Outcome.RELEASED, Outcome.READY}}
    if opts.execute:
        durations.record("train", {n: s for n, s in board.durations().items() if n in done})


def _raise_if_stopped(plan: TrainPlan, out: Out) -> None:
    """One rule for the exit code: any halted or held package is an error naming the halted ones."""
    stopped = plan.stopped
    released = [r for r in plan.rows if r.outcome in {Outcome.RELEASED, Outcome.READY}]
    if not stopped:
        if not released:
            _nothing_to_release(plan, out)
        return
    halted = [f"{r.package}: {r.reason}" for r in stopped if r.outcome is Outcome.HALTED]
    held = [f"{r.package} ({r.reason})" for r in stopped if r.outcome is Outcome.HELD]
    pending = [r for r in stopped if r.outcome is Outcome.PENDING_APPROVAL]
    if pending and not halted and all("(pending approval)" in r.reason for r in stopped if r.outcome is Outcome.HELD):
        # Waiting for a required reviewer is the plan working, not a failure: say what to do, exit 0.
        out(
            "PENDING-APPROVAL: "
            + "; ".join(f"{r.package} {r.version} ({r.reason.rsplit(': ', 1)[-1]})" for r in pending)
            + (
                f"; waiting behind them: {', '.join(r.package for r in stopped if r.outcome is Outcome.HELD)}"
                if held
                else ""
            )
            + ". Approve the run(s), then re-run the same command: the train resumes"
        )
        return
    items = [*(f"halted {h}" for h in halted), *(f"held {h}" for h in held)]
    head = f"the release train stopped {len(stopped)} package(s)"
    raise TrainHalted(
        head if len(items) > 1 else f"{head}: {'; '.join(items)}",
        "fix what each reason says, then re-run to resume",
        items if len(items) > 1 else (),
    )


def _release_train(
    registry: Registry,
    workspace: Path,
    opts: Options,
    plan: TrainPlan,
    *,
    forge: GitHub | None,
) -> None:
    out = opts.out
    if not plan.releases:
        return
    require_confirmable(opts)
    journal = Journal(workspace)
    forge = forge or GitHub(allowed_repos=frozenset(p.repo for p in registry.packages))
    interrupted = False
    try:
        _release_layers(registry, workspace, opts, plan, journal, forge)
    except (KeyboardInterrupt, interrupts.Interrupted):
        interrupted = True  # an interruption files no issue: nothing failed, and Ctrl-C asks for no more network
        raise
    finally:
        if opts.execute and opts.file_issues and not interrupted:
            file_issues(registry, plan, forge, out)


def _release_layers(
    registry: Registry, workspace: Path, opts: Options, plan: TrainPlan, journal: Journal, forge: GitHub
) -> None:
    out = opts.out
    planned = {r.package: Version(r.version) for r in plan.releases}

    def release_of(package: str) -> PackageRelease:
        return PackageRelease(registry, workspace, package, opts, journal, planned=planned, forge=forge)

    if _going(plan):
        out("preflight (all packages, before any change):")
    for row in _going(plan):
        opts.phase(row.package, "preflight")
        try:
            release_of(row.package).check()
            opts.phase(row.package, "queued")
        except interrupts.Interrupted:
            raise  # not a halt of this package: the whole train stops
        except JuniperError as exc:
            plan.halt(row.package, str(exc))
            opts.phase(row.package, "halted")
    going = _going(plan)
    if not going:
        return
    if opts.execute:
        confirm(opts, f"Release {len(going)} packages ({opts.mode} mode)?")
        journal.start_train({r.package: r.version for r in going})
    previous: list[TrainRow] = []
    for layer in sorted({r.layer for r in going}):
        if previous and opts.execute:
            _wait_for_layer_below(registry, plan, layer, previous, opts)
        current = [r for r in _going(plan) if r.layer == layer]
        if not current:
            continue
        out(f"---- layer {layer}")
        for row in current:
            plan.current = row.package
            try:
                release_of(row.package).run()  # afresh: the layer below changed what is on the indexes
            except interrupts.Interrupted:
                raise  # not a halt: the train stops, the later packages are not started
            except PendingApproval as exc:
                out(f"{row.package}: pending approval: {exc.url}")
                plan.pending(row.package, exc.url)
                continue
            except JuniperError as exc:
                out(f"{row.package}: halted: {report.printable(redact(str(exc)))}")
                plan.halt(row.package, str(exc))
                continue
            row.outcome, row.reason = (Outcome.RELEASED, "") if opts.execute else (Outcome.READY, "dry run")
            opts.phase(row.package, str(row.outcome))
        previous = [r for r in current if r.outcome in {Outcome.RELEASED, Outcome.READY}]
    if opts.execute and not plan.stopped:
        journal.finish_train()
        out(f"release train finished: {', '.join(f'{r.package} {r.version}' for r in going)}")


def issue_title(package: str, version: str) -> str:
    """The one issue a halted release of ``package`` ``version`` gets (found again by this exact title)."""
    return f"Release {package} {version} halted"


def file_issues(registry: Registry, plan: TrainPlan, forge: GitHub, out: Out) -> None:
    """One issue per halted package and version, with the reason; a repeated halt comments on the same issue; a
    release that went through comments on its open issue and closes it."""
    for row in plan.releases:
        repo, title = registry.get(row.package).repo, issue_title(row.package, row.version)
        found = forge.find_issue(repo, title=title)
        if row.outcome is Outcome.HALTED:
            body = f"The release train halted {row.package} {row.version}:\n\n> {report.markdown_text(row.reason)}\n"
            if found is None:
                issue = forge.create_issue(repo, title, body, labels=("release",))
                out(f"{row.package}: filed issue #{issue.number} {issue.html_url}")
            else:
                forge.comment_issue(repo, found.number, f"Halted again:\n\n> {report.markdown_text(row.reason)}\n")
                out(f"{row.package}: updated issue #{found.number}")
        elif row.outcome is Outcome.RELEASED and found is not None:
            forge.close_issue(repo, found.number, f"Released {row.package} {row.version}.")
            out(f"{row.package}: closed issue #{found.number}")


def _going(plan: TrainPlan) -> list[TrainRow]:
    """The packages to release that are neither halted nor held (nor done), in release order."""
    return [r for r in plan.releases if r.outcome is Outcome.SKIPPED]


def _nothing_to_release(plan: TrainPlan, out: Out) -> None:
    out(
        "the release train already finished: nothing to do"
        if plan.finished_before
        else "nothing to release: every selected package is up to date"
    )


def _wait_for_layer_below(
    registry: Registry, plan: TrainPlan, layer: int, below: list[TrainRow], opts: Options
) -> None:
    """A package of a layer starts only when the packages of the layer below are installable from their index; the
    dependents of one that is not are held."""
    names = ", ".join(f"{r.package} {r.version}" for r in below)
    opts.out(f"layer {layer}: waiting until the layer below is installable from its index ({names})")
    for row in below:
        version = Version(row.version)
        try:
            publish.wait_installable(target_index(registry, version), row.package, version, opts.timeout)
        except JuniperError as exc:
            plan.hold_dependents(row.package, f"layer {layer} was not started: {exc.what}")
