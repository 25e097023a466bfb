"""What every task shares: one-line errors with their exit code, the next-step line, required options, help."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from invoke.exceptions import Exit

from juniper_release import interrupts
from juniper_release.errors import JuniperError
from juniper_release.frontdoor import HELP, failure

F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """Turn an engine error into a one-line message and its exit code (never a traceback); Ctrl-C exits 130 and
    SIGTERM 143 from every task, at once (no wait for a worker thread blocked on the network)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with interrupts.handled():  # SIGTERM unwinds like Ctrl-C, and both stop this run's children
                return fn(*args, **kwargs)
        except JuniperError as exc:
            message = f"error: {failure(exc)}"
            if isinstance(exc, interrupts.Interrupted):
                interrupts.end_now_if_threads_linger(exc.exit_code, message)
            raise Exit(message, code=exc.exit_code) from None
        except KeyboardInterrupt as exc:  # Ctrl-C (130) or SIGTERM (143) in a task with no resume of its own
            code = interrupts.exit_code(exc)
            message = f"error: interrupted by {interrupts.signal_name(exc)}; nothing more was started. Fix: re-run it"
            interrupts.end_now_if_threads_linger(code, message)
            raise Exit(message, code=code) from None

    return wrapper  # type: ignore[return-value]


def next_step(command: str) -> None:
    """The next command to run, on stderr (stdout stays the task's own output)."""
    print(f"next: {command}", file=sys.stderr)


def required(value: str | None, flag: str) -> str:
    """A task option without a default: its absence is a one-line error (the tasks take none positionally, so
    ``invoke release --help`` shows the help instead of releasing a package named '--help')."""
    if not value:
        raise JuniperError(f"{flag} is required", f"pass {flag} NAME (see `invoke --help <task>`)")
    return value


_TARGET_HELP = {key: HELP[key] for key in ("workspace", "sandbox", "defects", "registry", "layout")}
