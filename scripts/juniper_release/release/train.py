"""The release train: plan which packages to release (and which dependents must follow), then release layer by layer.

The train is recorded in the journal, so an interrupted train resumes: its packages stay in the plan until their tag
is on origin and their version on the target index.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from juniper_release import interrupts
from juniper_release import output as report
from juniper_release.ecosystem import indexes, status
from juniper_release.ecosystem.graph import Graph, build_graph
from juniper_release.ecosystem.project import sibling_requirements
from juniper_release.ecosystem.registry import Registry
from juniper_release.ecosystem.status import State
from juniper_release.errors import JuniperError
from juniper_release.github.forge import GitHub
from juniper_release.gitops import Git
from juniper_release.release import publish
from juniper_release.release.context import remote_refs, target_index
from juniper_release.release.gates import PreflightError
from juniper_release.release.journal import Journal, journal_path
from juniper_release.release.options import Options, Out, confirm, require_confirmable
from juniper_release.release.package import PackageRelease
from juniper_release.secrets import redact

TRAIN_STATES = {State.BUMPED_NOT_RELEASED, State.NEVER_RELEASED}


class Action(StrEnum):
    """What the train does with one package."""

    RELEASE = "release"
    NEEDS_BUMP = "needs bump"
    FOLLOW = "follow"
    UP_TO_DATE = "up to date"
    ANOMALY = "anomaly"


BLOCKING = {Action.NEEDS_BUMP, Action.FOLLOW, Action.ANOMALY}


class Outcome(StrEnum):
    """How an executed train ended."""

    FINISHED = "finished"
    ALREADY_FINISHED = "already finished"
    NOTHING_TO_DO = "nothing to do"
    FAILED = "failed"


@dataclass
class TrainRow:
    package: str
    layer: int
    version: str
    state: State
    action: Action
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "layer": self.layer,
            "version": self.version,
            "state": self.state,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass
class TrainPlan:
    rows: list[TrainRow] = field(default_factory=list)
    finished_before: bool = False
    outcome: Outcome | None = None  # after --execute
    error: str | None = None

    @property
    def releases(self) -> list[TrainRow]:
        return [r for r in self.rows if r.action is Action.RELEASE]

    @property
    def blockers(self) -> list[TrainRow]:
        return [r for r in self.rows if r.action in BLOCKING]

    def render(self, fmt: str = "table") -> str:
        data = [r.as_dict() for r in self.rows]
        if fmt == "json":
            doc: dict[str, Any] = {"plan": data, "finished_before": self.finished_before}
            if self.outcome is not None:
                doc.update(outcome=self.outcome, error=self.error)
            return report.to_json(doc)
        return report.table(data, ["layer", "package", "version", "state", "action", "reason"])


# --------------------------------------------------------------------------------------------------- the plan


def _collect_states(registry: Registry, workspace: Path) -> dict[str, tuple[State, str, int]]:
    """package -> (state, pyproject version, layer) from the status matrix."""
    return {
        row.package: (row.state, row.pyproject_version, row.layer)
        for row in status.collect(registry, workspace, warn=lambda m: print(m, file=sys.stderr))
    }


def _released_in_reality(registry: Registry, workspace: Path, name: str, version: str) -> bool:
    pkg = registry.get(name)
    git = Git(pkg.checkout(workspace))
    try:
        v = Version(version)
        _, tags = remote_refs(git, registry.branch)
        return registry.tag_for(v) in tags and indexes.has_version(target_index(registry, v), name, v)
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


def _plan_row(name: str, layer: int, version: str, state: State, chosen: bool, resuming: bool) -> TrainRow:
    """One package's row from its status, before dependents are checked."""
    row = TrainRow(name, layer, version, state, Action.UP_TO_DATE)
    if resuming or (state in TRAIN_STATES and chosen):
        row.action = Action.RELEASE
        if resuming and state not in TRAIN_STATES:
            row.reason = "resuming the unfinished train"
    elif state == State.UNRELEASED_CHANGES and chosen:
        row.action = Action.NEEDS_BUMP
        row.reason = f"commits since the last release: run `invoke bump --package {name} --part patch` first"
    elif state == State.ANOMALY and chosen:
        row.action = Action.ANOMALY
        row.reason = "run `invoke status` to see why"
    elif state in TRAIN_STATES:
        row.reason = "not selected (--packages)"
    return row


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
            if dep in new_versions and not req.specifier.contains(new_versions[dep], prereleases=True):
                stale.append(f"{'[' + extra + '] ' if extra else ''}{req} excludes {dep} {new_versions[dep]}")
                deps.append(dep)
        if stale:
            row.action = Action.FOLLOW
            row.reason = (
                f"{'; '.join(stale)}: rewrite it (`invoke bump --package {deps[0]} --to {new_versions[deps[0]]} "
                f"--update-dependents --force` or by hand), commit, then `invoke bump --package {row.package}`"
            )


