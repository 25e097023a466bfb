"""The workspace: the directory holding the checkouts, and which of the registry's packages it has.

$JUNIPER_WORKSPACE can override the workspace so that tests and rehearsals point the tool at stand-in checkouts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from juniper_release.ecosystem.model import Package, Registry
from juniper_release.ecosystem.paths import ROOT
from juniper_release.errors import WorkspaceError, suggest
from juniper_release.gitops import Git

ENV_WORKSPACE = "JUNIPER_WORKSPACE"


def resolve_workspace(option: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The directory holding the checkouts: ``--workspace``, then $JUNIPER_WORKSPACE, then this repo's parent."""
    env = os.environ if env is None else env
    if option:
        chosen, origin = Path(option), "--workspace"
    elif env.get(ENV_WORKSPACE):
        chosen, origin = Path(env[ENV_WORKSPACE]), f"${ENV_WORKSPACE}"
    else:
        chosen, origin = ROOT.parent, "the default (this repository's parent)"
    chosen = chosen.expanduser().resolve()
    if not chosen.is_dir():
        raise WorkspaceError(
            f"workspace {chosen} (from {origin}) is not a directory",
            f"create it, or pass --workspace DIR / set {ENV_WORKSPACE}",
        )
    return chosen


def require_checkout(pkg: Package, workspace: Path) -> Path:
    """The package's checkout, or a clear error naming the path and how to get it."""
    path = pkg.checkout(workspace)
    if pkg.subdir and pkg.repo_dir(workspace).is_dir() and not (path / "pyproject.toml").is_file():
        raise WorkspaceError(
            f"{pkg.name}: the checkout {pkg.repo_dir(workspace)} has no {pkg.subdir}/pyproject.toml (an older "
            f"snapshot of {pkg.repo} without this package)",
            f"update the checkout (git pull), or leave {pkg.name} out with --packages",
        )
    if not (path / "pyproject.toml").is_file():
        raise WorkspaceError(
            f"{pkg.name}: no checkout at {path}",
            f"run `{suggest(f'invoke clone --workspace {workspace}')}` (clones {pkg.repo}), or pass --workspace DIR",
        )
    return path


def missing_checkouts(registry: Registry, workspace: Path) -> list[Package]:
    """Packages whose repository is not checked out (a root package needs its pyproject.toml, a sub-package only
    the repository directory: see :func:`missing_packages`)."""
    return [
        p
        for p in registry.packages
        if not (p.checkout(workspace) / "pyproject.toml").is_file()
        and not (p.subdir and p.repo_dir(workspace).is_dir())
    ]


def missing_packages(registry: Registry, workspace: Path) -> list[Package]:
    """Sub-packages the registry lists whose repository is checked out but does not have them (yet): an older
    checkout. Status and check show them as rows; verify and release refuse them."""
    return [
        p
        for p in registry.packages
        if p.subdir and p.repo_dir(workspace).is_dir() and not (p.checkout(workspace) / "pyproject.toml").is_file()
    ]


def present(registry: Registry, workspace: Path) -> Registry:
    """The registry without its :func:`missing_packages` (what the graph and the checks read)."""
    gone = {p.name for p in missing_packages(registry, workspace)}
    return replace(registry, packages=tuple(p for p in registry.packages if p.name not in gone)) if gone else registry


def clone_url(pkg: Package, base: str = "https://github.com/") -> str:
    """The URL ``invoke clone`` uses: ``base`` + owner/name (base may be a local directory in tests)."""
    if base.endswith("/"):
        return f"{base}{pkg.repo}.git" if base.startswith(("http://", "https://")) else f"{base}{pkg.repo}"
    return f"{base}/{pkg.repo}"


def clone_missing(
    registry: Registry, workspace: Path, base: str = "https://github.com/", *, dry_run: bool = False
) -> list[tuple[str, str]]:
    """Clone every registry repo that has no checkout under ``workspace``; existing directories are skipped.

    Returns (package, outcome) pairs; outcome is ``cloned <url>``, ``would clone <url>`` or ``skipped: ...``.
    ``base`` is GitHub by default, or another URL / local directory holding ``owner/name(.git)`` (tests, mirrors).
    """
    outcomes: list[tuple[str, str]] = []
    for pkg in registry.packages:
        dest = pkg.checkout(workspace)
        url = clone_url(pkg, base)
        if (dest / "pyproject.toml").is_file():
            outcomes.append((pkg.name, f"skipped: {dest} exists"))
            continue
        if dest.exists() and any(dest.iterdir()):
            outcomes.append((pkg.name, f"skipped: {dest} exists but holds no pyproject.toml (move it aside)"))
            continue
        if dry_run:
            outcomes.append((pkg.name, f"would clone {url}"))
            continue
        Git(workspace).run(
            "clone", "--quiet", url, str(dest), fix=f"check that {url} exists and is reachable, or pass --base"
        )
        outcomes.append((pkg.name, f"cloned {url}"))
    return outcomes
