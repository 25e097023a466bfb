"""The invoke tasks of juniper-release, shared by ``invoke`` in the checkout (``tasks.py``, a thin front door) and
the ``juniper-release`` console script (:mod:`juniper_release.cli.program`): `--list` shows them all, `--help TASK`
a task's options.

Each task is a short checklist that calls the engine. Every irreversible task (push, release, upload, transfer) is a
dry run unless given ``--execute``. Every option has one long name and at most one short flag, the same in every
task (:data:`juniper_release.cli.flags.SHORT`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit

from juniper_release.cli import repo_tasks, verify_tasks
from juniper_release.cli.common import _TARGET_HELP, guarded, next_step, program, required, via
from juniper_release.cli.tasking import task
from juniper_release.errors import JuniperError
from juniper_release.frontdoor import HELP, sealed

_BRANCH_HELP = (
    "a maintenance branch (release/X.Y): its newest tag is the baseline, the version its line's next patch, and the "
    "release is not marked latest"
)

_LOUD_HELP = {
    "quiet": "print only the summary (the outcome table); no progress",
    "verbose": "also print every command run and every step (and, in a rehearsal, the per-package step tables)",
}

# ----------------------------------------------------------------------------------------------- ecosystem


@task(help={**_TARGET_HELP, "base": "clone from BASE/owner/name instead of GitHub", "dry_run": "only print"})
@guarded
def clone(
    c: Context,
    workspace: str | None = None,
    sandbox: bool = False,
    registry: str | None = None,
    layout: str | None = None,
    defects: str | None = None,
    base: str = "https://github.com/",
    dry_run: bool = False,
) -> None:
    """Clone the registry's repos that are missing from the workspace (existing checkouts are skipped)."""
    from juniper_release.ecosystem.workspace import clone_missing
    from juniper_release.frontdoor import target

    t = target(workspace, sandbox=sandbox, defects=defects, registry_path=registry, layout=layout, invocation=via())
    for name, outcome in clone_missing(t.registry, t.workspace, base, dry_run=dry_run):
        print(f"{name}: {outcome}")


@task(
    help={
        **_TARGET_HELP,
        "format": "mermaid (default), dot, or a picture drawn by Graphviz: svg or png (to a file: > g.png)",
        "labels": "write each requirement's specifier on its arrow (an SVG always has them as tooltips)",
    }
)
@guarded
def graph(
    c: Context,
    workspace: str | None = None,
    sandbox: bool = False,
    defects: str | None = None,
    format: str = "mermaid",
    registry: str | None = None,
    layout: str | None = None,
    labels: bool = False,
) -> None:
    """Print the dependency graph (Mermaid, DOT, SVG or PNG); a cycle or wrong layer is an error after the graph."""
    from juniper_release.ecosystem.drawing import PICTURES, check_format, write_picture
    from juniper_release.ecosystem.graph import build_graph, order_line
    from juniper_release.frontdoor import target

    check_format(format)
    t = target(
        workspace,
        sandbox=sandbox,
        defects=defects,
        require_all=True,
        registry_path=registry,
        layout=layout,
        invocation=via(),
    )
    g = build_graph(t.registry, t.workspace)
    if format in PICTURES:
        write_picture(g.picture(format, labels), format)
    else:
        print(g.render(format, labels))
    g.check_layers()
    print(order_line(g), file=sys.stderr)


@task(help={**_TARGET_HELP, "json": "print a JSON list of {package, check, severity, message}"})
@guarded
def check(
    c: Context,
    workspace: str | None = None,
    sandbox: bool = False,
    defects: str | None = None,
    json: bool = False,
    registry: str | None = None,
    layout: str | None = None,
) -> None:
    """Check ecosystem consistency: versions, specifiers, floors, extras, README, LICENSE, secrets, workflows."""
    from juniper_release.ecosystem.checks import exit_code, render
    from juniper_release.frontdoor import target
    from juniper_release.github.checks import run_checks

    t = target(
        workspace,
        sandbox=sandbox,
        defects=defects,
        require_all=True,
        registry_path=registry,
        layout=layout,
        invocation=via(),
    )
    findings = run_checks(t.registry, t.workspace)
    print(render(findings, as_json=json))
    if code := exit_code(findings):
        raise Exit(code=code)


