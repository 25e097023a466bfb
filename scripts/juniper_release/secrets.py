"""The secrets policy: which files and contents are secrets, which encrypted contents are safe, and redaction.

One list serves the consistency checker (``invoke check``), the wheel and sdist inspection of a build, and everything
the engine prints or raises (:func:`redact`):

- file names: environment files (``.env``, ``.env.*`` except templates), ``.pypirc``, ``.netrc``, SSH private keys,
  and key or certificate files (``*.pem``, ``*.key``, ``*.p12``, ``*.pfx``);
- contents: private keys in any armour, PyPI API tokens and GitHub tokens;
- encrypted contents are safe whatever the file is called, when the whole file is encrypted: sops (every value
  ``ENC[AES256_GCM,...]`` beside a ``sops`` metadata block), age (armoured or binary), git-crypt and ansible-vault.

Findings name the file and the kind of secret, never the secret itself.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCAN_LIMIT = 2_000_000
"""Bytes of one file read for content patterns and encryption headers."""

# --------------------------------------------------------------------------------------------------- names

ENV_TEMPLATES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
"""Environment-file names that hold placeholders, not values."""

SECRET_FILES: tuple[tuple[str, str], ...] = (
    (".env", "an environment file"),
    (".env.*", "an environment file"),
    (".pypirc", "a .pypirc (index credentials)"),
    (".netrc", "a .netrc (login credentials)"),
    ("id_rsa", "an SSH private key"),
    ("id_dsa", "an SSH private key"),
    ("id_ecdsa", "an SSH private key"),
    ("id_ed25519", "an SSH private key"),
    ("*.pem", "a key or certificate file"),
    ("*.key", "a key or certificate file"),
    ("*.p12", "a key or certificate file"),
    ("*.pfx", "a key or certificate file"),
)
"""(glob on the file name, what such a file is)."""

# --------------------------------------------------------------------------------------------------- contents

PRIVATE_KEY_PATTERN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----")
"""Private key material in any armour: PEM/OpenSSH ("-----BEGIN RSA PRIVATE KEY-----") and PGP ("... KEY BLOCK")."""

TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A PyPI/TestPyPI token is "pypi-" + a base64 macaroon, which always starts "AgE"; names such as
    # "pypi-publish-procedure" and placeholders such as "pypi-XXXXXXXX" are not tokens.
    (re.compile(r"pypi-AgE[A-Za-z0-9_\-]{13,}"), "a PyPI API token"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), "a GitHub token"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), "a GitHub token"),
)
"""API token shapes (PyPI and TestPyPI tokens, GitHub tokens), and what each is."""

CONTENT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = ((PRIVATE_KEY_PATTERN, "a private key"), *TOKEN_PATTERNS)

# --------------------------------------------------------------------------------------------------- encryption

GIT_CRYPT_HEADER = b"\x00GITCRYPT\x00"
AGE_BINARY_HEADER = b"age-encryption.org/v1\n"
AGE_ARMOR = ("-----BEGIN AGE ENCRYPTED FILE-----", "-----END AGE ENCRYPTED FILE-----")
ANSIBLE_VAULT_HEADER = "$ANSIBLE_VAULT;"
SOPS_VALUE = re.compile(
    r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:[a-z]+\]", re.ASCII
)
_BASE64_LINE = re.compile(r"[A-Za-z0-9+/=]*")
_HEX_LINE = re.compile(r"[0-9a-fA-F]+")
_SOPS_YAML = re.compile(r"^sops:", re.MULTILINE)
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z0-9_.\-]+)\s*[=:]\s*(.*?)\s*$")


def _git_crypt(data: bytes) -> bool:
    return data.startswith(GIT_CRYPT_HEADER)


def _age(data: bytes) -> bool:
    if data.startswith(AGE_BINARY_HEADER):
        return True
    if not data.lstrip().startswith(AGE_ARMOR[0].encode()):
        return False
    lines = data.decode("latin-1").strip().splitlines()
    begin, end = AGE_ARMOR
    return (
        len(lines) >= 2
        and (lines[0].strip(), lines[-1].strip()) == (begin, end)
        and all(_BASE64_LINE.fullmatch(line.strip()) for line in lines[1:-1])
    )


def _ansible_vault(data: bytes) -> bool:
    if not data.lstrip().startswith(ANSIBLE_VAULT_HEADER.encode()):
        return False
    lines = data.decode("latin-1").strip().splitlines()
    return (
        len(lines) >= 2
        and lines[0].startswith(ANSIBLE_VAULT_HEADER)
        and all(_HEX_LINE.fullmatch(line.strip()) for line in lines[1:] if line.strip())
    )


def _sops_leaves_encrypted(value: Any) -> bool:
    """Every leaf of a parsed sops document (its ``sops`` metadata left out by the caller) is an ENC[...] value."""
    if isinstance(value, dict):
        return all(_sops_leaves_encrypted(v) for v in value.values())
    if isinstance(value, list):
        return all(_sops_leaves_encrypted(v) for v in value)
    return value is None or (isinstance(value, str) and SOPS_VALUE.fullmatch(value) is not None)


def _sops_tree(text: str) -> bool:
    """A sops JSON or YAML document: a top-level ``sops`` mapping and every other leaf encrypted."""
    import yaml  # type: ignore[import-untyped,unused-ignore]

    try:
        doc = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return False
    if not isinstance(doc, dict) or not isinstance(doc.get("sops"), dict):
        return False
    return _sops_leaves_encrypted({k: v for k, v in doc.items() if k != "sops"})


def _sops_lines(text: str) -> bool:
    """A sops dotenv or INI file: ``sops_*`` keys or a ``[sops]`` section, and every other value encrypted."""
    section, metadata, values = "", False, []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        match = _ASSIGNMENT.match(line)
        if match is None:
            return False
        if section == "sops" or (not section and match.group(1).startswith("sops_")):
            metadata = True
        else:
            values.append(match.group(2))
    return metadata and all(SOPS_VALUE.fullmatch(v) for v in values)


def _sops(data: bytes) -> bool:
    if b"ENC[AES256_GCM," not in data or b"sops" not in data:
        return False
    text = data.decode("utf-8", "replace")
    if text.lstrip().startswith("{") or _SOPS_YAML.search(text):
        return _sops_tree(text)
    return _sops_lines(text)


ENCRYPTIONS: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("git-crypt", _git_crypt),
    ("age", _age),
    ("ansible-vault", _ansible_vault),
    ("sops", _sops),
)


def encryption(data: bytes) -> str | None:
    """The format (``sops``, ``age``, ``git-crypt``, ``ansible-vault``) when all of ``data`` is encrypted, else None.

    A file that only starts like an encrypted one (an age armour followed by plaintext, a sops file with a plaintext
    value) is not encrypted.
    """
    return next((name for name, matches in ENCRYPTIONS if matches(data)), None)


# --------------------------------------------------------------------------------------------------- scanning


@dataclass(frozen=True)
class SecretHit:
    """One reason a file is a secret: what it is, and the line of the match for a content pattern."""

    what: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.what} (line {self.line})" if self.line else self.what


def name_hits(path: str) -> list[SecretHit]:
    """What the file's name says it is (at most one reason)."""
    name = path.rsplit("/", 1)[-1]
    if name in ENV_TEMPLATES:
        return []
    return next(([SecretHit(what)] for glob, what in SECRET_FILES if fnmatch.fnmatchcase(name, glob)), [])


