"""Writing files: the atomic text and JSON writers, the JSON reader, the lock that keeps runs apart, and the unified
diff that shows a file's planned change."""

from __future__ import annotations

import contextlib
import difflib
import errno
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from juniper_release.errors import JuniperError
from juniper_release.output import to_stderr

LOCK_TIMEOUT = 60.0
"""Seconds a run waits for another run holding the same lock before it refuses."""


def unified_diff(old: str | None, new: str, label: str) -> str:
    """A unified diff of a file's text as ``a/label`` -> ``b/label`` (``/dev/null`` when ``old`` is None)."""
    return "".join(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"a/{label}" if old is not None else "/dev/null",
            f"b/{label}",
        )
    )


def newline_of(path: Path) -> str:
    """The line ending ``path`` is written with: ``"\\r\\n"`` when its first line ends so, else ``"\\n"`` (also for a
    missing file). Text is edited with ``\\n`` (``read_text`` translates); writing it back with this keeps a CRLF
    file CRLF instead of rewriting every line."""
    try:
        with path.open("rb") as fh:
            first = fh.readline()
    except OSError:
        return "\n"
    return "\r\n" if first.endswith(b"\r\n") else "\n"


def universal_newlines(text: str) -> str:
    """``text`` with ``\\r\\n`` and lone ``\\r`` as ``\\n``, as ``Path.read_text`` gives a file: text from git (``git
    show``) compares equal to a file read from disk when only the line endings differ."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def write_json(path: Path, data: Any, *, sort_keys: bool = False) -> None:
    """Write JSON atomically: a temporary file beside ``path``, then a rename (never a half-written file)."""
    write_text(path, json.dumps(data, indent=2, sort_keys=sort_keys, default=str) + "\n")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically: a temporary file beside ``path``, then a rename (never a half-written file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise disk_error(exc, path, "write") from None


def disk_error(exc: OSError, path: Path, action: str) -> JuniperError:
    """A failed write or copy (a full disk, a read-only or missing directory, a file where a directory belongs) as a
    one-line error naming ``path``; what was written before is untouched, so the fix is to re-run."""
    reason = exc.strerror or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = (
            f"free space on the disk holding {path.parent} (`df -h {path.parent}`), then re-run: finished work is kept"
        )
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        fix = f"a file stands where a directory belongs on the way to {path}: move it aside, then re-run"
    else:
        fix = f"make {path.parent} writable, then re-run"
    return JuniperError(f"cannot {action} {path}: {reason}", fix)


def read_json(path: Path, fix: str) -> Any:
    """Read a JSON state file; a damaged one (truncated, not JSON) is a one-line error naming it and ``fix``."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise JuniperError(f"{path}: the state file is damaged (not valid JSON)", fix) from None


@contextmanager
def locked(
    lock_file: Path, what: str, timeout: float = LOCK_TIMEOUT, say: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_file`` for the block: one run at a time on one directory.

    Another holder makes this wait (saying so once); still held after ``timeout`` seconds, it refuses with the
    holder's PID. The lock goes with the process, so a killed run never leaves a stale one behind.
    """
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_file.open("a+", encoding="utf-8")
    except OSError as exc:
        raise disk_error(exc, lock_file, "create the lock") from None
    with handle as fh:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "unknown"
                if time.monotonic() >= deadline:
                    raise JuniperError(
                        f"{what} is in use by another run (PID {holder}, lock {lock_file})",
                        f"wait for PID {holder} to finish, or stop it, then re-run",
                    ) from None
                if not waited:
                    (say or to_stderr)(f"waiting for PID {holder}, which holds {lock_file} ({what}) ...")
                    waited = True
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)