@task(
    help={
        **_TARGET_HELP,
        "json": "print a JSON list of rows",
        "markdown": "print a Markdown table (for a GitHub step summary)",
        "timeout": "seconds per index request (default 5)",
    }
)
@guarded
def status(
    c: Context,
    workspace: str | None = None,
    sandbox: bool = False,
    registry: str | None = None,
    layout: str | None = None,
    defects: str | None = None,
    json: bool = False,
    markdown: bool = False,
    timeout: str = "5",
) -> None:
    """Show the live version matrix: versions, tags, PyPI/TestPyPI and the state of every package (exit 1: findings)."""
    from juniper_release.ecosystem.status import run
    from juniper_release.frontdoor import output_format, target
    from juniper_release.release.options import parse_timeout

    seconds = parse_timeout(timeout)
    t = target(
        workspace,
        sandbox=sandbox,
        defects=defects,
        require_all=True,
        registry_path=registry,
        layout=layout,
        invocation=via(),
    )
    fmt = output_format(json=json, markdown=markdown)
    text, code = run(t.registry, t.workspace, sandbox=t.sandbox, fmt=fmt, timeout=seconds)
    print(text)
    if code:
        raise Exit(code=code)


@task(
    help={
        **_TARGET_HELP,
        "package": "one package or a comma list (default: all); --packages is the same option",
        "json": "print one JSON manifest with the evidence (files and commits per class)",
        "markdown": "print a Markdown table (for a GitHub step summary)",
        "offline": "no fetch and no index: compare the release tags with the local HEAD (said so in the output)",
        "timeout": "seconds per index request (default 5)",
        "branch": _BRANCH_HELP,
    }
)
@guarded
def detect(
    c: Context,
    workspace: str | None = None,
    sandbox: bool = False,
    registry: str | None = None,
    layout: str | None = None,
    defects: str | None = None,
    package: str | None = None,
    json: bool = False,
    markdown: bool = False,
    offline: bool = False,
    timeout: str = "5",
    branch: str | None = None,
) -> None:
    """What has release-worthy changes since its release tag, by class, with the proposed bump.

    Exit 1: something to release, or an anomaly."""
    from juniper_release.ecosystem.detect_report import run
    from juniper_release.frontdoor import output_format, target
    from juniper_release.release.options import parse_timeout

    seconds = parse_timeout(timeout)
    t = target(
        workspace,
        sandbox=sandbox,
        defects=defects,
        require_all=True,
        registry_path=registry,
        layout=layout,
        invocation=via(),
    )
    t.registry.select(package)  # an unknown name is an error before any git or index work
    fmt = output_format(json=json, markdown=markdown)
    text, code = run(
        t.registry, t.workspace, package, sandbox=t.sandbox, fetch=not offline, fmt=fmt, timeout=seconds, branch=branch
    )
    print(text)
    if code:
        raise Exit(code=code)


# ----------------------------------------------------------------------------------------------- release

_RELEASE_HELP = {
    "workspace": HELP["workspace"],
    "sandbox": HELP["sandbox"],
    "defects": HELP["defects"],
    "registry": HELP["registry"],
    "layout": HELP["layout"],
    "execute": "really do it (default: dry run printing every step's command)",
    "yes": "answer every confirmation (CI); without it, prompts appear only on a terminal",
    "mode": "github (create the Release, watch the publish run) or twine (upload TestPyPI then PyPI locally)",
    "accept_api_change": "REASON: release a smaller step than the public API diff asks for (the reason goes on the "
    "GitHub Release)",
    "timeout": "seconds to wait for an index or a workflow run (polling with backoff)",
    "offline": "a dry run that asks no network at all (by default a dry run makes every read-only check it can)",
    "direct_push": "the laptop flow for an unprotected repository: commit the bump and push the branch (default: "
    "tag what a merged pull request put on origin, push only the tag)",
    "branch": _BRANCH_HELP,
}


