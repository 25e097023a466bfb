"""The registry's data model: packages, lockstep groups, indexes and the torch source, as frozen dataclasses.

:func:`juniper_release.ecosystem.registry.load_registry` builds them from repos.toml; everything else reads them.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name
from packaging.version import Version

from juniper_release.ecosystem import tagformat as tags
from juniper_release.ecosystem.paths import shown_path
from juniper_release.errors import ConfigError

INDEX_NAMES = ("testpypi", "pypi")

PYTHON_CANDIDATES = ("3.11", "3.12", "3.13")
"""The interpreters the ecosystem is verified on, oldest first (the one list; verification uses those found)."""


def is_url(value: str) -> bool:
    """True for an http(s) URL with a host or a ``file:`` URL (a torch source or an index), False for a path."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:  # a malformed IPv6 host ("http://[::1") or port: not a URL this tool can use
        return False
    return parts.scheme in {"http", "https", "file"} and bool(parts.netloc or parts.scheme == "file")


@dataclass(frozen=True)
class Package:
    """One registry entry: a package, its repository and how to verify it."""

    name: str
    repo: str
    path: str
    imports: tuple[str, ...]
    layer: int
    python: tuple[str, ...]
    """The Pythons to verify on by default (repos.toml ``python``); empty: the floor of its requires-python."""
    torch: bool
    extras: tuple[str, ...] = ()
    smoke: tuple[str, ...] = ()
    subdir: str | None = None
    """The package's directory inside its repository (None: the repository root)."""
    tag_format: str = "v{version}"
    """The package's own tag format, ``{name}`` already filled in."""
    publish_workflow: str | None = None
    """The package's publish workflow relative to the repository root (default: see :meth:`Registry.workflow_for`)."""
    prerelease_workflow: str | None = None
    """The workflow a pre-release GitHub Release triggers, relative to the repository root (None: the publish workflow
    handles pre-releases too; see :meth:`Registry.workflow_for`)."""
    notes: str | None = None
    """The release-notes convention (:data:`juniper_release.ecosystem.notes.CONVENTIONS`); None: detected from the
    checkout."""
    version_file: str | None = None
    """For a dynamic ``[project].version``: the file (relative to the package directory) holding ``__version__``."""
    ship_paths: tuple[str, ...] = ()
    """What the package ships, relative to its directory (files, directories or globs): overrides the default of its
    import packages (with their package data); its pyproject.toml is always compared (``invoke detect``)."""
    exclude_paths: tuple[str, ...] = ()
    """Paths (relative to the package directory; files, directories or globs) that never ship, even inside
    :attr:`ship_paths` or an import package."""
    registry_file: str = "repos.toml"
    """The registry file listing this package, as messages name it (:func:`shown_path`)."""
    api_exclude: tuple[str, ...] = ()
    """Module paths or globs (``pkg._vendor``, ``pkg.*.compat``) the public API diff leaves out."""
    breaking_bump: str = "auto"
    """What a breaking change bumps: ``auto`` (minor before 1.0, major from 1.0), ``major`` or ``minor``."""

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0]

    @property
    def repo_name(self) -> str:
        return self.repo.split("/", 1)[1]

    @property
    def is_meta(self) -> bool:
        """A meta-package ships no importable module (juniper-ml)."""
        return not self.imports

    def checkout(self, workspace: Path) -> Path:
        """The package's own directory (where its pyproject.toml lives)."""
        return workspace / self.path / self.subdir if self.subdir else workspace / self.path

    def repo_dir(self, workspace: Path) -> Path:
        """The repository checkout holding the package (shared by every package of the repository)."""
        return workspace / self.path

    def top_of(self, package_root: Path) -> Path:
        """The repository directory above the package directory ``package_root``."""
        return package_root.parents[len(Path(self.subdir).parts) - 1] if self.subdir else package_root

    def tag_for(self, version: Version | str) -> str:
        return tags.tag_for(self.tag_format, version)

    def version_from_tag(self, tag: str) -> Version | None:
        """The version a tag names under the package's ``tag_format``, or None when it does not follow it."""
        return tags.tag_version(self.tag_format, tag)


@dataclass(frozen=True)
class Group:
    """A lockstep group (``[[group]]``): packages of one repository that share one version and one tag.

    Every member's :attr:`Package.tag_format` is the group's; a release of the group is one tag, one GitHub Release
    and one publish run for all of its members."""

    name: str
    members: tuple[str, ...]
    """The member package names, in registry order."""
    tag_format: str = "v{version}"

    def tag_for(self, version: Version | str) -> str:
        return tags.tag_for(self.tag_format, version)


@dataclass(frozen=True)
class Index:
    """A PyPI-compatible index: where to upload and where its simple API lives."""

    name: str
    upload_url: str
    simple_url: str

    @property
    def base_url(self) -> str:
        """The simple URL without its trailing ``simple/``."""
        url = self.simple_url.rstrip("/")
        return url[: -len("/simple")] if url.endswith("/simple") else url


@dataclass(frozen=True)
class TorchSource:
    """Where the CPU build of torch comes from."""

    version: str
    source: str

    @property
    def is_index(self) -> bool:
        """True for an index URL (``--index-url``), False for find-links (a directory or a flat page)."""
        return is_url(self.source) and not self.source.endswith((".html", ".htm"))


