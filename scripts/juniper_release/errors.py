"""Errors that reach a maintainer: one line, naming what is wrong, where, and the fix."""

from __future__ import annotations

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