@task(
    positional=[],
    help={
        "package": "the package to bump",
        "part": "major, minor, patch, pre or release",
        "pre": "pre-release label a, b or rc (with --part major|minor|patch|pre)",
        "to": "an explicit normalized version instead of --part",
        "dry_run": "print a unified diff and write nothing",
        "update_dependents": "rewrite siblings' specifiers that no longer admit the new version",
        "commit": "commit the bump ('Bump <package> to X')",
        "tag": "create the annotated tag (needs --commit)",
        "force": "bump even if the working tree is dirty",
        "changelog": "create a CHANGELOG.md for a package that keeps none (its notes are its GitHub Releases)",
        "branch": _BRANCH_HELP,
        **_TARGET_HELP,
    },
)
@guarded
def bump(
    c: Context,
    package: str | None = None,
    part: str | None = None,
    pre: str | None = None,
    to: str | None = None,
    dry_run: bool = False,
    update_dependents: bool = False,
    commit: bool = False,
    tag: bool = False,
    force: bool = False,
    workspace: str | None = None,
    sandbox: bool = False,
    defects: str | None = None,
    registry: str | None = None,
    layout: str | None = None,
    changelog: bool = False,
    branch: str | None = None,
) -> None:
    """Bump one package's version: pyproject, __version__, CHANGELOG, and optionally dependents, commit and tag."""
    from juniper_release.frontdoor import target
    from juniper_release.release.versioning import bump as run_bump

    name = required(package, "--package", "bump")
    again = via(part=part, pre=pre, to=to)
    t = target(workspace, sandbox=sandbox, defects=defects, registry_path=registry, layout=layout, invocation=again)
    run_bump(
        t.registry,
        t.workspace,
        name,
        part,
        pre=pre,
        to=to,
        dry_run=dry_run,
        update_dependents=update_dependents,
        commit=commit,
        tag=tag,
        force=force,
        changelog=changelog,
        branch=branch,
    )
    flags = " --update-dependents" * update_dependents + " --force" * force + " --commit" * commit + " --tag" * tag
    if dry_run:
        next_step(t.invocation, f"invoke bump --package {name}{flags}")
    elif commit:
        next_step(
            t.invocation,
            f"invoke release --package {name} --direct-push",
            then="  (an unprotected repository; else push the bump through a pull request)",
        )
    else:
        next_step(t.invocation, f"invoke propose --package {name}", then="  (or review the diff and commit it)")


@task(positional=[], help={"package": "the package to release", **_RELEASE_HELP})
@guarded
def release(
    c: Context,
    package: str | None = None,
    execute: bool = False,
    yes: bool = False,
    mode: str = "github",
    accept_api_change: str | None = None,
    timeout: str = "600",
    offline: bool = False,
    direct_push: bool = False,
    workspace: str | None = None,
    sandbox: bool = False,
    defects: str | None = None,
    registry: str | None = None,
    layout: str | None = None,
    branch: str | None = None,
) -> None:
    """Release one package: preflight gates, commit/tag/push, then publish (dry run unless --execute)."""
    from juniper_release.frontdoor import target
    from juniper_release.release.options import Options
    from juniper_release.release.package import release as run_release

    name = required(package, "--package", "release")
    opts = Options.from_flags(
        execute, yes, mode, accept_api_change, timeout, direct_push, offline=offline, branch=branch
    )
    t = target(
        workspace,
        sandbox=sandbox,
        defects=defects,
        require_all=True,
        registry_path=registry,
        layout=layout,
        invocation=via(branch=branch),
    )
    opts.offline = sealed(t, execute, "release") or offline
    opts.hints = t.invocation
    run_release(t.registry, t.workspace, name, opts)
    if execute:
        next_step(t.invocation, "invoke status")
    elif t.sandbox:  # the sandbox is never released for real: its release is rehearsed
        next_step(t.invocation, "invoke rehearse")
    else:
        next_step(t.invocation, f"invoke release --package {name} --execute")


