"""Running external commands: always checked, secrets redacted from anything printed or raised."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from juniper_release.errors import CommandError

# Token shapes that must never reach output: PyPI/TestPyPI API tokens and GitHub tokens.
TOKEN_PATTERNS = (
    re.compile(r"pypi-[A-Za-z0-9_\-]{16,}"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
)
# Private key material in any armour: PEM/OpenSSH ("-----BEGIN RSA PRIVATE KEY-----") and PGP ("... KEY BLOCK-----").
PRIVATE_KEY_PATTERN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----")
# Environment variables whose values are secrets wherever they appear.
SECRET_ENV_VARS = (
    "TWINE_PASSWORD",
    "UV_PUBLISH_PASSWORD",
    "UV_PUBLISH_TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "JUNIPER_PYPI_TOKEN",
    "JUNIPER_TESTPYPI_TOKEN",
    "PYPI_API_TOKEN",
    "TEST_PYPI_API_TOKEN",
)
REDACTED = "***"

_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value (read from the environment or ~/.pypirc) so it is redacted everywhere."""
    if value and len(value) >= 4:
        _extra_secrets.add(value)


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """Replace every known secret and token-shaped string in ``text``."""
    env = os.environ if env is None else env
    secrets = set(_extra_secrets)
    secrets.update(v for k in SECRET_ENV_VARS if (v := env.get(k)) and len(v) >= 4)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(REDACTED, text)
    # user:password@host in URLs
    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@", rf"\1:{REDACTED}@", text)


def display(cmd: Sequence[str | Path]) -> str:
    """A copy-pasteable, redacted rendering of a command."""
    return redact(shlex.join(str(c) for c in cmd))


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
    """Run ``cmd`` and capture its output. A non-zero exit raises :class:`CommandError` (redacted)."""
    argv = [str(c) for c in cmd]
    full_env = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, input=input, check=False
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
