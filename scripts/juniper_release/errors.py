"""Errors that reach a maintainer: one line, naming what is wrong, where, and the fix."""

from __future__ import annotations

from juniper_release.hints import TARGET_FLAGS, Invocation

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

_CURRENT: list[Invocation] = [Invocation()]
"""The invocation of this run, set by ``frontdoor.target()``, for the engine's ``Fix:`` hints that have no target
passed in (the front doors' ``next:`` lines use ``Target.invocation``)."""


def remember_target(
    *,
    workspace: str | None = None,
    sandbox: bool = False,
    defects: str | None = None,
    registry: str | None = None,
    layout: str | None = None,
    invocation: Invocation | None = None,
) -> Invocation:
    """Record this run's invocation: ``invocation`` (the program, its accepted options) with the target flags given
    (``None``/``False``: not given). Returns it."""
    base = invocation or Invocation()
    given = {"--workspace": workspace, "--sandbox": "" if sandbox else None, "--defects": defects}
    given |= {"--registry": registry, "--layout": layout}
    flags = {flag: value for flag, value in given.items() if value is not None}
    flags |= {k: v for k, v in base.flags.items() if k not in TARGET_FLAGS}
    _CURRENT[0] = Invocation(base.program, flags, base.accepts)
    return _CURRENT[0]


def current_invocation() -> Invocation:
    """This run's invocation as ``frontdoor.target()`` last recorded it."""
    return _CURRENT[0]


def suggest(command: str) -> str:
    """``command`` (``invoke TASK ...`` or ``nox -s SESSION ...``) as this run's user can paste it
    (:meth:`juniper_release.hints.Invocation.hint`)."""
    return _CURRENT[0].hint(command)