def content_hits(data: bytes) -> list[SecretHit]:
    """Private keys and tokens in the first :data:`SCAN_LIMIT` bytes, one per kind, at their first line."""
    text = data[:SCAN_LIMIT].decode("latin-1")
    hits: list[SecretHit] = []
    for pattern, what in CONTENT_PATTERNS:
        match = pattern.search(text)
        if match and all(h.what != what for h in hits):
            hits.append(SecretHit(what, text.count("\n", 0, match.start()) + 1))
    return hits


def scan(path: str, data: bytes) -> list[SecretHit]:
    """Why the file at ``path`` (relative, ``/``-separated) holding ``data`` is a secret; [] when it is safe.

    An entirely encrypted file is safe whatever its name. sops keeps its file's structure readable, so a sops file
    is still searched for plaintext tokens; the other formats are opaque.
    """
    found = encryption(data[:SCAN_LIMIT])
    if found is None:
        return name_hits(path) + content_hits(data)
    return content_hits(data) if found == "sops" else []


def read_head(path: Path) -> bytes:
    """The first :data:`SCAN_LIMIT` bytes of a file (b"" for anything that is not a readable file)."""
    try:
        with path.open("rb") as fh:
            return fh.read(SCAN_LIMIT)
    except OSError:
        return b""


def describe(hits: Iterable[SecretHit]) -> str:
    """``an SSH private key and a private key (line 1)``."""
    return " and ".join(str(h) for h in hits)


# --------------------------------------------------------------------------------------------------- redaction

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
"""Environment variables whose values are secrets wherever they appear."""
REDACTED = "***"
_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@")
_URL_USER_TOKEN = re.compile(r"(https?://)[^/\s:@]+@")
"""An http(s) URL whose user-info is a single token (``https://TOKEN@host/``): the token is the secret."""
_MIN_SECRET_LENGTH = 4

_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value (read from the environment or ~/.pypirc) so it is redacted everywhere."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        _registered.add(value)


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """Replace every known secret, token-shaped string and URL password in ``text``."""
    env = os.environ if env is None else env
    known = set(_registered)
    known.update(v for k in SECRET_ENV_VARS if (v := env.get(k)) and len(v) >= _MIN_SECRET_LENGTH)
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern, _ in TOKEN_PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = _URL_CREDENTIALS.sub(rf"\1:{REDACTED}@", text)
    return _URL_USER_TOKEN.sub(rf"\1{REDACTED}@", text)
