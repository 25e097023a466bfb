"""Where the tool's files are: this checkout, the registry file in use and the cache directory.

Environment variables can override the registry file and the cache directory so that tests and rehearsals point the
tool elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
"""The juniper-release checkout (this file lives in ``scripts/juniper_release/``)."""

DEFAULT_REGISTRY = ROOT / "repos.toml"
ENV_REGISTRY = "JUNIPER_REGISTRY"
"""The registry file to read when ``--registry`` is not given (relative paths resolve from the working directory,
then from this repository)."""
CACHE_DIR = ROOT / ".juniper"
"""The one ignored directory for wheelhouse, caches and the sandbox ($JUNIPER_CACHE_DIR overrides it)."""
ENV_CACHE_DIR = "JUNIPER_CACHE_DIR"


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
