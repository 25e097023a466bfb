"""Errors that reach a maintainer: one line, naming what is wrong, where, and the fix."""

from __future__ import annotations

import shlex

# Exit codes shared by every task and session.
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class JuniperError(Exception):
    """A user-facing error. ``str()`` is a single line: what is wrong, then ``Fix: ...``."""

    exit_code: int = EXIT_ERROR

    def __init__(self, what: str, fix: str | None = None) -> None:
        self.what = " ".join(what.split())
        self.fix = " ".join(fix.split()) if fix else None
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.what}. Fix: {self.fix}" if self.fix else self.what


class ConfigError(JuniperError):
    """repos.toml or an override is invalid."""


class WorkspaceError(JuniperError):
    """A checkout is missing or not what the registry says."""


class GitError(JuniperError):
    """A git command failed or the repository is in an unsafe state."""


class CommandError(JuniperError):
    """An external command failed."""


# ------------------------------------------------------------------------------------- commands in Fix: hints

_TARGET_FLAGS: dict[str, str | None] = {}
"""The target flags the user gave (``--workspace``, ``--sandbox``, ``--defects``, ``--registry``, ``--layout``),
set once by ``frontdoor.target()``; :func:`suggest` puts them into every command a hint names."""

_FLAGS = ("--workspace", "--sandbox", "--defects", "--registry", "--layout")
"""The target flags, in the order hints show them."""

_ONLY: dict[str, tuple[str, ...]] = {
    "invoke rehearse": ("--workspace", "--sandbox", "--registry", "--layout", "--defects"),
    "nox -s demo": ("--defects", "--registry", "--layout"),
}
"""The target flags a task or session accepts when not all of :data:`_FLAGS`."""

_DRY_ON_SANDBOX = {"invoke workflows": ("--write", "--check"), "invoke transfer": ("--execute", "")}
"""Tasks that never write into the shared sandbox: there a hint names their read-only form instead."""


def remember_target(
    *,
    workspace: str | None = None,
    sandbox: bool = False,
    defects: str | None = None,
    registry: str | None = None,
    layout: str | None = None,
) -> None:
    """Record the target flags of this run (``None``/``False`` means the flag was not given)."""
    _TARGET_FLAGS.clear()
    _TARGET_FLAGS.update(
        {
            "--workspace": workspace,
            "--sandbox": "" if sandbox else None,
            "--defects": defects,
            "--registry": registry,
            "--layout": layout,
        }
    )


def suggest(command: str) -> str:
    """``command`` (``invoke TASK ...`` or ``nox -s SESSION ...``) with the target flags this run was given, so the
    hint works when pasted: ``invoke bump --package a`` becomes ``invoke bump --package a --sandbox``. Flags the
    command already names, or the task does not accept, are left out; nox options go after ``--``, and a nox command
    with ``--registry`` sets $JUNIPER_REGISTRY, which names its sessions."""
    words = command.split()
    key = " ".join(words[:3] if words[:1] == ["nox"] else words[:2]).replace('"', "")
    key = key.split("(")[0]  # nox -s "verify(pkg)" accepts what verify-all does
    accepted = _ONLY.get(key, _FLAGS)
    if "--workspace" in words:  # a command naming its workspace is not about the sandbox
        accepted = tuple(f for f in accepted if f == "--registry")
    if key in _DRY_ON_SANDBOX and _TARGET_FLAGS.get("--sandbox") == "" and "--workspace" not in words:
        writes, dry = _DRY_ON_SANDBOX[key]
        words = [w for w in (dry if w == writes else w for w in words) if w]
        command = " ".join(words)
    extra: list[str] = []
    for flag in accepted:
        value = _TARGET_FLAGS.get(flag)
        if value is None or flag in words:
            continue
        extra += [flag, shlex.quote(value)] if value else [flag]
    if not extra:
        return command
    if words[:1] == ["nox"] and "--" not in words:
        extra.insert(0, "--")
    registry = _TARGET_FLAGS.get("--registry")
    if words[:1] == ["nox"] and registry:  # nox names its sessions after the registry it imports
        command = f"JUNIPER_REGISTRY={shlex.quote(registry)} {command}"
    return f"{command} {' '.join(extra)}"
