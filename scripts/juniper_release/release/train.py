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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path

from packaging.version import Version

from juniper_release import commands, interrupts, summary
from juniper_release import output as report
from juniper_release.ecosystem.registry import Registry
from juniper_release.errors import EXIT_FINDINGS, JuniperError
from juniper_release.github.forge import GitHub, PendingApproval
from juniper_release.offline import offline
from juniper_release.output import QUIET
from juniper_release.progress import Board
from juniper_release.release import publish
from juniper_release.release.context import target_index
from juniper_release.release.journal import Journal, journal_path
from juniper_release.release.options import Options, Out, confirm, require_confirmable
from juniper_release.release.package import PackageRelease
from juniper_release.release.train_plan import Outcome, TrainPlan, TrainRow, plan_train, resumed_unselected
from juniper_release.secrets import redact
from juniper_release.verify import durations


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
                plan = plan_train(registry, workspace, packages, opts.branch, hints=opts.hints)
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
