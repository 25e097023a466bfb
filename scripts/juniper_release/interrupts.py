"""Interruptions: Ctrl-C (SIGINT) and SIGTERM end a long run the same way, and say so with their own exit code.

:func:`handled` makes SIGTERM raise :class:`Terminated` (a ``KeyboardInterrupt``) in the main thread, so every
``finally`` and ``except KeyboardInterrupt`` that cleans up after Ctrl-C also runs on SIGTERM; before raising, it
passes SIGTERM on to this process's children (on either signal) (a build, pip, twine) so none is left running. Worker threads ask
:data:`INTERRUPTED` whether a failure they see is really the interruption, and :func:`refuse_new_command` (called
before every subprocess the engine starts) keeps them from starting anything new once it is set.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

from juniper_release.errors import JuniperError

EXIT_SIGINT = 130
EXIT_SIGTERM = 143

INTERRUPTED = threading.Event()
"""Set once SIGINT or SIGTERM arrived (while :func:`handled` is in force)."""
_DEPTH: list[None] = []
"""How many :func:`handled` blocks are open (main thread only): the outermost one clears :data:`INTERRUPTED` on exit."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C."""


class Interrupted(JuniperError):
    """A run ended by SIGINT or SIGTERM: not a failure of what it was working on."""

    def __init__(self, what: str, fix: str | None = None, *, signal_exit: int = EXIT_SIGINT) -> None:
        super().__init__(what, fix)
        self.exit_code = signal_exit


def exit_code(exc: BaseException) -> int:
    """130 for Ctrl-C, 143 for SIGTERM."""
    return EXIT_SIGTERM if isinstance(exc, Terminated) else EXIT_SIGINT


def signal_name(exc: BaseException) -> str:
    return "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"


def children(pid: int | None = None) -> list[int]:
    """The child PIDs of ``pid`` (default: this process) (Linux ``/proc``; elsewhere none are known)."""
    pids: list[int] = []
    for task in Path(f"/proc/{pid or os.getpid()}/task").glob("*"):
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def descendants() -> list[int]:
    """Every process below this one: children, their children, and so on (a ``git push`` and the remote's hook it
    runs, a build and its backend)."""
    found: list[int] = []
    todo = children()
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo += children(pid)
    return found


def terminate_children() -> None:
    """Send SIGTERM to every process below this one (they end the way this process does): a grandchild such as a
    push's remote hook would otherwise finish the push after this run ended."""
    for pid in descendants():
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    INTERRUPTED.set()
    terminate_children()
    raise Terminated


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    INTERRUPTED.set()
    terminate_children()  # Ctrl-C at a terminal reached them already; `kill -INT PID` did not
    raise KeyboardInterrupt


@contextmanager
def handled() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated`, and both signals set :data:`INTERRUPTED`, inside the block.

    Outside the main thread (where signal handlers cannot be installed) the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outermost = not _DEPTH
    if outermost:
        INTERRUPTED.clear()
    _DEPTH.append(None)
    saved = signal.signal(signal.SIGTERM, _on_sigterm), signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, saved[0])
        signal.signal(signal.SIGINT, saved[1])
        _DEPTH.pop()
        if outermost:  # the interruption ended with the run: later work in this process is not interrupted
            INTERRUPTED.clear()


def end_now_if_threads_linger(code: int, message: str) -> None:
    """At the front door, once an interruption ended a task: when a worker thread is still alive (blocked on a
    network read until its timeout, or on a child already sent SIGTERM), print ``message`` and end the process now
    with ``code``; the interpreter would otherwise join that thread first, seconds after Ctrl-C. Every ``finally``
    of the main thread has run by then. With no such thread, return (the caller exits the ordinary way)."""
    main = threading.main_thread()
    if not any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate()):
        return
    print(message, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def was_interrupted(grace: float = 1.0) -> bool:
    """In a worker thread that just saw a child fail: did an interruption cause it?

    Ctrl-C reaches the children at the same moment as this process, so a child may die before the main thread has
    run its handler: allow ``grace`` seconds for the handler to say so.
    """
    return INTERRUPTED.wait(grace)


def refuse_new_command(what: str) -> None:
    """In a worker thread, once an interruption arrived: raise :class:`Interrupted` instead of starting ``what``.

    A worker thread never receives the signal itself, so a job would otherwise go on to its next command (the next
    pip install, the next smoke command) after Ctrl-C. The main thread is exempt: it learns of the signal by its
    ``KeyboardInterrupt``, and its clean-up may still need a command.
    """
    if INTERRUPTED.is_set() and threading.current_thread() is not threading.main_thread():
        raise Interrupted(f"{what}: not started, the run is being interrupted", "re-run it")
