"""The state one ``verify-all`` run shares between its jobs: results, builds, the log and the interruption flag.

The jobs themselves are in :mod:`juniper_release.verify.scheduler`; :mod:`juniper_release.verify.taskgraph` runs
them on worker threads and counts them in :attr:`_Run.active`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from juniper_release import interrupts
from juniper_release.ecosystem.registry import Registry
from juniper_release.verify.build import BuildEnvs, BuildResult
from juniper_release.verify.results import PackageResult

if TYPE_CHECKING:
    from juniper_release.progress import Board


def _default_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class _Run:
    """State shared by the build and verify jobs of one ``verify_all`` call."""

    registry: Registry
    workspace: Path
    keys: dict[str, str]
    results: dict[str, PackageResult]
    pythons: dict[str, str | None] = field(default_factory=dict)
    request: str | None = None
    builds: dict[str, BuildResult] = field(default_factory=dict)
    built: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    log: Callable[[str], None] = _default_log
    build_envs: BuildEnvs | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    passes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Cache records of verifications that passed, held until the package's verdict (its dependencies' outcome)."""
    active: int = 0
    """Jobs running on a worker thread now (see :func:`_tracked`)."""
    idle: threading.Condition = field(default_factory=threading.Condition)
    board: Board | None = None
    """The progress display: each logged message moves its package's line (:func:`phase_of`)."""

    def interrupted(self) -> bool:
        """The run is being interrupted: a job failing now reports nothing, a job passing now records nothing."""
        return self.stopping.is_set() or interrupts.was_interrupted(0.5)

    def stopped(self, name: str, what: str) -> bool:
        """Whether ``what`` must not start because the run is being interrupted; if so, ``name`` is marked so."""
        if not (self.stopping.is_set() or interrupts.INTERRUPTED.is_set()):
            return False
        self.mark_interrupted(name, f"{what} not started: the run is being interrupted")
        return True

    def mark_interrupted(self, name: str, message: str) -> None:
        """``name`` was cut short by the interruption: neither passed nor failed (``message`` is logged)."""
        result = self.results.get(name)
        if result is not None and result.status == "pending":
            result.status, result.reason = "skipped", "interrupted"
        self.say(name, message)

    def failed_among(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` that are selected packages which failed or were skipped, sorted."""
        return sorted(n for n in names if n in self.results and self.results[n].status in {"failed", "skipped"})

    def skip_behind(self, name: str, culprits: Sequence[str], note: str = "") -> None:
        """``name`` is "skipped: dependency failed (...)" because of ``culprits`` (nothing of its own is reported)."""
        result = self.results[name]
        result.status, result.phase, result.error, result.detail = "skipped", None, None, ""
        result.reason = f"dependency failed ({', '.join(culprits)})"
        self.say(name, f"skipped: {result.reason}{note}")

    def say(self, name: str, message: str) -> None:
        if self.board is not None:
            result = self.results.get(name)
            self.board.phase(name, phase_of(message, result.phase if result is not None else None))
        with self.lock:
            self.log(f"[{name}] {message}")


_PHASE_OF = (
    ("build FAILED", "failed: build"),
    ("build ...", "build"),
    ("built ", "built"),
    ("verify ...", "verify"),
    ("passed", "passed"),
    ("cached", "cached"),
    ("skipped", "skipped"),
)


def phase_of(message: str, current: str | None) -> str:
    """The progress line's phase for a logged ``message`` (a failure, or the verification's current phase)."""
    if " FAILED: " in message and not message.startswith("build"):
        return f"failed: {message.split(' ', 1)[0]}"
    if "interrupted" in message:
        return "skipped: interrupted"
    for prefix, phase in _PHASE_OF:
        if message.startswith(prefix):
            return phase
    return f"verify: {current}" if current else "verify"