def plan_train(registry: Registry, workspace: Path, packages: str | None = None) -> TrainPlan:
    """The packages that need a release, plus dependents whose specifiers must follow, ordered by layer."""
    chosen = {p.name for p in registry.select(packages)}
    states = _collect_states(registry, workspace)
    graph = build_graph(registry, workspace)
    journal = Journal(workspace)
    train = journal.train
    unfinished = _unfinished_train(registry, workspace, journal)
    plan = TrainPlan()
    for pkg in graph.release_order():
        state, version, layer = states[pkg.name]
        plan.rows.append(_plan_row(pkg.name, layer, version, state, pkg.name in chosen, pkg.name in unfinished))
    _mark_followers(registry, graph, plan, {r.package: Version(r.version) for r in plan.releases})
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
) -> TrainPlan:
    """``invoke release-train``: plan, preflight every package, then release layer by layer.

    With ``fmt="json"`` exactly one JSON document goes to ``emit`` (default ``opts.out``): the plan for a dry run;
    with ``execute``, the plan plus ``outcome`` and ``error``, after the train has finished or failed. Progress
    lines go to ``opts.out`` (the task sends them to stderr, so stdout stays valid JSON for CI).
    """
    emit = emit or opts.out
    plan = plan_train(registry, workspace, packages)
    if fmt == "json" and not opts.execute:
        emit(plan.render("json"))
        return plan
    if fmt != "json":
        opts.out(plan.render(fmt))
    try:
        try:
            with Journal(workspace).locked(opts.out) if opts.execute else nullcontext():
                _release_train(registry, workspace, opts, plan, forge=forge)
        except KeyboardInterrupt as exc:
            raise interrupts.Interrupted(
                f"the release train was interrupted; completed steps are in {journal_path(workspace)}",
                "re-run the same command to resume",
                signal_exit=interrupts.exit_code(exc),
            ) from None
    except JuniperError as exc:
        plan.outcome, plan.error = Outcome.FAILED, redact(str(exc))
        raise
    finally:
        if fmt == "json":
            emit(plan.render("json"))
    return plan


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
        _nothing_to_release(plan, out)
        return
    if plan.blockers:
        b = plan.blockers[0]
        raise JuniperError(f"{b.package} blocks the train ({b.action}): {b.reason}", "do that first, then re-run")
    require_confirmable(opts)
    journal = Journal(workspace)
    forge = forge or GitHub()
    planned = {r.package: Version(r.version) for r in plan.releases}

    def release_of(package: str) -> PackageRelease:
        return PackageRelease(registry, workspace, package, opts, journal, planned=planned, forge=forge)

    releases = [release_of(r.package) for r in plan.releases]
    out("preflight (all packages, before any change):")
    _preflight_all(releases)
    if opts.execute:
        confirm(opts, f"Release {len(releases)} packages ({opts.mode} mode)?")
        journal.start_train({r.package: r.version for r in plan.releases})
    layers = _by_layer(plan.releases, releases)
    previous: list[PackageRelease] = []
    for layer in sorted(layers):
        if previous and opts.execute:
            _wait_for_layer_below(layer, previous, opts)
        out(f"---- layer {layer}")
        for rel in layers[layer]:
            release_of(rel.ctx.pkg.name).run()  # afresh: the layer below changed what is on the indexes
        previous = layers[layer]
    if opts.execute:
        journal.finish_train()
        plan.outcome = Outcome.FINISHED
        out(f"release train finished: {', '.join(f'{r.ctx.pkg.name} {r.ctx.version}' for r in releases)}")


def _nothing_to_release(plan: TrainPlan, out: Out) -> None:
    plan.outcome = Outcome.ALREADY_FINISHED if plan.finished_before else Outcome.NOTHING_TO_DO
    out(
        "the release train already finished: nothing to do"
        if plan.finished_before
        else "nothing to release: every selected package is up to date"
    )


def _by_layer(rows: list[TrainRow], releases: list[PackageRelease]) -> dict[int, list[PackageRelease]]:
    layers: dict[int, list[PackageRelease]] = {}
    for row, rel in zip(rows, releases, strict=True):
        layers.setdefault(row.layer, []).append(rel)
    return layers


def _preflight_all(releases: list[PackageRelease]) -> None:
    """Every package's gates before any change; the first failure is raised after all are printed."""
    failures: list[PreflightError] = []
    for rel in releases:
        try:
            rel.check()
        except PreflightError as exc:
            failures.append(exc)
    if failures:
        raise failures[0]


def _wait_for_layer_below(layer: int, below: list[PackageRelease], opts: Options) -> None:
    """A layer starts only when every package of the layer below is installable from its index."""
    names = ", ".join(f"{rel.ctx.pkg.name} {rel.ctx.version}" for rel in below)
    opts.out(f"layer {layer}: waiting until the layer below is installable from its index ({names})")
    for rel in below:
        try:
            publish.wait_installable(rel.ctx.target, rel.ctx.pkg.name, rel.ctx.version, opts.timeout)
        except JuniperError as exc:
            raise JuniperError(f"layer {layer} was not started: {exc.what}", exc.fix) from None
