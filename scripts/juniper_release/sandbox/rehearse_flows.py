"""The rehearsal's release flows, once its indexes and fake GitHub are up (:mod:`juniper_release.sandbox.rehearse`):
verify-all and the release train (direct), or rounds of detect -> propose -> merge -> verify -> release until detect
selects nothing, then a second pass that must open and publish nothing (PR flow). A halt or an error names why a
stand-in publish run failed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from juniper_release import interrupts
from juniper_release import output as report
from juniper_release.ecosystem.registry import Registry
from juniper_release.errors import JuniperError, suggest
from juniper_release.github.forge import GitHub
from juniper_release.output import NORMAL, QUIET, live_enabled
from juniper_release.release.options import Options
from juniper_release.release.train import TrainHalted, release_train
from juniper_release.sandbox import prflow
from juniper_release.sandbox.fakeforge import FakeGitHub

_RUN_ID = re.compile(r"publish run (\d+)")


def with_run_causes(text: str, fake: FakeGitHub) -> str:
    """``text`` (a halt or an error naming a stand-in publish run that concluded failure) with that run's own error
    (a sha256 mismatch on the index, say): GitHub's API shows a run's conclusion, not why; the stand-in keeps why."""
    errors = {str(run["id"]): run.get("error") for runs in fake.state.runs.values() for run in runs}
    causes = [f"run {i}: {errors[i]}" for i in dict.fromkeys(_RUN_ID.findall(text)) if errors.get(i)]
    return f"{text} (why the stand-in publish run failed: {'; '.join(causes)})" if causes else text


def _run_flow(
    registry: Registry,
    workspace: Path,
    forge: GitHub,
    opts: Options,
    table: tuple[str, Callable[[str], None]],
    say: Callable[[str], None],
    run_verify: bool,
    pr: bool,
    directory: Path,
    fake: FakeGitHub,
) -> TrainHalted | None:
    """The release itself: the PR flow's rounds, or verify-all and the train; a halt is returned (the independent
    packages went ahead), any other error names how to resume. Both name why a stand-in publish run failed (a resume
    that cannot finish says its cause, not just "concluded failure")."""
    try:
        if pr:
            _pr_rounds(registry, workspace, forge, opts, table, say, run_verify)
        else:
            if run_verify:
                _verify_all(registry, workspace, say, opts.verbosity)
            release_train(registry, workspace, opts, forge=forge, fmt=table[0], emit=table[1])
    except TrainHalted as exc:
        return TrainHalted(with_run_causes(exc.what, fake), exc.fix, [with_run_causes(i, fake) for i in exc.items])
    except interrupts.Interrupted:
        raise
    except JuniperError as exc:
        raise JuniperError(
            f"rehearsal: {with_run_causes(exc.what, fake)}",
            f"{exc.fix or 'fix the cause'}: `{suggest(f'invoke rehearse --resume --dir {directory}')}`",
        ) from None
    return None


GITHUB_THROWAWAY = "rehearsal-github-token"
"""The PR flow's token for the local GitHub stand-in (never a real one)."""


def select_release_worthy(registry: Registry, workspace: Path) -> tuple[dict[str, str], dict[str, str]]:
    """What ``invoke detect`` selects (against the rehearsal's local indexes): release-worthy packages with their
    proposed bump and evidence."""
    from juniper_release.ecosystem.detect_report import collect, selection

    parts, evidence, conflicts = selection(collect(registry, workspace, warn=lambda _m: None))
    if conflicts:
        raise JuniperError(
            f"rehearsal: changelog conflicts: {'; '.join(f'{n}: {c}' for n, c in conflicts.items())}",
            "the stand-in's changes must carry their notes: report this as a bug",
        )
    return parts, evidence


def _pr_rounds(
    registry: Registry,
    workspace: Path,
    forge: GitHub,
    opts: Options,
    table: tuple[str, Callable[[str], None]],
    say: Callable[[str], None],
    run_verify: bool,
) -> None:
    """Rounds of detect -> propose -> merge -> verify -> release until detect selects nothing (a consumer whose
    ceiling a follow-on raised is selected in the next round); the outcome table of every package at the end."""
    outcomes: dict[str, dict[str, Any]] = {}
    for round_ in range(1, len(registry.packages) + 2):
        say(f"==== round {round_}")
        chosen = prflow.propose_and_merge(registry, workspace, forge, select_release_worthy, say)
        if not chosen:
            break
        if run_verify:
            _verify_all(registry, workspace, say, opts.verbosity)
        try:
            plan = release_train(registry, workspace, opts, ",".join(chosen), forge=forge, fmt="table", emit=say)
        except TrainHalted:
            raise
        outcomes.update({r.package: r.summary() for r in plan.rows if r.package in chosen})
    else:
        raise JuniperError("rehearsal: detect still selected packages after every round", "report this as a bug")
    rows = [
        outcomes.get(
            p.name, {"package": p.name, "version": "-", "outcome": "skipped", "reason": "no release-worthy change"}
        )
        for p in registry.packages
    ]
    table[1](
        report.to_json({"packages": rows})
        if table[0] == "json"
        else report.table(rows, ["package", "version", "outcome", "reason"])
    )


def _second_pass(
    registry: Registry, workspace: Path, forge: GitHub, fake: FakeGitHub, opts: Options, say: Callable[[str], None]
) -> None:
    """The same run again must open nothing and publish nothing: the proof that the flow is idempotent."""
    opened = prflow.pull_requests_opened(fake)
    say("second run (must open nothing and publish nothing):")
    prflow.propose_and_merge(registry, workspace, forge, select_release_worthy, say)
    plan = release_train(registry, workspace, opts, forge=forge, fmt="table", emit=say)
    published = [r.package for r in plan.rows if r.outcome == "released"]
    if prflow.pull_requests_opened(fake) != opened or published:
        raise JuniperError(
            f"rehearsal: the second run opened {prflow.pull_requests_opened(fake) - opened} pull request(s) and "
            f"published {', '.join(published) or 'nothing'}",
            "a re-run must find nothing to do: report this as a bug",
        )
    say("second run: opened nothing, published nothing")


def _verify_all(registry: Registry, workspace: Path, say: Callable[[str], None], verbosity: int = NORMAL) -> None:
    """Build and verify every package at its bumped commit (verify-all), so the release gate finds it verified.

    Its progress is live on a terminal; elsewhere its lines appear with ``-v`` only, and one summary line says how
    it went (a failure halts that package at the release gate, with the reason)."""
    from juniper_release.verify.scheduler import verify_all

    say("verifying every package at its bumped commit (nox -s verify-all)")
    shown = verbosity if verbosity != NORMAL or live_enabled(sys.stderr) else QUIET
    result = verify_all(registry, workspace, verbosity=shown)
    say(("verify-all passed: " if result.ok else "verify-all FAILED: ") + result.summary())