@task(
    help={
        "package": "one package or a comma list to consider (default: all); --packages is the same option",
        "json": "print the outcome table (package, version, outcome, reason) as one JSON document; progress on stderr",
        "file_issues": "file one GitHub issue per halted package and version (updated when it halts again, closed "
        "once released)",
        **_RELEASE_HELP,
        **_LOUD_HELP,
        "markdown": "also write the outcome table and the Mermaid dependency graph as Markdown to PATH (default: "
        "append to $GITHUB_STEP_SUMMARY when it is set)",
    }
)
@guarded
def release_train(
    c: Context,
    package: str | None = None,
    execute: bool = False,
    yes: bool = False,
    json: bool = False,
    mode: str = "github",
    accept_api_change: str | None = None,
    timeout: str = "600",
    offline: bool = False,
    direct_push: bool = False,
    file_issues: bool = False,
    workspace: str | None = None,
    sandbox: bool = False,
    defects: str | None = None,
    registry: str | None = None,
    layout: str | None = None,
    quiet: bool = False,
    verbose: bool = False,
    markdown: str | None = None,
    branch: str | None = None,
) -> None:
    """Release every package that needs it, layer by layer, resumable from the journal (dry run unless --execute)."""
    from juniper_release.frontdoor import output_format, target
    from juniper_release.output import verbosity
    from juniper_release.release.options import Options
    from juniper_release.release.train import release_train as run_train
    from juniper_release.summary import summary_path

    opts = Options.from_flags(execute, yes, mode, accept_api_change, timeout, direct_push, file_issues, offline, branch)
    t = target(
        workspace,
        sandbox=sandbox,
        defects=defects,
        require_all=True,
        registry_path=registry,
        layout=layout,
        invocation=via(branch=branch),
    )
    opts.offline = sealed(t, execute, "release-train") or offline
    opts.hints = t.invocation
    opts.verbosity = verbosity(quiet=quiet, verbose=verbose)
    if json:  # stdout carries only the JSON document (CI saves it); progress goes to stderr
        opts.out = lambda line: print(line, file=sys.stderr, flush=True)
    run_train(
        t.registry,
        t.workspace,
        opts,
        package,
        fmt=output_format(json=json),
        emit=print,
        markdown=summary_path(markdown),
    )


@task(
    help={
        **_TARGET_HELP,
        "package": "one package or a comma list to propose; --packages is the same option",
        "part": "the bump: major, minor or patch",
        "draft_notes": "draft an empty CHANGELOG [Unreleased] from the commits (marked as drafted)",
        "execute": "push the branches and open the pull requests (default: a dry run that writes nothing)",
        "branch": _BRANCH_HELP + " (the pull request's base)",
        **_LOUD_HELP,
    }
)
@guarded
def propose(
    c: Context,
    package: str | None = None,
    part: str | None = None,
    draft_notes: bool = False,
    execute: bool = False,
    workspace: str | None = None,
    sandbox: bool = False,
    defects: str | None = None,
    registry: str | None = None,
    layout: str | None = None,
    quiet: bool = False,
    verbose: bool = False,
    branch: str | None = None,
) -> None:
    """Propose each release as a pull request: the bump commit on a release branch, and follow-ons for consumers."""
    from juniper_release.ecosystem.detect_report import collect, selection
    from juniper_release.frontdoor import target
    from juniper_release.output import verbosity
    from juniper_release.release.propose import run as run_propose

    t = target(
        workspace,
        sandbox=sandbox,
        defects=defects,
        require_all=True,
        registry_path=registry,
        layout=layout,
        invocation=via(part=part),
    )
    sealed(t, execute, "propose")
    # What detect selects, with its evidence and proposed bump; --package narrows it, --part overrides the bump.
    found = collect(t.registry, t.workspace, package, sandbox=t.sandbox, branch=branch)
    detected, evidence, conflicts = selection(found)
    names = [p.name for p in t.registry.select(package)] if package else list(detected)
    if unknown := [n for n in names if not (part or detected.get(n))]:
        raise JuniperError(
            f"detect proposes no bump for {', '.join(unknown)}",
            f"pass --part major, minor or patch (see `{program()} propose --help`)",
        )
    parts = {n: part or detected[n] for n in names}
    code = run_propose(
        t.registry,
        t.workspace,
        parts,
        draft_notes=draft_notes,
        execute_=execute,
        evidence=evidence,
        conflicts=conflicts,
        verbosity=verbosity(quiet=quiet, verbose=verbose),
        branch=branch,
    )
    chosen = f" --package {','.join(names)}" if package else ""
    if execute:
        after = "  (after merging the pull requests and `git pull --ff-only` in each checkout)"
        next_step(t.invocation, "invoke release-train --execute", then=after)
    elif t.sandbox:  # the sandbox is never proposed for real: its pull-request flow is rehearsed
        next_step(t.invocation, "invoke rehearse --flow pr")
    else:
        next_step(t.invocation, f"invoke propose{chosen} --execute")
    if code:
        raise Exit(code=code)


