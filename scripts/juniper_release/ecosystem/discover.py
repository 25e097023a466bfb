"""Reading checkouts for ``invoke init``: the packages under a workspace and what each one declares.

A *checkout* is a git repository directly under the workspace. Its packages are its root pyproject (when it has a
``[project]`` table), its uv workspace members (``[tool.uv.workspace] members`` globs, minus ``exclude``), and any
other directory with a ``[project]`` table, at most :data:`MAX_DEPTH` levels down. The walk never enters
:data:`SKIP_DIRS` (virtual environments, build output, caches, dot-directories) or :data:`SKIP_TREES` (tests,
fixtures, examples and docs hold sample projects, not released ones), nor a directory the uv workspace excludes.

Per package it reads the name, the import packages (from the build backend's own configuration, else the
top-level packages the wheel would ship), the requirements, the extras, the console scripts, requires-python and
the version source (:func:`juniper_release.ecosystem.versions.find_source`). What it had to guess is recorded in
:attr:`Found.guesses`, field by field, with the reason.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from juniper_release.ecosystem.paths import ROOT
from juniper_release.ecosystem.versions import VersionSource, backend_of, find_source
from juniper_release.ecosystem.versions import load_pyproject as _load
from juniper_release.errors import WorkspaceError

SKIP_DIRS = frozenset(
    {"venv", "env", "build", "dist", "node_modules", "__pycache__", "site-packages", "htmlcov", "wheelhouse"}
)
"""Directories never searched for packages (besides every dot-directory: .git, .venv, .nox, .tox, ...)."""
SKIP_TREES = frozenset({"tests", "test", "testing", "fixtures", "testdata", "test_data", "examples", "docs"})
"""Directories whose pyprojects are samples (test fixtures, examples, docs), never released packages."""
MAX_DEPTH = 3
"""How many directory levels below a checkout's root the walk looks for a pyproject."""
NOT_IMPORTS = frozenset(
    {"tests", "test", "testing", "docs", "doc", "examples", "example", "scripts", "tools", "benchmarks", "bench"}
)
"""Top-level directories that are no import package of a wheel (setuptools' auto-discovery leaves them out too)."""
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Found:
    """One package as its checkout declares it."""

    name: str
    checkout: str
    """The repository's directory, relative to the workspace."""
    subdir: str | None
    """The package's directory inside the repository (None: the root)."""
    root: Path
    how: str
    """How it was found: ``root``, ``uv workspace member`` or ``sub-directory``."""
    imports: tuple[str, ...]
    requirements: tuple[tuple[str | None, Requirement], ...]
    """Every requirement with the extra that brings it (None: a hard dependency)."""
    extras: tuple[str, ...]
    scripts: tuple[str, ...]
    requires_python: str | None
    source: VersionSource | None
    """Where the version comes from; None when no rule this tool knows reads it."""
    version_file: str | None = None
    """A guessed file holding ``__version__`` (only when the backend's own source is unknown)."""
    guesses: Mapping[str, str] = field(default_factory=dict)
    """Field -> why it is a guess."""

    @property
    def directory(self) -> str:
        return f"{self.checkout}/{self.subdir}" if self.subdir else self.checkout


@dataclass(frozen=True)
class Checkout:
    """One repository under the workspace and its packages."""

    path: str
    root: Path
    packages: tuple[Found, ...]
    uv_workspace: bool = False
    skipped: tuple[str, ...] = ()
    """Directories with a pyproject that are no package, and why (for the summary)."""


