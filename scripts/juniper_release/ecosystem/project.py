"""What one checkout declares: its pyproject metadata and where its ``__version__`` lives."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from juniper_release.ecosystem.versions import (
    STATIC_SOURCE,
    SourceKind,
    VersionSource,
    backend_of,
    declared_version,
    imported_from,
    literal_assignment,
    load_pyproject,
    set_pyproject_version,
    write_file_literal,
)
from juniper_release.errors import WorkspaceError

if TYPE_CHECKING:
    from juniper_release.ecosystem.model import Package


class VersionKind(StrEnum):
    """How a module exposes ``__version__``."""

    STATIC = "static"  # a string literal in __init__.py or _version.py
    DERIVED = "derived"  # importlib.metadata.version(...) at import time
    NONE = "none"  # a meta-package: no module at all
    MISSING = "missing"  # a module without a recognisable __version__


@dataclass(frozen=True)
class ModuleVersion:
    kind: VersionKind
    value: str | None = None
    file: Path | None = None  # the file holding the literal (STATIC) or the pattern (DERIVED)

    def disagrees_with(self, version: Version) -> bool:
        """True when a static ``__version__`` is not ``version`` (an unparsable literal disagrees too)."""
        if self.kind is not VersionKind.STATIC or self.value is None:
            return False
        try:
            return Version(self.value) != version
        except InvalidVersion:
            return True

    @property
    def display(self) -> str:
        if self.kind is VersionKind.STATIC:
            return self.value or ""
        return str(self.kind.value)


@dataclass(frozen=True)
class Project:
    """The parts of a checkout's pyproject.toml the tool reasons about."""

    root: Path
    name: str
    version: Version
    raw_version: str
    requires_python: SpecifierSet | None
    dependencies: tuple[Requirement, ...]
    optional: dict[str, tuple[Requirement, ...]] = field(default_factory=dict)
    scripts: dict[str, str] = field(default_factory=dict)
    readme: str | None = None
    readme_content_type: str | None = None
    classifiers: tuple[str, ...] = ()
    urls: dict[str, str] = field(default_factory=dict)
    build_requires: tuple[str, ...] = ()
    version_file: Path | None = None
    """For a version read from a file: that file (absolute)."""
    source: VersionSource = STATIC_SOURCE
    """Where the version comes from (:mod:`juniper_release.ecosystem.versions`)."""
    dynamic: tuple[str, ...] = ()
    """``[project].dynamic``: the fields the build backend fills in (a dynamic readme has no ``readme`` here)."""
    literal_target: Version | None = None
    """What a module's literal ``__version__`` must say (the version; for a VCS version its release tag)."""
    backend: str = "setuptools"
    """The build backend really in use (``setuptools``, ``flit``, ``hatchling``, ``pdm-backend``, ...)."""

    @property
    def is_dynamic(self) -> bool:
        """The version is not ``[project].version`` (a version file, or git tags)."""
        return self.source.kind is not SourceKind.STATIC

    @property
    def module_target(self) -> Version:
        """What a module's literal ``__version__`` must equal."""
        return self.literal_target or self.version

    @property
    def is_vcs(self) -> bool:
        """The version comes from git tags: no file holds it, the release tag is the version."""
        return self.source.is_vcs

    @property
    def pyproject(self) -> Path:
        return self.root / "pyproject.toml"

    def all_requirements(self) -> list[tuple[str | None, Requirement]]:
        """Every requirement with the extra that brings it (None for hard dependencies)."""
        out: list[tuple[str | None, Requirement]] = [(None, r) for r in self.dependencies]
        for extra, reqs in self.optional.items():
            out.extend((extra, r) for r in reqs)
        return out

    @property
    def declares_typed(self) -> bool:
        return "Typing :: Typed" in self.classifiers


