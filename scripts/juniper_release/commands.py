"""Running external commands: always checked, secrets redacted (:func:`secrets.redact`) from anything printed or
raised."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from juniper_release.errors import CommandError
from juniper_release.interrupts import refuse_new_command
from juniper_release.secrets import redact


def display(cmd: Sequence[str | Path]) -> str:
    """A copy-pasteable, redacted rendering of a command."""
    return redact(shlex.join(str(c) for c in cmd))


_TRACERS: list[Callable[[str], None]] = []
"""Who is told of every command run (``-v``): see :func:`tracing`."""


@contextlib.contextmanager
def tracing(say: Callable[[str], None] | None) -> Iterator[None]:
    """Within the block, every command :func:`run` starts is shown (redacted) on ``say`` (None: nothing)."""
    if say is None:
        yield
        return
    _TRACERS.append(say)
    try:
        yield
    finally:
        _TRACERS.remove(say)


def run(
    cmd: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    what: str | None = None,
    fix: str | None = None,
    timeout: float | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` and capture its output. A non-zero exit raises :class:`CommandError` (redacted); in a worker
    thread after an interruption nothing starts (:func:`interrupts.refuse_new_command`)."""
    argv = [str(c) for c in cmd]
    refuse_new_command(what or display(argv))
    for say in list(_TRACERS):
        say(f"$ {display(argv)}" + (f"  (in {cwd})" if cwd else ""))
    full_env = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=full_env,
            capture_output=True,
            encoding="utf-8",
            errors="replace",  # a tool or console script printing Latin-1 bytes is shown, never a traceback
            timeout=timeout,
            input=input,
            check=False,
        )
    except FileNotFoundError:
        raise CommandError(f"{what or argv[0]}: command not found: {argv[0]}", fix or f"install {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise CommandError(
            f"{what or display(argv)}: timed out after {timeout:.0f}s", fix or "retry, or raise the timeout"
        ) from None
    if proc.returncode != 0:
        detail = last_lines(proc.stderr or proc.stdout)
        raise CommandError(
            f"{what or display(argv)} failed (exit {proc.returncode}): {redact(detail)}",
            fix or f"run `{display(argv)}` to see the full output",
        )
    return proc


def last_lines(text: str, n: int = 3) -> str:
    """The last ``n`` non-empty lines of ``text``, joined on one line."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return " | ".join(lines[-n:]) if lines else "(no output)"