@task(
    help={
        "workspace": "rehearse a copy of this workspace (default: $JUNIPER_WORKSPACE, else the stand-in sandbox)",
        "sandbox": "rehearse the stand-in sandbox even when JUNIPER_WORKSPACE is set",
        "dir": "where the throwaway remotes, checkouts and indexes live (default: .juniper/rehearsal)",
        "resume": "resume an interrupted rehearsal in --dir instead of starting afresh",
        "mode": "github (local GitHub stand-in runs the publish workflow) or twine",
        "no_verify": "skip the verify-all run before the train (the release gate then needs a warm cache)",
        "timeout": "seconds to wait for an index or a workflow run",
        "registry": HELP["registry"],
        "layout": HELP["layout"],
        "defects": HELP["defects"],
        "json": "print the train's outcome table as one JSON document {packages: [...]} (progress on stderr)",
        "flow": "pr: detect, propose, merge on protected branches, release what was merged, then prove a second run "
        "does nothing; direct (default): the laptop flow (bump, commit, push); lines (the default of --layout "
        "single): an rc, a final and a maintenance patch through the pre-release and final workflows",
        **_LOUD_HELP,
    }
)
@guarded
def rehearse(
    c: Context,
    workspace: str | None = None,
    sandbox: bool = False,
    dir: str | None = None,
    resume: bool = False,
    mode: str = "github",
    no_verify: bool = False,
    timeout: str = "300",
    registry: str | None = None,
    layout: str | None = None,
    defects: str | None = None,
    json: bool = False,
    flow: str | None = None,
    quiet: bool = False,
    verbose: bool = False,
) -> None:
    """Rehearse the whole release train against throwaway remotes, two local indexes and a local GitHub."""
    from juniper_release.frontdoor import rehearsal_target
    from juniper_release.output import verbosity
    from juniper_release.release.options import parse_timeout
    from juniper_release.sandbox.rehearse import rehearse as run_rehearse

    t = rehearsal_target(
        workspace, sandbox=sandbox, registry_path=registry, layout=layout, defects=defects, invocation=via()
    )
    progress = (lambda line: print(line, file=sys.stderr, flush=True)) if json else print
    run_rehearse(
        t.registry.path,
        t.workspace,
        Path(dir) if dir else None,
        resume=resume,
        mode=mode,
        run_verify=not no_verify,
        timeout=parse_timeout(timeout),
        out=progress,
        fmt="json" if json else "table",
        emit=print,
        flow=flow or ("lines" if layout == "single" else "direct"),
        verbosity=verbosity(quiet=quiet, verbose=verbose),
    )


ns = Collection.from_module(sys.modules[__name__])
"""Every task: ``tasks.py`` and the console script load this collection."""
for _task in (
    verify_tasks.verify,
    repo_tasks.init,
    repo_tasks.workflows,
    repo_tasks.pin_actions,
    repo_tasks.ci_matrix,
    repo_tasks.transfer,
    repo_tasks.transfer_status,
):
    ns.add_task(_task)