def _requirements(pyproject: Path, where: str, items: Any) -> tuple[Requirement, ...]:
    if not isinstance(items, list):
        raise WorkspaceError(f"{pyproject}: {where} must be a list", f"write {where} = [...]")
    out = []
    for item in items:
        try:
            out.append(Requirement(str(item)))
        except InvalidRequirement as exc:
            raise WorkspaceError(
                f"{pyproject}: {where}: invalid requirement {item!r} ({exc})", "fix the PEP 508 string"
            ) from None
    return tuple(out)


def load_pyproject_table(pyproject: Path) -> dict[str, Any]:
    """The parsed pyproject, or a one-line error naming the file (the one loader: :func:`versions.load_pyproject`)."""
    return load_pyproject(pyproject)


def read_project(pkg: Package, root: Path, tagged: Version | None = None) -> Project:
    """Read the pyproject of ``pkg`` in its directory ``root`` (a checkout, an unpacked sdist, or with ``tagged`` a
    tree exported from that release tag). The version comes from the one rule,
    :func:`juniper_release.ecosystem.versions.declared_version`, which honours the registry's ``version_file``
    because it is given the package."""
    pyproject = root / "pyproject.toml"
    doc = load_pyproject_table(pyproject)
    proj = doc.get("project")
    if not isinstance(proj, dict) or "name" not in proj:
        raise WorkspaceError(f"{pyproject}: no [project] table with a name", "add [project] name = ...")
    declared = declared_version(pkg, root, doc, tagged)
    version, raw_version = declared.version, declared.raw
    requires_python = None
    if "requires-python" in proj:
        try:
            requires_python = SpecifierSet(str(proj["requires-python"]))
        except InvalidSpecifier:
            raise WorkspaceError(
                f"{pyproject}: requires-python {proj['requires-python']!r} is invalid", "write e.g. '>=3.11'"
            ) from None
    optional_raw = proj.get("optional-dependencies", {}) or {}
    optional = {
        extra: _requirements(pyproject, f"optional-dependencies.{extra}", reqs) for extra, reqs in optional_raw.items()
    }
    readme = proj.get("readme")
    readme_file: str | None = None
    content_type: str | None = None
    if isinstance(readme, str):
        readme_file = readme
    elif isinstance(readme, dict):
        readme_file = readme.get("file")
        content_type = readme.get("content-type")
    if readme_file and content_type is None:
        suffix = Path(readme_file).suffix.lower()
        content_type = {".md": "text/markdown", ".rst": "text/x-rst"}.get(suffix, "text/plain")
    build = doc.get("build-system", {}) or {}
    return Project(
        root=root,
        name=str(proj["name"]),
        version=version,
        raw_version=raw_version,
        requires_python=requires_python,
        dependencies=_requirements(pyproject, "dependencies", proj.get("dependencies", [])),
        optional=optional,
        scripts=dict(proj.get("scripts", {}) or {}),
        readme=readme_file,
        readme_content_type=content_type,
        classifiers=tuple(proj.get("classifiers", []) or []),
        urls=dict(proj.get("urls", {}) or {}),
        build_requires=tuple(build.get("requires", []) or []),
        version_file=declared.path,
        source=declared.source,
        dynamic=tuple(str(d) for d in proj.get("dynamic") or ()),
        literal_target=declared.literal_target,
        backend=backend_of(doc),
    )


def module_dir(root: Path, import_name: str) -> Path | None:
    """The package directory of ``import_name`` in a src or flat layout."""
    rel = Path(*import_name.split("."))
    for base in (root / "src", root):
        if (base / rel / "__init__.py").is_file():
            return base / rel
    return None


def _literal_version(path: Path) -> str | None:
    try:
        return literal_version(path.read_text(encoding="utf-8"), path.name)
    except OSError:
        return None


def literal_version(text: str, filename: str) -> str | None:
    """The ``__version__`` string literal of a module's source (in ``_version.py`` also ``version``/``VERSION``)."""
    return literal_assignment(text, filename)


