"""What one checkout declares: its pyproject metadata and where its ``__version__`` lives."""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from juniper_release.errors import WorkspaceError


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
    """For a dynamic ``[project].version``: the file whose ``__version__`` literal is the version."""

    @property
    def is_dynamic(self) -> bool:
        return self.version_file is not None

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
    try:
        with pyproject.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise WorkspaceError(f"{pyproject}: not found", "check out the package or pass --workspace DIR") from None
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"{pyproject}: not valid TOML ({exc})", "fix the syntax at the position shown") from None


def dynamic_version_candidates(doc: dict[str, Any], declared: str | None = None) -> list[str]:
    """Where a dynamic ``[project].version`` may come from, relative to the package's directory, first match wins:
    ``declared`` (the registry's ``version_file``), else the module of ``[tool.setuptools.dynamic] version = {attr =
    "pkg._version.__version__"}`` in a src or flat layout."""
    if declared:
        return [declared]
    spec = doc.get("tool", {}).get("setuptools", {}).get("dynamic", {}).get("version", {})
    attr = spec.get("attr") if isinstance(spec, dict) else None
    if not isinstance(attr, str) or "." not in attr:
        return []
    module = "/".join(attr.rsplit(".", 1)[0].split("."))
    return [f"{base}{module}{suffix}" for base in ("src/", "") for suffix in (".py", "/__init__.py")]


def dynamic_version_file(root: Path, doc: dict[str, Any], declared: str | None = None) -> Path | None:
    """The file a dynamic ``[project].version`` comes from (:func:`dynamic_version_candidates`)."""
    if declared:
        return root / declared
    return next((root / c for c in dynamic_version_candidates(doc) if (root / c).is_file()), None)


def read_project(root: Path, version_file: str | None = None) -> Project:
    """Read ``root/pyproject.toml``: a static ``[project].version``, or a dynamic one whose ``__version__`` literal
    lives in ``version_file`` (relative to ``root``; default: the setuptools ``attr`` module)."""
    pyproject = root / "pyproject.toml"
    doc = load_pyproject_table(pyproject)
    proj = doc.get("project")
    if not isinstance(proj, dict) or "name" not in proj:
        raise WorkspaceError(f"{pyproject}: no [project] table with a name", "add [project] name = ...")
    raw_version = proj.get("version")
    source: Path | None = None
    if raw_version is None and "version" in (proj.get("dynamic") or []):
        source = dynamic_version_file(root, doc, version_file)
        raw_version = _literal_version(source) if source is not None and source.is_file() else None
        if raw_version is None:
            raise WorkspaceError(
                f"{pyproject}: the version is dynamic but no __version__ literal was found"
                + (f" in {source}" if source else ""),
                "set version_file = 'pkg/_version.py' for this package in the registry, holding __version__ = 'X.Y.Z'",
            )
    if not isinstance(raw_version, str):
        raise WorkspaceError(
            f"{pyproject}: [project].version is missing or dynamic",
            "declare a static version = 'X.Y.Z' (the release tool bumps it), or dynamic = ['version'] with a "
            "version_file in the registry",
        )
    try:
        version = Version(raw_version)
    except InvalidVersion:
        raise WorkspaceError(
            f"{pyproject}: version {raw_version!r} is not a valid version", "use PEP 440, e.g. 1.2.3"
        ) from None
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
        version_file=source,
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
    name = Path(filename).name
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError:
        return None
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
                and (target.id == "__version__" or (name == "_version.py" and target.id in {"version", "VERSION"}))
            ):
                return value.value
    return None


def _is_derived(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return (
        "__version__" in text and ("importlib.metadata" in text or "importlib_metadata" in text) and "version(" in text
    )


def find_module_version(root: Path, import_name: str | None) -> ModuleVersion:
    """Where the module's ``__version__`` comes from: a literal, ``importlib.metadata``, or nowhere."""
    if import_name is None:
        return ModuleVersion(VersionKind.NONE)
    pkg_dir = module_dir(root, import_name)
    if pkg_dir is None:
        return ModuleVersion(VersionKind.MISSING)
    for candidate in (pkg_dir / "__init__.py", pkg_dir / "_version.py", pkg_dir / "version.py"):
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
    pkg_dir = module_dir(root, import_name)
    if pkg_dir is None:
        return []
    out = []
    for candidate in (pkg_dir / "__init__.py", pkg_dir / "_version.py", pkg_dir / "version.py"):
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
