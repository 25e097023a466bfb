"""How to release: the flags the release tasks share, and the confirmation (asked only on a terminal; --yes for CI)."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

from juniper_release.errors import JuniperError
from juniper_release.output import NORMAL

MODES = ("github", "twine")

Out = Callable[[str], None]


@dataclass
class Options:
    """How to release: dry run unless ``execute``; ``yes`` answers confirmations (CI)."""

    execute: bool = False
    yes: bool = False
    mode: str = "github"
    accept_api_change: str | None = None
    """A maintainer's reason to release a step smaller than the public API diff asks for (on the GitHub Release)."""
    timeout: float = 600.0
    verify_installs: bool = True
    out: Out = print
    interactive: bool | None = None  # None: stdin is a terminal
    offline: bool = False
    """A dry run that asks no network at all (every online check "not checked (offline)")."""
    file_issues: bool = False
    """An executed train files one GitHub issue per halted package and version (a repeated halt comments on it; a
    later success comments and closes it)."""
    direct_push: bool = False
    """The laptop flow for an unprotected repository: the release commits the bump and pushes the branch. Without it
    (the PR flow) the release tags what was merged on origin and never pushes a branch."""
    verbosity: int = NORMAL
    """``output.QUIET`` (``-q``: only the outcome table), ``NORMAL`` or ``VERBOSE`` (``-v``: also every command)."""
    digest: bool = False
    """A train's per-package step lines and step tables only with ``-v`` (the rehearsal: one outcome table)."""
    branch: str | None = None
    """A maintenance branch (``--branch release/0.1``) to release from instead of the registry's branch: the tag
    goes on its head, the version must be in its line, and the GitHub Release is not marked latest."""
    progress: Callable[[str, str], None] | None = None
    """Told of each package's phase (the live progress display); see :meth:`phase`."""

    def phase(self, package: str, phase: str) -> None:
        """``package`` entered ``phase`` (a release step's name, or an outcome): the progress display's line."""
        if self.progress is not None:
            self.progress(package, phase)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise JuniperError(f"unknown --mode {self.mode!r}", f"use one of: {', '.join(MODES)}")
        if self.accept_api_change is not None and not self.accept_api_change.strip():
            raise JuniperError(
                "--accept-api-change needs a reason",
                "pass --accept-api-change 'REASON' (it goes on the GitHub Release)",
            )
        if self.timeout <= 0:
            raise JuniperError(f"--timeout must be positive, got {self.timeout}", "pass e.g. --timeout 600")
        if self.branch is not None:
            from juniper_release.ecosystem.lines import check_branch_name

            check_branch_name(self.branch)

    @classmethod
    def from_flags(
        cls,
        execute: bool,
        yes: bool,
        mode: str,
        accept_api_change: str | None,
        timeout: float | str,
        direct_push: bool = False,
        file_issues: bool = False,
        offline: bool = False,
        branch: str | None = None,
    ) -> Options:
        """Options from the command-line flags the release tasks share (invoke passes numbers as given)."""
        return cls(
            execute=execute,
            yes=yes,
            mode=mode,
            accept_api_change=accept_api_change or None,
            timeout=parse_timeout(timeout),
            direct_push=direct_push,
            file_issues=file_issues,
            offline=offline,
            branch=branch or None,
        )

    @property
    def is_tty(self) -> bool:
        return sys.stdin.isatty() if self.interactive is None else self.interactive


def parse_timeout(value: float | str) -> float:
    """``--timeout`` in seconds; the tasks take it as text so a typo is a one-line error, not a parser traceback."""
    try:
        seconds = float(value)
    except ValueError:
        raise JuniperError(f"--timeout {value!r} is not a number of seconds", "pass e.g. --timeout 600") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise JuniperError(f"--timeout must be a positive number of seconds, got {value!r}", "pass e.g. --timeout 600")
    return seconds


def require_confirmable(opts: Options) -> None:
    """Refuse ``--execute`` up front when it will need a confirmation that nobody can give."""
    if opts.execute and not opts.yes and not opts.is_tty:
        raise JuniperError("--execute needs a confirmation but stdin is not a terminal", "pass --yes (CI)")


def confirm(opts: Options, question: str) -> None:
    """Ask on a terminal; ``--yes`` answers for CI; without a terminal and without --yes, refuse."""
    if opts.yes:
        return
    if not opts.is_tty:
        raise JuniperError(f"cannot confirm {question!r}: stdin is not a terminal", "pass --yes to confirm (CI)")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in {"y", "yes"}:
        raise JuniperError(f"not confirmed: {question}", "answer 'y' to go on; nothing more was changed")