def _table(doc: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    node: Any = doc
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


# ------------------------------------------------------------------------------------------------- the packages


def checkouts_under(workspace: Path) -> tuple[list[Path], list[str]]:
    """The git checkouts directly under ``workspace`` (sorted), and the directories skipped with the reason."""
    if not workspace.is_dir():
        raise WorkspaceError(f"{workspace}: no such directory", "pass --workspace DIR, the directory of the checkouts")
    found: list[Path] = []
    skipped: list[str] = []
    for child in sorted(workspace.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        if child.resolve() == ROOT:
            skipped.append(f"{child.name}: juniper-release itself")
        elif (child / ".git").exists():
            found.append(child)
        elif (child / "pyproject.toml").is_file():
            skipped.append(f"{child.name}: not a git checkout")
    if not found:
        raise WorkspaceError(
            f"{workspace}: no git checkout found (looked for directories holding .git)",
            "pass --workspace DIR, the directory holding the repositories' checkouts",
        )
    return found, skipped


def _uv_members(repo: Path, doc: Mapping[str, Any]) -> tuple[list[Path], set[Path]]:
    """The member directories of a uv workspace rooted at ``repo`` and the directories it excludes."""
    uv = _table(doc, "tool", "uv", "workspace")
    excluded = {p.resolve() for pattern in _strings(uv.get("exclude")) for p in repo.glob(pattern) if p.is_dir()}
    members = [
        p
        for pattern in _strings(uv.get("members"))
        for p in sorted(repo.glob(pattern))
        if p.is_dir() and p.resolve() not in excluded and p.resolve() != repo.resolve()
    ]
    return members, excluded


def _walk(repo: Path, excluded: set[Path]) -> list[Path]:
    """Directories below ``repo`` (not ``repo`` itself) holding a pyproject.toml, pruned as the module says."""
    out: list[Path] = []
    for current, dirs, files in os.walk(repo):
        here = Path(current)
        depth = len(here.relative_to(repo).parts)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in SKIP_DIRS
            and d not in SKIP_TREES
            and (here / d).resolve() not in excluded
            and depth < MAX_DEPTH
        )
        if depth and "pyproject.toml" in files:
            out.append(here)
    return out


def read_checkout(workspace: Path, repo: Path) -> Checkout:
    """Every package of the checkout ``repo`` (root first, then by directory)."""
    root_doc = _load(repo / "pyproject.toml") if (repo / "pyproject.toml").is_file() else {}
    members, excluded = _uv_members(repo, root_doc)
    how: dict[Path, str] = {}
    if "name" in _table(root_doc, "project"):
        how[repo] = "root"
    for member in members:
        how.setdefault(member, "uv workspace member")
    for directory in _walk(repo, excluded):
        how.setdefault(directory, "sub-directory")
    skipped: list[str] = []
    packages: list[Found] = []
    checkout = repo.relative_to(workspace).as_posix()
    for directory in sorted(how, key=lambda p: (p != repo, p.as_posix())):
        pyproject = directory / "pyproject.toml"
        rel = directory.relative_to(repo).as_posix()
        if not pyproject.is_file():
            skipped.append(f"{checkout}/{rel}: a uv workspace member without pyproject.toml")
            continue
        doc = root_doc if directory == repo else _load(pyproject)
        if "name" not in _table(doc, "project"):
            skipped.append(f"{checkout}/{rel}: no [project] name")
            continue
        packages.append(read_package(checkout, None if directory == repo else rel, directory, doc, how[directory]))
    skipped += [
        f"{checkout}/{p.relative_to(repo.resolve()).as_posix()}: excluded from the uv workspace" for p in excluded
    ]
    return Checkout(checkout, repo, tuple(packages), bool(_table(root_doc, "tool", "uv", "workspace")), tuple(skipped))


def read_package(checkout: str, subdir: str | None, root: Path, doc: Mapping[str, Any], how: str) -> Found:
    """One package's declarations (``doc`` is its parsed pyproject)."""
    project = _table(doc, "project")
    name = str(project["name"])
    where = root / "pyproject.toml"
    guesses: dict[str, str] = {}
    imports, why = import_packages(root, doc, name)
    if why:
        guesses["import"] = why
    requirements = _requirements(where, project)
    optional = project.get("optional-dependencies") or {}
    scripts = tuple(sorted(str(s) for s in (project.get("scripts") or {})))
    source, version_file = find_source(name, root, doc, imports, subdir=subdir)
    if version_file:
        guesses["version_file"] = f"the backend's version source is unknown here; {version_file} holds __version__"
    elif source is None:
        guesses["version_source"] = (
            "no version source this tool reads, and no __version__ literal found: set version_file"
        )
    requires = project.get("requires-python")
    return Found(
        name=name,
        checkout=checkout,
        subdir=subdir,
        root=root,
        how=how,
        imports=imports,
        requirements=requirements,
        extras=tuple(str(e) for e in optional) if isinstance(optional, dict) else (),
        scripts=scripts,
        requires_python=str(requires) if requires is not None else None,
        source=source,
        version_file=version_file,
        guesses=guesses,
    )


def _requirements(where: Path, project: Mapping[str, Any]) -> tuple[tuple[str | None, Requirement], ...]:
    items: list[tuple[str | None, str]] = [(None, r) for r in _strings(project.get("dependencies"))]
    optional = project.get("optional-dependencies") or {}
    if isinstance(optional, dict):
        items += [(str(extra), r) for extra, reqs in optional.items() for r in _strings(reqs)]
    out: list[tuple[str | None, Requirement]] = []
    for extra, raw in items:
        try:
            out.append((extra, Requirement(raw)))
        except InvalidRequirement as exc:
            raise WorkspaceError(f"{where}: invalid requirement {raw!r} ({exc})", "fix the PEP 508 string") from None
    return tuple(out)


# --------------------------------------------------------------------------------------------- import packages


def import_packages(root: Path, doc: Mapping[str, Any], name: str) -> tuple[tuple[str, ...], str | None]:
    """The package's import packages and, when they are a guess, why. The build backend's own configuration
    decides (setuptools ``packages``/``py-modules``/``packages.find``, flit's module, hatch's wheel ``packages``,
    pdm's ``includes``, poetry's ``packages``); without one, the top-level packages its default discovery ships. When
    it ships several top-level names and one of them is the project's own, only that one is imported."""
    backend = backend_of(doc)
    tool = _table(doc, "tool")
    own = name.replace("-", "_").replace(".", "_").lower()
    configured: list[str] | None = None
    if "setuptools" in tool or backend == "setuptools":
        configured = _setuptools(root, _table(tool, "setuptools"))
    elif backend == "flit":
        module = _table(tool, "flit", "module").get("name")
        configured = [str(module or own).split(".")[0]]
    elif backend == "hatchling":
        wheel = _table(tool, "hatch", "build", "targets", "wheel")
        paths = _strings(wheel.get("packages")) or _strings(wheel.get("only-include"))
        configured = [Path(p).name.removesuffix(".py") for p in paths] or None
    elif backend == "pdm-backend":
        paths = _strings(_table(tool, "pdm", "build").get("includes"))
        configured = [Path(p).name.removesuffix(".py") for p in paths] or None
    elif backend == "poetry-core":
        entries = _table(tool, "poetry").get("packages")
        configured = [str(e["include"]).split("/")[0] for e in entries or [] if isinstance(e, dict) and "include" in e]
        configured = configured or None
    tops = sorted(
        {t for t in (configured if configured is not None else _discovered(root, own)) if _IDENTIFIER.match(t)}
    )
    if configured is not None and not tops:
        return (), None  # packages = [] : a meta-package, by its own configuration
    if not tops:
        return (), "no import package found: a meta-package?"
    mine = [t for t in tops if t.lower() == own]
    if mine and len(tops) > 1:
        others = ", ".join(t for t in tops if t.lower() != own)
        return tuple(mine), f"its wheel also ships {others} (not imported)"
    if configured is None and not mine:
        return tuple(tops), "the top-level packages found (no backend configuration names them, none is its own name)"
    return tuple(tops), None


def _setuptools(root: Path, config: Mapping[str, Any]) -> list[str] | None:
    """setuptools' explicit configuration: the top-level names of ``packages`` (a list, or ``find``) and
    ``py-modules``; None for auto-discovery."""
    packages = config.get("packages")
    modules = [m.split(".")[0] for m in _strings(config.get("py-modules"))]
    if isinstance(packages, list):
        return sorted({str(p).split(".")[0] for p in packages} | set(modules))
    find = packages.get("find") if isinstance(packages, dict) else None
    if not isinstance(find, dict):
        return modules or None
    include = _strings(find.get("include")) or ["*"]
    exclude = _strings(find.get("exclude"))
    namespaces = find.get("namespaces", True) is not False
    tops: set[str] = set(modules)
    for where in _strings(find.get("where")) or ["."]:
        base = root / where
        if not base.is_dir():
            continue
        for child in base.iterdir():
            regular = (child / "__init__.py").is_file()
            if not child.is_dir() or not (regular or namespaces) or child.name.startswith("."):
                continue
            if not (regular or any(child.rglob("*.py"))):
                continue  # a namespace package ships Python files; a directory of data is none
            name = child.name
            if any(fnmatch.fnmatchcase(name, p) for p in include) and not any(
                fnmatch.fnmatchcase(name, p) for p in exclude
            ):
                tops.add(name)
    return sorted(tops)


def _discovered(root: Path, own: str) -> list[str]:
    """The default discovery of setuptools, hatch and pdm: the packages under ``src/``, else the project's own
    package at the root, else the root's top-level packages (minus :data:`NOT_IMPORTS`)."""
    src = root / "src"
    for base in ((src,) if src.is_dir() else ()) + (root,):
        if base == root and (root / own / "__init__.py").is_file():
            return [own]
        found = [
            c.name
            for c in sorted(base.iterdir())
            if c.is_dir() and (c / "__init__.py").is_file() and c.name not in NOT_IMPORTS
        ]
        found += [c.stem for c in sorted(base.glob("*.py")) if base == src and not c.name.startswith("_")]
        if found:
            return found
    return []
