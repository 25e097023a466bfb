"""The repository-level tasks: rendered workflows, the action pins, CI's matrix and the organization transfer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit

from juniper_release.cli.common import _TARGET_HELP, guarded, next_step, required
from juniper_release.cli.flags import task
from juniper_release.ecosystem.paths import ROOT
from juniper_release.errors import JuniperError
from juniper_release.frontdoor import HELP

# ----------------------------------------------------------------------------------------------- init


@task(
    help={
        "workspace": "the directory holding the checkouts to register (default: $JUNIPER_WORKSPACE, else this "
        "repository's parent)",
        "output": "the registry file to write (required; an existing file only with --force)",
        "force": "overwrite an existing --output file",
    }
)
@guarded
def init(c: Context, workspace: str | None = None, output: str | None = None, force: bool = False) -> None:
    """Write a registry for the checkouts under --workspace, then print what was found and what was guessed."""
    from juniper_release.ecosystem.initfile import run_init
    from juniper_release.ecosystem.workspace import resolve_workspace

    target = Path(required(output, "--output")).expanduser()
    chosen = resolve_workspace(workspace)
    print(run_init(chosen, target.resolve(), force=force))
    next_step(f"invoke check --workspace {chosen} --registry {target}")


# ----------------------------------------------------------------------------------------------- workflows


@task(
    auto_shortflags=False,  # -w means --workspace everywhere else; --write gets no short form
    help={
        "check": "a digest per repository (files drifted, lines added and removed), then the diffs; exit 1 if any",
        "stat": "with --check: the digest alone, no diffs",
        "write": "write the rendered workflows into the checkouts (never commits)",
        "package": "only these packages (comma list; default: all)",
        "allow_downgrade": "render the pin table's release even where a file on disk pins a newer one (default: keep "
        "the newer pin and say so)",
        **_TARGET_HELP,
    },
)
@guarded
def workflows(
    c: Context,
    check: bool = False,
    write: bool = False,
    package: str = "",
    workspace: str = "",
    sandbox: bool = False,
    registry: str | None = None,
    layout: str | None = None,
    defects: str = "",
    stat: bool = False,
    allow_downgrade: bool = False,
) -> None:
    """Render each package's publish and validate workflows from the template: --check (diff) or --write."""
    from juniper_release.frontdoor import target
    from juniper_release.github import workflows as wf

    wf.check_flags(check=check, write=write, sandbox=sandbox)
    tgt = target(workspace or None, sandbox=sandbox, defects=defects or None, registry_path=registry, layout=layout)
    chosen = tgt.registry.select(package)
    if write:
        code = wf.run_write(tgt.registry, tgt.workspace, chosen, allow_downgrade=allow_downgrade)
    else:
        code = wf.run_check(
            tgt.registry, tgt.workspace, chosen, stat=stat, sandbox=tgt.sandbox, allow_downgrade=allow_downgrade
        )
    if code:
        raise Exit(code=code)


@task(
    auto_shortflags=False,
    help={
        "write": "rewrite the stale workflows (default: print a diff of each; exit 1 if any); with --from-workspace: "
        "write the newer pins into the pin table",
        "from_workspace": "propose to the pin table (as a diff) every newer release the workspace's workflows pin",
        **_TARGET_HELP,
    },
)
@guarded
def pin_actions(
    c: Context,
    write: bool = False,
    from_workspace: bool = False,
    workspace: str = "",
    sandbox: bool = False,
    registry: str | None = None,
    layout: str | None = None,
    defects: str = "",
) -> None:
    """Check (or --write) this repository's workflows against the pin table; --from-workspace moves the table forward."""
    from juniper_release.github import pins

    if not from_workspace:
        if workspace or sandbox or registry or layout or defects:
            raise JuniperError("--workspace, --sandbox and --registry only apply with --from-workspace", "add it")
        code = pins.run_pin_actions(ROOT, write=write)
    else:
        from juniper_release.frontdoor import target
        from juniper_release.github.pin_table import run_from_workspace

        tgt = target(workspace or None, sandbox=sandbox, defects=defects or None, registry_path=registry, layout=layout)
        code = run_from_workspace(tgt.registry, tgt.workspace, write=write, readme=ROOT / "docs" / "pins.md")
    if code:
        raise Exit(code=code)