@dataclass(frozen=True)
class Registry:
    """The parsed repos.toml."""

    path: Path
    owner: str
    organization: str
    tag_format: str
    branch: str
    publish_workflow: str
    indexes: Mapping[str, Index]
    torch: TorchSource
    packages: tuple[Package, ...]
    overrides: Mapping[str, str] = field(default_factory=dict)
    previous_owner: str | None = None
    """The account the repos were transferred from (set by ``invoke transfer --execute``)."""
    groups: tuple[Group, ...] = ()
    """The lockstep groups (``[[group]]``); a package is in at most one."""
    prerelease_workflow: str | None = None
    """``settings.prerelease_workflow``: the workflow a pre-release GitHub Release triggers (None: the publish workflow
    handles both)."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.packages)

    @property
    def shown_path(self) -> str:
        """How messages name this registry file (:func:`shown_path`)."""
        return shown_path(self.path)

    def get(self, name: str) -> Package:
        """Look a package up by name (normalized), with a fix naming the known packages."""
        wanted = canonicalize_name(name)
        for pkg in self.packages:
            if canonicalize_name(pkg.name) == wanted:
                return pkg
        close = difflib.get_close_matches(name, list(self.names), n=1, cutoff=0.6)
        raise ConfigError(
            f"{self.path.name}: unknown package {name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
            f"use one of: {', '.join(self.names)}",
        )

    def select(self, names: str | None) -> tuple[Package, ...]:
        """Packages named in a comma list (registry order), or all of them when ``names`` is empty."""
        if not names or not names.strip():
            return self.packages
        wanted = {self.get(n.strip()).name for n in names.split(",") if n.strip()}
        return tuple(p for p in self.packages if p.name in wanted)

    def find(self, name: str) -> Package | None:
        wanted = canonicalize_name(name)
        return next((p for p in self.packages if canonicalize_name(p.name) == wanted), None)

    def group_of(self, pkg: Package | str) -> Group | None:
        """The lockstep group ``pkg`` (a package or its name) belongs to, or None."""
        wanted = canonicalize_name(pkg if isinstance(pkg, str) else pkg.name)
        return next((g for g in self.groups if any(canonicalize_name(m) == wanted for m in g.members)), None)

    def group_members(self, pkg: Package) -> tuple[Package, ...]:
        """``pkg``'s lockstep group as packages (registry order), or ``(pkg,)`` when it is in none."""
        group = self.group_of(pkg)
        return tuple(p for p in self.packages if p.name in group.members) if group else (pkg,)

    def siblings(self, pkg: Package) -> tuple[Package, ...]:
        """The other packages of ``pkg``'s repository."""
        return tuple(p for p in self.packages if p.path == pkg.path and p.name != pkg.name)

    def pathspec(self, pkg: Package) -> tuple[str, ...]:
        """Git pathspecs (from the repository root, valid from any directory in it) of the files that belong to
        ``pkg``: its sub-directory, or for a root package the repository minus its sub-packages' directories. Empty
        for a package alone in its repository (every file is its own)."""
        if pkg.subdir:
            return (f":(top){pkg.subdir}",)
        excluded = sorted(p.subdir for p in self.siblings(pkg) if p.subdir)
        return (":(top)", *(f":(top,exclude){d}" for d in excluded)) if excluded else ()

    def workflow_for(self, pkg: Package, prerelease: bool = False) -> str:
        """The package's publish workflow, relative to its repository root: ``settings.publish_workflow`` for a root
        package or a lockstep group's member (the group publishes in one run), ``publish-<name>.yml`` beside it for
        another sub-package (one workflow per package of a repository).

        ``prerelease``: the workflow a pre-release GitHub Release triggers, where the registry names one (the
        package's ``prerelease_workflow``, else ``settings.prerelease_workflow``); else the one publish workflow."""
        if prerelease and self.has_prerelease_workflow(pkg):
            if pkg.prerelease_workflow:
                return pkg.prerelease_workflow
            assert self.prerelease_workflow is not None
            return self._per_package(pkg, self.prerelease_workflow)
        if pkg.publish_workflow:
            return pkg.publish_workflow
        return self._per_package(pkg, self.publish_workflow)

    def has_prerelease_workflow(self, pkg: Package) -> bool:
        """Pre-releases and finals of ``pkg`` are published by two workflows."""
        return bool(pkg.prerelease_workflow or self.prerelease_workflow)

    def _per_package(self, pkg: Package, workflow: str) -> str:
        if not pkg.subdir or self.group_of(pkg) is not None:
            return workflow
        path = Path(workflow)
        return (path.parent / f"{path.stem}-{pkg.name}{path.suffix}").as_posix()

    def sibling_tag_formats(self, pkg: Package) -> tuple[str, ...]:
        """The tag formats of the other packages of ``pkg``'s repository (their tags are not foreign to it); the
        members of ``pkg``'s lockstep group share its tags, so theirs are not among them."""
        group = self.group_of(pkg)
        return tuple(p.tag_format for p in self.siblings(pkg) if group is None or p.name not in group.members)

    def repos(self) -> tuple[Package, ...]:
        """One package per repository (the first in registry order): what per-repository work iterates over."""
        seen: dict[str, Package] = {}
        for pkg in self.packages:
            seen.setdefault(pkg.path, pkg)
        return tuple(seen.values())

    def index(self, name: str) -> Index:
        try:
            return self.indexes[name]
        except KeyError:
            raise ConfigError(f"{self.path.name}: unknown index {name!r}", "use 'testpypi' or 'pypi'") from None

    def tag_for(self, version: Version | str) -> str:
        return tags.tag_for(self.tag_format, version)

    def version_from_tag(self, tag: str) -> Version | None:
        """The version a tag names under ``tag_format``, or None when it does not follow the format."""
        return tags.tag_version(self.tag_format, tag)
