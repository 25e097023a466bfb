"""Shared plumbing for the two front doors (noxfile.py and tasks.py): registry, workspace and sandbox, the help of
the options both accept, and how an engine error is shown.

Each front door puts ``scripts/`` on ``sys.path`` itself, before importing the engine, with the same two lines::

    ROOT = Path(__file__).resolve().parent
    sys.path.insert(0, str(ROOT / "scripts"))  # the engine, used from the checkout (not installed)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from juniper_release.ecosystem.registry import (
    ENV_REGISTRY,
    ROOT,
    Registry,
    load_registry,
    missing_checkouts,
    resolve_workspace,
)
from juniper_release.errors import JuniperError, WorkspaceError, remember_target
from juniper_release.hints import Invocation
from juniper_release.output import printable
from juniper_release.secrets import redact

LAYOUTS = ("six", "grown", "kinds", "single", "lockstep")
"""The stand-in layouts (``--sandbox --layout``): the six packages of the plan, the grown ecosystem, one package
per kind of version source, one package with two publish workflows, or a uv workspace released in lockstep."""
GROWN_REGISTRY = ROOT / "registries" / "grown.toml"
KINDS_REGISTRY = ROOT / "registries" / "kinds.toml"
SINGLE_REGISTRY = ROOT / "registries" / "single.toml"
LOCKSTEP_REGISTRY = ROOT / "registries" / "lockstep.toml"
LAYOUT_REGISTRIES = {
    "grown": GROWN_REGISTRY,
    "kinds": KINDS_REGISTRY,
    "single": SINGLE_REGISTRY,
    "lockstep": LOCKSTEP_REGISTRY,
}
"""The registry a layout reads when none is given (``six`` reads repos.toml, the default)."""

HELP = {
    "workspace": "directory holding the six checkouts (default: $JUNIPER_WORKSPACE, else this repo's parent)",
    "sandbox": "use the generated stand-in ecosystem instead of real checkouts",
    "defects": "stand-in defects or preset for --sandbox, e.g. 'seed' or 'cycle,missing-license' (the kinds layout "
    "has its own)",
    "json": "print JSON instead of a table",
    "registry": "the registry file (default: $JUNIPER_REGISTRY, else repos.toml; e.g. registries/grown.toml)",
    "layout": "stand-in layout for --sandbox: six (default), grown (18 packages in 8 repos), kinds (one package "
    "per version source), single (one package, two publish workflows, a release/0.1 line, no CHANGELOG) or "
    "lockstep (a uv workspace of five members sharing one tag)",
}
"""The help of the options every invoke task and nox session spells the same way."""


def failure(exc: JuniperError) -> str:
    """An engine error as both front doors show it: one line, every secret redacted, control characters escaped
    (it may quote a file name, a tag or a commit subject)."""
    return printable(redact(str(exc)))


def output_format(*, json: bool = False, markdown: bool = False, default: str = "table") -> str:
    """The format the ``--json`` / ``--markdown`` flags ask for (``--json`` wins when both are given)."""
    if json:
        return "json"
    return "markdown" if markdown else default


@dataclass(frozen=True)
class Target:
    """The registry and the workspace a command works on."""

    registry: Registry
    workspace: Path
    sandbox: bool = False
    invocation: Invocation = field(default_factory=Invocation)
    """What the user typed (program and context flags): the ``next:`` lines and hints name commands through it."""


def target(
    workspace: str | Path | None = None,
    *,
    sandbox: bool = False,
    defects: str | None = None,
    registry_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    require_all: bool = False,
    layout: str | None = None,
    invocation: Invocation | None = None,
) -> Target:
    """Resolve what to work on. The sandbox is used only when asked for, never as a silent fallback.
    ``--layout grown`` (``kinds``) without a registry reads registries/grown.toml (kinds.toml). The flags given are remembered for the
    commands Fix: hints name (``Target.invocation``)."""
    via = remember_target(
        workspace=str(workspace) if workspace else None,
        sandbox=sandbox,
        defects=defects or None,
        registry=str(registry_path) if registry_path else None,
        layout=layout,
        invocation=invocation,
    )
    if layout is not None and layout not in LAYOUTS:
        raise JuniperError(f"unknown --layout {layout!r}", f"use one of: {', '.join(LAYOUTS)}")
    if layout is not None and not sandbox:
        raise JuniperError("--layout only applies to the stand-in sandbox", "add --sandbox")
    environ = os.environ if env is None else env
    if layout in LAYOUT_REGISTRIES and not registry_path and not environ.get(ENV_REGISTRY):
        registry_path = LAYOUT_REGISTRIES[layout]
    registry = load_registry(Path(registry_path) if registry_path else None, env)
    if sandbox:
        if workspace:
            raise JuniperError("--sandbox and --workspace both given", "pass one of them")
        from juniper_release.sandbox.layouts import sandbox_workspace

        ws = sandbox_workspace(registry, defects, layout=layout or "six")
        print(f"using the stand-in sandbox ecosystem at {ws}", file=sys.stderr)
        return Target(registry, ws, sandbox=True, invocation=via)
    if defects:
        raise JuniperError("--defects only applies to the stand-in sandbox", "add --sandbox")
    try:
        ws = resolve_workspace(workspace, env)
    except WorkspaceError as exc:
        raise WorkspaceError(
            exc.what,
            f"{exc.fix}; or run `{via.hint('invoke clone')} --workspace DIR` to get the checkouts, or add --sandbox for the "
            "stand-in ecosystem",
        ) from None
    if require_all:
        missing = missing_checkouts(registry, ws)
        if missing:
            names = ", ".join(p.path for p in missing)
            raise JuniperError(
                f"workspace {ws} lacks checkouts: {names}",
                f"run `{via.hint(f'invoke clone --workspace {ws}')}`, pass --workspace DIR, or use --sandbox for the stand-in ecosystem",
            )
    return Target(registry, ws, invocation=via)


def sealed(t: Target, execute: bool, what: str) -> bool:
    """The sandbox is sealed off from real services: a dry run on it asks no network (``offline``, returned True),
    and ``--execute`` is refused, since it would publish the stand-in to the real indexes and GitHub."""
    if not t.sandbox:
        return False
    if execute:
        raise JuniperError(
            f"{what} --execute with --sandbox would send the stand-in to the real indexes and GitHub",
            f"rehearse it instead: `{t.invocation.hint('invoke rehearse --sandbox')}` (local indexes and a local GitHub)",
        )
    return True


def rehearsal_target(
    workspace: str | Path | None = None,
    *,
    sandbox: bool = False,
    env: Mapping[str, str] | None = None,
    registry_path: str | Path | None = None,
    layout: str | None = None,
    defects: str | None = None,
    invocation: Invocation | None = None,
) -> Target:
    """What ``invoke rehearse`` copies: ``--workspace``, then $JUNIPER_WORKSPACE, like every task; with neither (or
    with ``--sandbox``), the stand-in sandbox. The registry is ``--registry``, then $JUNIPER_REGISTRY, as for every
    task. Rehearsing only ever reads the source checkouts."""
    from juniper_release.ecosystem.registry import ENV_WORKSPACE

    environ = os.environ if env is None else env
    if sandbox or not (workspace or environ.get(ENV_WORKSPACE)):
        return target(
            workspace,
            sandbox=True,
            env=env,
            registry_path=registry_path,
            layout=layout,
            defects=defects,
            invocation=invocation,
        )
    return target(workspace, env=env, require_all=True, registry_path=registry_path, invocation=invocation)
