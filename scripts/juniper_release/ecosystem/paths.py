"""Where the tool's files are: this checkout, the registry file in use and the cache directory.

Environment variables can override the registry file and the cache directory so that tests and rehearsals point the
tool elsewhere.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath

from juniper_release.errors import JuniperError, WorkspaceError

ROOT = Path(__file__).resolve().parents[3]
"""The juniper-release checkout (this file lives in ``scripts/juniper_release/``)."""

DEFAULT_REGISTRY = ROOT / "repos.toml"
ENV_REGISTRY = "JUNIPER_REGISTRY"
"""The registry file to read when ``--registry`` is not given (relative paths resolve from the working directory,
then from this repository)."""
CACHE_DIR = ROOT / ".juniper"
"""The one ignored directory for wheelhouse, caches and the sandbox ($JUNIPER_CACHE_DIR overrides it)."""
ENV_CACHE_DIR = "JUNIPER_CACHE_DIR"
PART_MARKER = ".juniper-cache-part"
"""Written into each part of the cache dir (``wheelhouse/``, ``tmp/``, ...) when the tool creates it: ``nox -s clean``
removes a part only if it holds this marker, so a user's own ``tmp/`` in a $JUNIPER_CACHE_DIR is never touched."""


def shown_path(path: Path) -> str:
    """How messages name a registry file: relative to this repository when it lies in it (``repos.toml``,
    ``registries/grown.toml``), else its path."""
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def nearest_registry(start: Path | None = None) -> Path | None:
    """The nearest ``repos.toml`` from ``start`` (default: the working directory) upwards, if any."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "repos.toml"
        if candidate.is_file():
            return candidate
    return None


def registry_path(option: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The registry file: ``--registry``, then $JUNIPER_REGISTRY, then the nearest repos.toml from the working
    directory upwards (so the console script works from any directory of a project), then this checkout's
    repos.toml. A relative path that does not exist from the working directory is looked up in this repository
    (``registries/grown.toml``)."""
    env = os.environ if env is None else env
    chosen = option or env.get(ENV_REGISTRY)
    if not chosen:
        return nearest_registry() or DEFAULT_REGISTRY
    path = Path(chosen).expanduser()
    if not path.is_absolute() and not path.exists() and (ROOT / path).exists():
        return ROOT / path
    return path


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The tool's one ignored cache directory: $JUNIPER_CACHE_DIR, else ``.juniper/`` in this repository."""
    env = os.environ if env is None else env
    return Path(env[ENV_CACHE_DIR]).expanduser().resolve() if env.get(ENV_CACHE_DIR) else CACHE_DIR


def cache_part(name: str) -> Path:
    """``cache_dir() / name``, created with its :data:`PART_MARKER` on first use.

    A part that exists without the marker was not made by the tool (a user's directory in $JUNIPER_CACHE_DIR) and is
    refused rather than written into; in this repository's own ``.juniper/`` (ignored, the tool's alone) an unmarked
    part is from an earlier version of the tool and is adopted. A cache dir or part that is a file is refused too.
    """
    base = cache_dir()
    part = base / name
    where = f"${ENV_CACHE_DIR}={base}" if os.environ.get(ENV_CACHE_DIR) else str(base)
    move = f"point ${ENV_CACHE_DIR} at a new or empty directory"
    for path in (base, part):
        if path.exists() and not path.is_dir():
            raise WorkspaceError(
                f"the cache dir {where}: {path} is a file, not a directory", f"move it aside, or {move}"
            )
    with _PART_LOCK:  # verify-all's jobs ask for the same part at once: one of them makes it and its marker
        return _make_part(base, part, where, move)


_PART_LOCK = threading.Lock()


def _make_part(base: Path, part: Path, where: str, move: str) -> Path:
    if (part / PART_MARKER).is_file():
        return part
    if part.is_dir() and base != CACHE_DIR and any(p.name != PART_MARKER for p in part.iterdir()):
        raise WorkspaceError(
            f"the cache dir {where}: {part} exists and was not made by juniper-release (no {PART_MARKER})",
            f"{move}; or, if it is an older cache of this tool, remove {part} yourself",
        )
    try:
        part.mkdir(parents=True, exist_ok=True)
        (part / PART_MARKER).write_text("made by juniper-release: `nox -s clean` may remove this directory\n")
    except OSError as exc:
        raise WorkspaceError(f"the cache dir {where}: cannot create {part} ({exc.strerror})", move) from None
    return part


def is_own_part(part: Path) -> bool:
    """True when ``part`` (a directory in the cache dir) holds the tool's :data:`PART_MARKER`."""
    return (part / PART_MARKER).is_file()


# ------------------------------------------------------------------------------------------- paths config names


def escape_reason(value: str, up: int = 0) -> str | None:
    """Why the path ``value`` (as a config file writes it, relative to a starting directory) does not stay inside its
    place, or None when it does. ``up`` is how many levels above the starting directory still belong to the place (a
    sub-package ``libs/core`` of a repository may name ``../../LICENSE``; a package alone in its checkout may not name
    ``..``). Lexical: nothing is read."""
    if not value or not value.strip():
        return "it is empty"
    if value.startswith("~") or Path(value).is_absolute() or PureWindowsPath(value).drive:
        return "it is absolute"
    if "\x00" in value:
        return "it holds a NUL byte"
    depth = 0
    for part in PurePosixPath(value.replace("\\", "/")).parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < -up:
            return "it leads outside with '..'"
    return None


def inside(
    value: str,
    *,
    field: str,
    where: str,
    fix: str,
    place: str = "its directory",
    up: int = 0,
    base: Path | None = None,
    error: type[JuniperError] = WorkspaceError,
) -> str:
    """THE rule for every path a pyproject or the registry names (a version file, readme, license, workflow, ...): it
    resolves inside its place. ``value`` is relative to the starting directory ``base`` (when given, on disk: a
    symlink on the way must not lead outside either); ``up`` levels above it still belong to the place (see
    :func:`escape_reason`); ``place`` names it in the message. Returns ``value`` normalised to forward slashes; else raises ``error`` naming ``field`` in
    ``where``, before anything is read or written."""
    why = escape_reason(value, up)
    if why is None and base is not None:
        top = base.parents[up - 1] if up else base
        try:
            resolved, home = (base / value).resolve(), top.resolve()
        except (OSError, RuntimeError):  # a symlink loop
            why = "a symlink on its way cannot be resolved"
        else:
            if not resolved.is_relative_to(home):
                why = f"it resolves outside through a symlink (to {resolved})"
    if why is not None:
        raise error(f"{where}: {field} {value!r} must be a relative path inside {place} ({why})", fix)
    return "/".join(p for p in PurePosixPath(value.replace("\\", "/")).parts if p != ".")