def _is_derived(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return (
        "__version__" in text and ("importlib.metadata" in text or "importlib_metadata" in text) and "version(" in text
    )


def _version_files(root: Path, import_name: str) -> list[Path]:
    """The module's files that may hold ``__version__``: its ``__init__.py`` (or a single-file ``mod.py``), the file
    ``__init__`` imports it from (``from .__version__ import __version__``), ``_version.py`` and ``version.py``."""
    pkg_dir = module_dir(root, import_name)
    if pkg_dir is None:
        rel = Path(*import_name.split("."))
        single = next(
            (p for p in (root / "src" / rel.with_suffix(".py"), root / rel.with_suffix(".py")) if p.is_file()), None
        )
        return [single] if single is not None else []
    init = pkg_dir / "__init__.py"
    files = [init]
    try:
        sub = imported_from(init.read_text(encoding="utf-8"), str(init), "__version__")
    except (OSError, UnicodeDecodeError):
        sub = None
    if sub is not None and "." not in sub:
        files.append(pkg_dir / f"{sub}.py")
    files += [pkg_dir / "_version.py", pkg_dir / "version.py"]
    return list(dict.fromkeys(files))


def find_module_version(root: Path, import_name: str | None) -> ModuleVersion:
    """Where the module's ``__version__`` comes from: a literal, ``importlib.metadata``, or nowhere."""
    if import_name is None:
        return ModuleVersion(VersionKind.NONE)
    files = _version_files(root, import_name)
    if not files:
        return ModuleVersion(VersionKind.MISSING)
    for candidate in files:
        if not candidate.is_file():
            continue
        literal = _literal_version(candidate)
        if literal is not None:
            return ModuleVersion(VersionKind.STATIC, literal, candidate)
        if _is_derived(candidate):
            return ModuleVersion(VersionKind.DERIVED, None, candidate)
    return ModuleVersion(VersionKind.MISSING)


def lockstep_files(root: Path, import_name: str) -> list[tuple[Path, str]]:
    """Every file of the module holding a ``__version__`` literal, with that literal: they move in lockstep with
    the pyproject (or dynamic) version."""
    out = []
    for candidate in _version_files(root, import_name):
        literal = _literal_version(candidate) if candidate.is_file() else None
        if literal is not None:
            out.append((candidate, literal))
    return out


def sibling_requirements(project: Project, names: set[str]) -> list[tuple[str | None, Requirement]]:
    """Requirements on other registry packages (canonical ``names``), with the extra that brings them."""
    own = canonicalize_name(project.name)
    return [
        (extra, req)
        for extra, req in project.all_requirements()
        if canonicalize_name(req.name) in names and canonicalize_name(req.name) != own
    ]


def version_edits(project: Project, new: Version) -> list[tuple[Path, str, str]]:
    """The files a bump to ``new`` edits to change the declared version, as (path, old text, new text): pyproject for
    a static version, the version file for a file source, none for a version from git tags (the tag is it)."""
    if project.source.kind is SourceKind.STATIC:
        text = project.pyproject.read_text(encoding="utf-8")
        return [(project.pyproject, text, set_pyproject_version(text, new))]
    if project.source.kind is SourceKind.FILE and project.version_file is not None:
        path = project.version_file
        text = path.read_text(encoding="utf-8")
        return [(path, text, write_file_literal(project.source, text, path.name, new))]
    return []


def build_env(pkg: Package, project: Project) -> dict[str, str]:
    """Environment for a build of ``pkg``: a VCS version is pinned to the declared one, so a build from a copy of
    the tree (no git) or an sdist carries exactly the version the tool checked. Empty for the other kinds.

    hatch-vcs does not tell setuptools-scm the distribution's name, so only the plain ``SETUPTOOLS_SCM_PRETEND_VERSION``
    reaches it; it is safe here because this environment is set for the hooks of this one package's build only."""
    if not project.source.is_vcs:
        return {}
    suffix = re.sub(r"[^A-Z0-9]", "_", canonicalize_name(pkg.name).upper())
    version = str(project.version)
    return {
        f"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_{suffix}": version,
        "SETUPTOOLS_SCM_PRETEND_VERSION": version,
        "PDM_BUILD_SCM_VERSION": version,
    }
