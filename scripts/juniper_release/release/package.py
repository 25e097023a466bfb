"""One package's release: every preflight gate, then the ordered steps, checkpointed in the journal.

A dry run walks the very same steps and prints each one's exact command; ``execute=True`` runs the ones not done
yet. Whether a step is done is judged from reality, and the journal records every completed step, so a re-run
resumes at the first incomplete one.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from pathlib import Path

from packaging.version import Version

from juniper_release import interrupts
from juniper_release import output as report
from juniper_release.ecosystem.registry import Registry
from juniper_release.errors import JuniperError
from juniper_release.github.forge import GitHub, PendingApproval
from juniper_release.offline import NOT_CHECKED, Offline, offline
from juniper_release.release import gates
from juniper_release.release.context import ReleaseContext
from juniper_release.release.gates import Gate, PreflightError
from juniper_release.release.journal import Journal
from juniper_release.release.options import Options, confirm, require_confirmable
from juniper_release.release.steps import Step, steps
from juniper_release.secrets import redact

StepRow = dict[str, str]


class PackageRelease:
    """Releasing one package: the gates in order, then the steps in order."""

    def __init__(
        self,
        registry: Registry,
        workspace: Path,
        package: str,
        opts: Options,
        journal: Journal,
        *,
        planned: Mapping[str, Version] | None = None,
        forge: GitHub | None = None,
    ) -> None:
        self.ctx = ReleaseContext(registry, workspace, package, opts, journal, planned=planned, forge=forge)

    def check(self) -> list[Gate]:
        """Evaluate every gate; print them (in a dry run) or only the failures; raise if any failed."""
        ctx = self.ctx
        # A dry run asks what it can (read-only: the indexes, GitHub, origin); --offline asks nothing.
        with offline(ctx.opts.offline):
            evaluated = gates.evaluate(ctx)
        for gate in evaluated:
            if not gate.ok or not ctx.opts.execute:
                ctx.opts.out(redact(gate.line()))
        if not ctx.opts.execute and (line := gates.skipped_line(evaluated)):
            ctx.opts.out(line)
        failures = [g for g in evaluated if not g.ok]
        if failures:
            raise PreflightError(ctx.pkg.name, failures)
        return evaluated

    def run(self) -> list[StepRow]:
        """Preflight, then walk the steps: print them (dry run) or run the ones not done yet.

        Executed, it ends with a table saying of every step whether it ran now, earlier, or not at all (the steps
        after a failure or an interruption), also when a step fails.
        """
        ctx = self.ctx
        mode = "EXECUTE" if ctx.opts.execute else "dry run"
        ctx.opts.out(f"{ctx.pkg.name} {ctx.version} ({ctx.opts.mode} mode, {mode}) -> {ctx.target.name}")
        self.check()
        todo = steps(ctx)
        rows: list[StepRow] = []
        try:
            # A dry run asks what it can whether each step is done already (read-only); --offline asks nothing.
            with offline(ctx.opts.offline):
                for step in todo:
                    rows.append(self._walk(step))
        except (JuniperError, KeyboardInterrupt):  # an Interrupted is a JuniperError
            if ctx.opts.execute:
                rows += [{"step": s.name, "outcome": "not run", "ran": "not at all"} for s in todo[len(rows) :]]
                ctx.opts.out(report.table(rows, ["step", "outcome", "ran"]))
            raise
        if ctx.opts.execute:
            ctx.opts.out(report.table(rows, ["step", "outcome", "ran"]))
        elif rows and all(r["outcome"] == "done" for r in rows if r["step"] != "re-check"):
            ctx.opts.out(f"{ctx.pkg.name} {ctx.version} is released already: every step is done, nothing would run")
        elif self._released_elsewhere(rows):
            ctx.opts.out(
                f"{ctx.pkg.name} {ctx.version} is released already (its tag on origin, its files on the index): "
                "nothing to resume; this workspace's journal has no record of its verification, which --execute "
                "would run again"
            )
        elif any(r["outcome"] == "done" for r in rows):
            ctx.opts.out(f"{ctx.pkg.name} {ctx.version}: resuming, the steps marked done are not run again")
        return rows

    def _released_elsewhere(self, rows: list[StepRow]) -> bool:
        """Reality says released (every step it can judge is done) and no run here started it: only the
        verifications, which only a journal records, are left. The train calls such a package up to date."""
        left = [r["step"] for r in rows if r["outcome"] != "done" and r["step"] != "re-check"]
        done = any(r["outcome"] == "done" for r in rows)
        started = bool(self.ctx.journal.steps(self.ctx.key))
        return done and not started and all(step.startswith("verify ") for step in left)

    def _walk(self, step: Step) -> StepRow:
        """One step: found done (recorded), would run (dry run), or run and recorded; its outcome printed."""
        ctx = self.ctx
        ctx.opts.phase(ctx.pkg.name, step.name)
        command = redact(step.command(ctx))
        try:
            done = self._is_done(step)
        except Offline:
            ctx.opts.out(report.step(step.name, "would", f"{command}  (whether done: {NOT_CHECKED})"))
            return {"step": step.name, "outcome": "would run", "ran": "not at all"}
        except JuniperError:
            if ctx.opts.execute:
                raise
            # a dry run: what does not answer is not checked, never an error
            ctx.opts.out(report.step(step.name, "would", f"{command}  (whether done: {NOT_CHECKED})"))
            return {"step": step.name, "outcome": "would run", "ran": "not at all"}
        if done:
            earlier = ctx.journal.done(ctx.key, step.name)
            if ctx.opts.execute and not earlier:
                ctx.journal.record(ctx.key, step.name, "found done")
            ctx.opts.out(report.step(step.name, "done", command))
            return {"step": step.name, "outcome": "done", "ran": "earlier" if earlier else "earlier (found done)"}
        if not ctx.opts.execute:
            ctx.opts.out(report.step(step.name, "would", command))
            return {"step": step.name, "outcome": "would run", "ran": "not at all"}
        ctx.opts.out(report.step(step.name, "run", command))
        detail = redact(self._act(step))
        ctx.journal.record(ctx.key, step.name, detail)
        ctx.opts.out(report.step(step.name, "ok", detail))
        return {"step": step.name, "outcome": "ok", "ran": "now"}

    def _is_done(self, step: Step) -> bool:
        try:
            return step.done(self.ctx)
        except (Offline, PendingApproval):
            raise
        except JuniperError as exc:
            raise type(exc)(
                f"{self.ctx.pkg.name}: step '{step.name}' could not be checked: {exc.what}",
                f"{exc.fix or 'fix the cause'}; then re-run to resume",
            ) from None

    def _act(self, step: Step) -> str:
        name = self.ctx.pkg.name
        try:
            return step.action(self.ctx)
        except KeyboardInterrupt as exc:
            raise interrupts.Interrupted(
                f"{name}: interrupted during step '{step.name}'; completed steps are in {self.ctx.journal.path}",
                "re-run the same command to resume",
                signal_exit=interrupts.exit_code(exc),
            ) from None
        except PendingApproval:
            raise  # not a failure: the caller reports PENDING-APPROVAL with the run's URL
        except JuniperError as exc:
            raise type(exc)(f"{name}: step '{step.name}' failed: {exc.what}", exc.fix) from None


def release(
    registry: Registry,
    workspace: Path,
    package: str,
    opts: Options,
    *,
    forge: GitHub | None = None,
) -> list[StepRow]:
    """``invoke release``: one package, dry run unless ``opts.execute``."""
    require_confirmable(opts)
    with Journal(workspace).locked(opts.out) if opts.execute else nullcontext():
        journal = Journal(workspace)  # read under the lock: with what a run that held it before wrote
        rel = PackageRelease(registry, workspace, package, opts, journal, forge=forge)
        if opts.execute and not opts.yes:
            rel.check()
            confirm(opts, f"Release {rel.ctx.pkg.name} {rel.ctx.version} ({opts.mode} mode)?")
        try:
            return rel.run()
        except PendingApproval as exc:  # not a failure, not a timeout: the plan's required reviewer on `pypi`
            opts.out(
                f"PENDING-APPROVAL: {rel.ctx.pkg.name} {rel.ctx.version}: the publish run waits for approval ({exc.url}); "
                "approve it, then re-run the same command to resume"
            )
            return []
