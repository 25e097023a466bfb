"""Live progress of a multi-package run (verify-all, the release train, rehearse, propose): one line per package.

On a terminal (:func:`output.live_enabled`: a tty, not ``TERM=dumb``, no ``NO_COLOR``, no ``CI``) a :class:`Board`
redraws, on stderr, one line per package (its phase and elapsed time), an overall counter and an ETA taken from the
durations recorded by the previous run (:mod:`juniper_release.verify.durations`). Anywhere else it prints the plain log
lines exactly as before. It never writes to stdout, so ``--json`` output stays pure.

Verbosity (:data:`output.QUIET` / ``NORMAL`` / ``VERBOSE``): quiet prints no log line at all (only the caller's
summary); normal shows, above a live display, only the lines marked important (failures); verbose shows every line.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from juniper_release.output import NORMAL, QUIET, VERBOSE, live_enabled

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

FINISHED = {
    "passed": "green",
    "cached": "green",
    "released": "green",
    "ready": "cyan",
    "failed": "red",
    "halted": "red",
    "skipped": "yellow",
    "held": "yellow",
    "pending-approval": "yellow",
    "proposed": "green",
}
"""The outcomes that end a package's line, with their colour."""

IDLE = {"waiting", "preflight", "queued"}
"""Phases that do not start a package's clock (its elapsed time is its own work, the ETA's unit)."""


@dataclass
class _Line:
    phase: str = "waiting"
    started: float | None = None
    ended: float | None = None

    def elapsed(self, now: float) -> float:
        if self.started is None:
            return 0.0
        return (self.ended or now) - self.started


def fmt_seconds(seconds: float) -> str:
    """``42s`` or ``3m05s``."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Board:
    """One line per package, a counter and an ETA; live on a terminal, plain lines elsewhere (see the module doc).

    ``expected`` holds each package's duration from the last run (seconds); ``jobs`` how many run at once (the ETA
    divides the remaining work by it). ``console`` forces a rich console (tests use ``force_terminal=True``).
    Without a terminal, log lines go to ``out`` (default: ``stream``, else stderr). The live display is always on
    ``stream`` (default stderr), never stdout unless asked.
    """

    def __init__(
        self,
        title: str,
        names: Iterable[str],
        *,
        expected: Mapping[str, float] | None = None,
        jobs: int = 1,
        verbosity: int = NORMAL,
        stream: TextIO | None = None,
        console: Console | None = None,
        out: Callable[[str], None] | None = None,
    ) -> None:
        self.title = title
        self.lines = {n: _Line() for n in names}
        self.expected = dict(expected or {})
        self.jobs = max(1, jobs)
        self.verbosity = verbosity
        self.stream = stream
        self.out = out
        self.started = time.monotonic()
        self._lock = threading.RLock()
        self._console = console
        self.live = console is not None or live_enabled(stream or sys.stderr)
        self.detail: Callable[[str], str | None] | None = None
        """Asked at each redraw for the current sub-phase of a package whose line is in ``verify`` (its install
        phase: env, install, smoke), which moves without a log line."""
        self._live: Live | None = None

    # ------------------------------------------------------------------------------------------ state

    def phase(self, name: str, phase: str) -> None:
        """``name`` entered ``phase`` (its clock starts at its first phase; a finishing outcome stops it)."""
        with self._lock:
            line = self.lines.get(name)
            if line is None:  # not one of the board's packages (a dependency built for them): no line of its own
                return
            if line.ended is not None and line.phase == phase:
                return  # told its outcome again: its time stays what it was
            now = time.monotonic()
            if line.started is None and phase not in IDLE:
                line.started = now
            line.phase = phase
            if phase.split(":", 1)[0] in FINISHED:
                line.ended = now
            else:
                line.ended = None
        self.refresh()

    def finished(self) -> int:
        return sum(1 for line in self.lines.values() if line.ended is not None)

    def durations(self) -> dict[str, float]:
        """The elapsed time of every package that finished (what :mod:`durations` records for the next ETA)."""
        return {n: line.elapsed(0) for n, line in self.lines.items() if line.ended is not None}

    def eta(self) -> float | None:
        """Seconds left: the recorded duration of each unfinished package less its elapsed time, over ``jobs``;
        None when a package still to finish has no recorded duration."""
        now = time.monotonic()
        left = []
        for name, line in self.lines.items():
            if line.ended is not None:
                continue
            if name not in self.expected:
                return None
            left.append(max(0.0, self.expected[name] - line.elapsed(now)))
        if not left:
            return 0.0
        return max(*left, sum(left) / min(self.jobs, len(left)))

    # ------------------------------------------------------------------------------------------ output

    def log(self, message: str, *, important: bool = False) -> None:
        """A log line: plain mode prints it (unless quiet); live mode shows it above the board when verbose, or when
        ``important`` (a failure) and not quiet."""
        if self.verbosity == QUIET:
            return
        with self._lock:
            if self._live is not None:
                if self.verbosity >= VERBOSE or important:
                    self._live.console.print(message, markup=False, highlight=False, soft_wrap=True)
                return
        if self.out is not None:
            self.out(message)
        else:
            print(message, file=self.stream or sys.stderr, flush=True)

    def verbose(self, message: str) -> None:
        """A line shown only with ``-v`` (every command, every step table)."""
        if self.verbosity >= VERBOSE:
            self.log(message)

    def counter(self) -> str:
        """``3/6 done, 1m10s elapsed, ETA 40s`` (``ETA ?`` without recorded durations)."""
        eta = self.eta()
        elapsed = fmt_seconds(time.monotonic() - self.started)
        return (
            f"{self.finished()}/{len(self.lines)} done, {elapsed} elapsed, "
            f"ETA {'?' if eta is None else fmt_seconds(eta)}"
        )

    def renderable(self) -> Table:
        """The board: one row per package (phase, elapsed), the counter and the ETA as its caption."""
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        grid = Table(title=self.title, title_justify="left", caption=self.counter(), caption_justify="left", box=None)
        grid.add_column("package", no_wrap=True)
        grid.add_column("phase", no_wrap=True)
        grid.add_column("elapsed", justify="right", no_wrap=True)
        with self._lock:
            for name, line in self.lines.items():
                colour = FINISHED.get(line.phase.split(":", 1)[0])
                style = colour or ("bold" if line.started is not None else "dim")
                phase = line.phase
                if phase.startswith("verify") and self.detail is not None and (sub := self.detail(name)):
                    phase = f"verify: {sub}"
                grid.add_row(name, Text(phase, style=style), fmt_seconds(line.elapsed(now)) if line.started else "")
        return grid

    def refresh(self) -> None:
        live = self._live
        if live is not None:
            live.update(self.renderable())

    def __enter__(self) -> Board:
        if self.live and self.verbosity != QUIET:
            from rich.console import Console
            from rich.live import Live

            console = self._console or Console(file=self.stream or sys.stderr)
            self._live = Live(
                self.renderable(),
                console=console,
                refresh_per_second=4,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
                get_renderable=self.renderable,
            )
            self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.update(self.renderable())
            live.stop()