@task(help={"sessions": "a file holding `nox -l --json -t ci` output (default: run it now)"})
@guarded
def ci_matrix(c: Context, sessions: str = "") -> None:
    """Print CI's verify matrix: `nox -l --json -t ci` joined with repos.toml (one line of JSON)."""
    import json

    from juniper_release.ecosystem.registry import load_registry
    from juniper_release.github import workflows as wf

    registry = load_registry()
    text = Path(sessions).read_text(encoding="utf-8") if sessions else wf.nox_ci_sessions()
    print(json.dumps(wf.ci_matrix(registry, text), separators=(",", ":")))
    _why_every_python(registry)


def _why_every_python(registry: Any) -> None:
    """Say on stderr why a package is listed on every candidate Python: its checkout could not be read."""
    from juniper_release.ecosystem.registry import PYTHON_CANDIDATES, missing_checkouts, resolve_workspace

    try:
        workspace = resolve_workspace(None)
        missing = [p.name for p in missing_checkouts(registry, workspace)]
    except JuniperError:
        workspace, missing = None, [p.name for p in registry.packages]
    if missing:
        where = f"in {workspace}" if workspace else "(no workspace)"
        print(
            f"note: no checkout {where} of {', '.join(missing)}: listed on every candidate Python "
            f"({', '.join(PYTHON_CANDIDATES)}); each session skips a Python its requires-python does not admit",
            file=sys.stderr,
        )


# ----------------------------------------------------------------------------------------------- transfer

_TRANSFER_HELP = {
    **_TARGET_HELP,
    "to": "organization to move to (default: settings.organization in repos.toml)",
    "package": "only these packages (comma list); default all, in release order",
    "registry": "repos.toml to read and update (default: the one in this repository)",
    "from_owner": "old owner, when repos.toml no longer records it (default: settings.owner/previous_owner)",
}


@task(help={**_TRANSFER_HELP, "execute": "apply the changes and commit per repo", "yes": "do not ask (for CI)"})
@guarded
def transfer(
    c: Context,
    to: str | None = None,
    package: str | None = None,
    execute: bool = False,
    yes: bool = False,
    workspace: str | None = None,
    sandbox: bool = False,
    defects: str | None = None,
    registry: str | None = None,
    layout: str | None = None,
    from_owner: str | None = None,
) -> None:
    """Move the repos to the organization: a diff per repo; --execute applies and commits it."""
    from juniper_release.frontdoor import target
    from juniper_release.transfer.codemod import check_flags, run_transfer, updates_registry

    check_flags(sandbox=sandbox, execute=execute)
    t = target(workspace, sandbox=sandbox, defects=defects, registry_path=registry, layout=layout, require_all=True)
    run_transfer(
        t.registry,
        t.workspace,
        to=to,
        packages=package,
        execute=execute,
        yes=yes,
        from_owner=from_owner,
        update_registry=updates_registry(sandbox=t.sandbox, registry_given=bool(registry)),
    )


@task(help={**_TRANSFER_HELP, "json": HELP["json"], "markdown": "print Markdown (for a GitHub step summary)"})
@guarded
def transfer_status(
    c: Context,
    to: str | None = None,
    package: str | None = None,
    json: bool = False,
    markdown: bool = False,
    workspace: str | None = None,
    sandbox: bool = False,
    defects: str | None = None,
    registry: str | None = None,
    layout: str | None = None,
    from_owner: str | None = None,
) -> None:
    """Show the 11-step transfer checklist per repo, with the exact values for the manual steps."""
    from juniper_release.frontdoor import output_format, target
    from juniper_release.transfer.checklist import checklist, render_checklist

    t = target(workspace, sandbox=sandbox, defects=defects, registry_path=registry, layout=layout, require_all=True)
    result = checklist(t.registry, t.workspace, to=to, packages=package, from_owner=from_owner)
    print(render_checklist(result, output_format(json=json, markdown=markdown, default="text")))


__all__ = ["Context", "guarded", "task"]
