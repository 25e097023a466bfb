"""The incremental verification cache: where it lives, the keys it trusts and the records it keeps.

Results are cached per package on a *source key*: the content of every file a build would see, plus the tool's own
configuration. A package's *verify key* joins its source key with those of every package it depends on; a recorded
success under that key means "verified, and nothing it was verified against has changed".
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from juniper_release import __version__ as TOOL_VERSION
from juniper_release.ecosystem.graph import Graph, build_graph
from juniper_release.ecosystem.paths import CACHE_DIR, PART_MARKER, cache_part, is_own_part
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import Package, Registry, cache_dir, require_checkout
from juniper_release.errors import JuniperError, WorkspaceError, suggest
from juniper_release.gitops import Git
from juniper_release.verify.build import BuildEnvs, BuildResult, build_package, load_build, source_files, write_manifest

STEPS_VERSION = "2"
"""Bump when the verification steps change, so earlier successes are no longer trusted."""

CACHE_PARTS = ("wheelhouse", "verified", "envs", "tmp", "logs", "sandbox", "apidiff", "rehearsal")
"""What ``nox -s clean`` removes under the cache dir (release journals of other tools stay)."""


# --------------------------------------------------------------------------------------------------- layout


def wheelhouse_dir() -> Path:
    """The shared wheelhouse: one folder per package."""
    return cache_part("wheelhouse")


def envs_dir() -> Path:
    """Where verification creates its environments (a failed one is kept there for inspection)."""
    return cache_part("envs")


def _records_dir() -> Path:
    return cache_part("verified")


def clean_cache(say: Callable[[str], None] | None = None) -> list[Path]:
    """Remove the wheelhouse, verification records, environments, scratch builds, sandboxes and the default rehearsal
    directory: each part only if it holds the tool's marker (:func:`cache_part` wrote it), or lies in this
    repository's own ``.juniper/``. Anything else, such as a user's ``tmp/`` in the directory $JUNIPER_CACHE_DIR
    names, is kept and said so."""
    removed: list[Path] = []
    base = cache_dir()
    if base.exists() and not base.is_dir():
        raise WorkspaceError(
            f"the cache dir {base} is a file, not a directory", "point JUNIPER_CACHE_DIR at a directory"
        )
    for part in CACHE_PARTS:
        path = base / part
        if not path.exists() and not path.is_symlink():
            continue
        if path.is_symlink() or not path.is_dir() or not (is_own_part(path) or base == CACHE_DIR):
            if say is not None:
                say(f"kept {path}: not made by juniper-release (no {PART_MARKER} in it)")
            continue
        shutil.rmtree(path)
        removed.append(path)
    return removed


# --------------------------------------------------------------------------------------------------- keys


def tool_config_key(registry: Registry) -> str:
    """What of the tool's own configuration a verification depends on."""
    data = {
        "registry": registry.path.read_text(encoding="utf-8"),
        "torch": [registry.torch.version, registry.torch.source],
        "tool": TOOL_VERSION,
        "steps": STEPS_VERSION,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def source_key(registry: Registry, pkg: Package, workspace: Path) -> str:
    """Hash of what a build would see, plus the tool config.

    The content of every tracked and untracked non-ignored file of the checkout, by path, whether committed or not:
    committing a verified change (the release's "commit bump" step) keeps the key, so the verified artifacts are the
    ones that get uploaded.
    """
    root = require_checkout(pkg, workspace)
    if not Git(root).ok("rev-parse", "--git-dir"):
        raise WorkspaceError(
            f"{pkg.name}: {root} is not a git checkout",
            f"clone it with `{suggest(f'invoke clone --workspace {workspace}')}`",
        )
    digest = hashlib.sha256()
    for rel in source_files(root):
        path, name = root / rel, os.fsencode(rel)  # a name that is not UTF-8 is keyed on its bytes
        if path.is_symlink():  # a link inside the checkout (source_files refuses others): keyed on its content too
            content = hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"-"
            digest.update(b"\0link\0" + name + b"\0" + os.fsencode(os.readlink(path)) + b"\0" + content)
        else:
            mode = b"x" if os.access(path, os.X_OK) else b"-"
            digest.update(b"\0file\0" + name + b"\0" + mode + hashlib.sha256(path.read_bytes()).digest())
    digest.update(b"\0tool\0" + tool_config_key(registry).encode())
    # A version from git tags is not in any file: the same files at a tag and past it build different versions.
    project = read_project(pkg, root)
    if project.is_vcs:
        digest.update(b"\0vcs-version\0" + str(project.version).encode())
    return digest.hexdigest()


def dependency_closure(graph: Graph, name: str) -> set[str]:
    """Every registry package ``name`` requires, directly or not (hard or through an extra)."""
    seen: set[str] = set()
    todo = list(graph.deps(name))
    while todo:
        dep = todo.pop()
        if dep not in seen and dep != name:
            seen.add(dep)
            todo.extend(graph.deps(dep))
    return seen


def verify_key(name: str, keys: Mapping[str, str], closure: Iterable[str], python: str | None = None) -> str:
    """The key a success of ``name`` on ``python`` is recorded under: its source key and those of its closure."""
    parts = [f"{name}={keys[name]}", *sorted(f"{d}={keys[d]}" for d in closure), f"python={python}"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# --------------------------------------------------------------------------------------------------- records


def record_path(name: str, key: str) -> Path:
    """The success record of ``name`` under verify key ``key`` (present only after a trusted pass)."""
    return _records_dir() / name / f"{key}.json"


def failure_path(name: str, key: str) -> Path:
    """The failure record of ``name`` under verify key ``key``: its own failure line, for the release's reason."""
    return _records_dir() / name / f"{key}.failed.json"


def record_failure(name: str, key: str, error: str) -> None:
    """Remember why ``name`` failed its own verification under ``key`` (never a pass: the cache trusts passes only)."""
    path = failure_path(name, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_manifest(path, {"package": name, "verify_key": key, "error": error})


def record_success(name: str, key: str, entry: Mapping[str, object]) -> None:
    """Remember a trusted pass of ``name`` under verify key ``key``."""
    path = record_path(name, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    failure_path(name, key).unlink(missing_ok=True)
    write_manifest(
        path, {**entry, "verify_key": key, "verified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    )


def recorded_backend(name: str, key: str) -> str | None:
    """The environment backend of the recorded pass, if the record is readable."""
    try:
        return str(json.loads(record_path(name, key).read_text(encoding="utf-8"))["backend"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _current_key(registry: Registry, pkg: Package, workspace: Path) -> str:
    from juniper_release.verify.pythons import default_python

    closure = dependency_closure(build_graph(registry, workspace), pkg.name)
    keys = {n: source_key(registry, registry.get(n), workspace) for n in {pkg.name, *closure}}
    return verify_key(pkg.name, keys, closure, default_python(pkg, workspace))


def is_verified(registry: Registry, pkg: Package, workspace: Path) -> bool:
    """True when a successful verify on its default Python is recorded for the current source (and its dependencies')."""
    return record_path(pkg.name, _current_key(registry, pkg, workspace)).is_file()


def recorded_failure(registry: Registry, pkg: Package, workspace: Path) -> str | None:
    """The verification's own failure line for the current source, when its last verification failed."""
    try:
        data = json.loads(failure_path(pkg.name, _current_key(registry, pkg, workspace)).read_text(encoding="utf-8"))
        return str(data["error"])
    except (OSError, ValueError, KeyError, TypeError, JuniperError):
        return None


# --------------------------------------------------------------------------------------------------- wheelhouse


def build_into_wheelhouse(
    registry: Registry, pkg: Package, workspace: Path, key: str | None = None, *, envs: BuildEnvs | None = None
) -> BuildResult:
    """Build ``pkg`` into its wheelhouse folder, recording its source key in the manifest."""
    key = key or source_key(registry, pkg, workspace)
    return build_package(registry, pkg, workspace, wheelhouse_dir() / pkg.name, source_key=key, envs=envs)


def reusable_build(pkg: Package, key: str) -> BuildResult | None:
    """The wheelhouse build of ``pkg`` if it was made from source key ``key`` and its files are intact."""
    built = load_build(pkg, wheelhouse_dir() / pkg.name)
    return built if built is not None and built.manifest.get("source_key") == key else None


def verified_artifacts(registry: Registry, pkg: Package, workspace: Path) -> BuildResult | None:
    """The wheelhouse build of ``pkg`` if it was verified and built from exactly the checkout's current content.

    This is how a release uploads the very files ``verify`` installed and smoke-tested, instead of a rebuild.
    """
    if not is_verified(registry, pkg, workspace):
        return None
    return reusable_build(pkg, source_key(registry, pkg, workspace))
