"""The registry: repos.toml parsed once, strictly, into frozen dataclasses.

Everything else (nox sessions, invoke tasks, the CI matrix) is derived from :class:`Registry`.
Environment variables can override the index URLs, the torch source and the workspace so that tests
and rehearsals point the tool at local servers.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from juniper_release.ecosystem import tags
from juniper_release.ecosystem.paths import (
    CACHE_DIR,
    DEFAULT_REGISTRY,
    ENV_CACHE_DIR,
    ENV_REGISTRY,
    ROOT,
    cache_dir,
    registry_path,
    shown_path,
)
from juniper_release.errors import ConfigError, WorkspaceError, suggest

# The one import path for the registry: other modules import these names from here, wherever they are defined.
__all__ = [
    "CACHE_DIR",
    "DEFAULT_REGISTRY",
    "ENV_CACHE_DIR",
    "ENV_INDEX_URLS",
    "ENV_REGISTRY",
    "ENV_TORCH_SOURCE",
    "ENV_WORKSPACE",
    "INDEX_NAMES",
    "PYTHON_CANDIDATES",
    "ROOT",
    "SUBPACKAGE_TAG_FORMAT",
    "Index",
    "Package",
    "Registry",
    "TorchSource",
    "WorkspaceError",
    "cache_dir",
    "clone_url",
    "load_registry",
    "missing_checkouts",
    "missing_packages",
    "parse_registry",
    "present",
    "registry_path",
    "require_checkout",
    "resolve_workspace",
    "shown_path",
]

SUBPACKAGE_TAG_FORMAT = "{name}-v{version}"
"""The default tag format of a package in a sub-directory of a shared repository."""

INDEX_NAMES = ("testpypi", "pypi")

# Environment overrides, documented in README.md.
ENV_WORKSPACE = "JUNIPER_WORKSPACE"
ENV_TORCH_SOURCE = "JUNIPER_TORCH_SOURCE"
ENV_INDEX_URLS = {
    ("pypi", "upload_url"): "JUNIPER_PYPI_UPLOAD_URL",
    ("pypi", "simple_url"): "JUNIPER_PYPI_SIMPLE_URL",
    ("testpypi", "upload_url"): "JUNIPER_TESTPYPI_UPLOAD_URL",
    ("testpypi", "simple_url"): "JUNIPER_TESTPYPI_SIMPLE_URL",
}

_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_IMPORT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_PYTHON_RE = re.compile(r"^3\.\d+$")

PYTHON_CANDIDATES = ("3.11", "3.12", "3.13")
"""The interpreters the ecosystem is verified on, oldest first (the one list; verification uses those found)."""


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
    version_file: str | None = None
    """For a dynamic ``[project].version``: the file (relative to the package directory) holding ``__version__``."""
    registry_file: str = "repos.toml"
    """The registry file listing this package, as messages name it (:func:`shown_path`)."""

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
        return _is_url(self.source) and not self.source.endswith((".html", ".htm"))


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
        raise ConfigError(
            f"{self.path.name}: unknown package {name!r}",
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

    def workflow_for(self, pkg: Package) -> str:
        """The package's publish workflow, relative to its repository root: ``settings.publish_workflow`` for a root
        package, ``publish-<name>.yml`` beside it for a sub-package (one workflow per package of a repository)."""
        if pkg.publish_workflow:
            return pkg.publish_workflow
        if not pkg.subdir:
            return self.publish_workflow
        path = Path(self.publish_workflow)
        return (path.parent / f"{path.stem}-{pkg.name}{path.suffix}").as_posix()

    def sibling_tag_formats(self, pkg: Package) -> tuple[str, ...]:
        """The tag formats of the other packages of ``pkg``'s repository (their tags are not foreign to it)."""
        return tuple(p.tag_format for p in self.siblings(pkg))

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


# --------------------------------------------------------------------------------------------------- loading

_SETTINGS_FIELDS: dict[str, type] = {
    "owner": str,
    "organization": str,
    "tag_format": str,
    "branch": str,
    "publish_workflow": str,
    "previous_owner": str,
}
_SETTINGS_OPTIONAL = {"previous_owner"}
_INDEX_FIELDS: dict[str, type] = {"upload_url": str, "simple_url": str}
_TORCH_FIELDS: dict[str, type] = {"version": str, "source": str}
_PACKAGE_FIELDS: dict[str, type] = {
    "name": str,
    "repo": str,
    "path": str,
    "import": list,
    "layer": int,
    "python": list,
    "torch": bool,
    "extras": list,
    "smoke": list,
    "subdir": str,
    "tag_format": str,
    "version_file": str,
    "publish_workflow": str,
}
_PACKAGE_OPTIONAL = {"extras", "smoke", "python", "subdir", "tag_format", "version_file", "publish_workflow"}
_TOP_FIELDS = {"settings", "indexes", "torch", "package"}


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https", "file"} and bool(parts.netloc or parts.scheme == "file")


def _type_name(tp: type) -> str:
    return {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a table"}[tp]


def _table(
    file: str, where: str, raw: Any, fields: Mapping[str, type], optional: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Check one TOML table against its fields: unknown keys, missing keys and wrong types are errors."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: {where} must be a table", f"write it as [{where}]")
    for key in raw:
        if key not in fields:
            raise ConfigError(
                f"{file}: unknown key {where}.{key}",
                f"remove it or use one of: {', '.join(fields)}",
            )
    out: dict[str, Any] = {}
    for key, tp in fields.items():
        if key not in raw:
            if key in optional:
                continue
            raise ConfigError(f"{file}: missing field {where}.{key}", f"add {key} = ... ({_type_name(tp)})")
        value = raw[key]
        # bool is a subclass of int: a layer of `true` is not an integer.
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ConfigError(
                f"{file}: {where}.{key} must be {_type_name(tp)}, got {type(value).__name__} {value!r}",
                f"set {key} to {_type_name(tp)}",
            )
        out[key] = value
    return out


def _string_list(file: str, where: str, key: str, value: list[Any]) -> tuple[str, ...]:
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(
                f"{file}: {where}.{key} must be a list of strings, got {item!r}", f"quote every item of {key}"
            )
    return tuple(value)


def _pythons(file: str, where: str, raw: dict[str, Any]) -> tuple[str, ...]:
    """The optional ``python`` list: distinct "3.N" strings among the candidate interpreters."""
    if "python" not in raw:
        return ()
    value = raw["python"]
    fix = (
        f"write python = [{', '.join(repr(p) for p in PYTHON_CANDIDATES[1:])}] (a list), or drop it to verify on "
        "the floor of the package's requires-python"
    )
    if not isinstance(value, list):
        raise ConfigError(f"{file}: {where}.python must be a list of versions like '3.12', got {value!r}", fix)
    if not value:
        raise ConfigError(f"{file}: {where}.python is an empty list", fix)
    for item in value:
        if not isinstance(item, str) or not _PYTHON_RE.match(item) or item not in PYTHON_CANDIDATES:
            raise ConfigError(
                f"{file}: {where}.python: {item!r} is not one of the supported Pythons {', '.join(PYTHON_CANDIDATES)}",
                fix,
            )
    if len(set(value)) != len(value):
        raise ConfigError(f"{file}: {where}.python lists a version twice: {value!r}", fix)
    return tuple(sorted(value, key=PYTHON_CANDIDATES.index))


def _check_url(file: str, where: str, value: str) -> None:
    if not _is_url(value):
        raise ConfigError(
            f"{file}: {where} is not a valid http(s) URL: {value!r}",
            "write a full URL such as https://pypi.org/simple/",
        )


def _relative(file: str, where: str, key: str, value: str, example: str) -> str:
    """A relative path inside a directory (no absolute path, no ``..``), normalised to forward slashes."""
    parts = Path(value).parts
    if not value or Path(value).is_absolute() or ".." in parts or value.startswith("~"):
        raise ConfigError(f"{file}: {where}: {key} {value!r} must be a relative path", f"write {key} = {example!r}")
    return "/".join(p for p in parts if p != ".")


def _check_tag_format(file: str, where: str, fmt: str, fix: str) -> None:
    """A tag format has exactly one ``{version}`` and no other placeholder than ``{name}``."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(fmt) if f is not None]
    except ValueError:
        fields = ["?"]
    if fields.count("version") != 1 or any(f not in {"version", "name"} for f in fields):
        raise ConfigError(f"{file}: {where}tag_format {fmt!r} has no {{version}} (or another placeholder)", fix)


def _parse_package(file: str, i: int, raw: Any, default_tag_format: str) -> Package:
    label = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else f"#{i + 1}"
    where = f"package {label}"
    pythons = _pythons(file, where, raw) if isinstance(raw, dict) else ()
    data = _table(file, where, raw, _PACKAGE_FIELDS, _PACKAGE_OPTIONAL)
    name = data["name"]
    if not _NAME_RE.match(name):
        raise ConfigError(f"{file}: {where}: name {name!r} is not a valid project name", "use letters, digits, '-'")
    if not _REPO_RE.match(data["repo"]):
        raise ConfigError(f"{file}: {where}: repo {data['repo']!r} is not owner/name", "write repo = 'owner/name'")
    path = data["path"]
    if not path or Path(path).is_absolute() or ".." in Path(path).parts:
        raise ConfigError(
            f"{file}: {where}: path {path!r} must be relative to the workspace",
            "use the checkout directory's name, such as path = 'juniper-data'",
        )
    imports = _string_list(file, where, "import", data["import"])
    for mod in imports:
        if not _IMPORT_RE.match(mod):
            raise ConfigError(f"{file}: {where}: import {mod!r} is not a module name", "use a dotted module name")
    if data["layer"] < 0:
        raise ConfigError(f"{file}: {where}: layer must be >= 0, got {data['layer']}", "use 0, 1 or 2")
    subdir = _relative(file, where, "subdir", data["subdir"], name) if "subdir" in data else None
    fmt = data.get("tag_format", SUBPACKAGE_TAG_FORMAT if subdir else default_tag_format)
    _check_tag_format(file, f"{where}: ", fmt, "write tag_format = '{name}-v{version}'")
    version_file = None
    if "version_file" in data:
        version_file = _relative(file, where, "version_file", data["version_file"], "pkg/_version.py")
        if not version_file.endswith(".py"):
            raise ConfigError(
                f"{file}: {where}: version_file {version_file!r} is not a Python file",
                "name the module holding __version__, such as version_file = 'pkg/_version.py'",
            )
    workflow = None
    if "publish_workflow" in data:
        workflow = _relative(file, where, "publish_workflow", data["publish_workflow"], ".github/workflows/publish.yml")
    return Package(
        publish_workflow=workflow,
        subdir=subdir or None,
        tag_format=fmt.replace("{name}", name),
        version_file=version_file,
        name=name,
        repo=data["repo"],
        path=path,
        imports=imports,
        layer=data["layer"],
        python=pythons,
        torch=data["torch"],
        extras=_string_list(file, where, "extras", data.get("extras", [])),
        smoke=_string_list(file, where, "smoke", data.get("smoke", [])),
    )


def _check_same_repo(file: str, pkg: Package, earlier: list[Package]) -> None:
    """Packages of one repository share its checkout; their tag formats must not read each other's tags."""
    for other in earlier:
        if other.repo.lower() == pkg.repo.lower() and other.path != pkg.path:
            raise ConfigError(
                f"{file}: duplicate package repo {pkg.repo.lower()!r} in two checkouts ({other.name}: path "
                f"{other.path!r}, {pkg.name}: path {pkg.path!r})",
                "give packages of one repository the same path and distinct subdir",
            )
        if other.path == pkg.path and other.repo.lower() != pkg.repo.lower():
            raise ConfigError(
                f"{file}: package {pkg.name}: unknown repo {pkg.repo!r} for checkout {pkg.path!r}, which holds "
                f"{other.repo!r} ({other.name})",
                f"write repo = {other.repo!r}, or give {pkg.name} its own path",
            )
        if other.path == pkg.path and _tags_collide(other.tag_format, pkg.tag_format):
            raise ConfigError(
                f"{file}: packages {other.name} and {pkg.name} share repo {pkg.repo} and their tag formats "
                f"{other.tag_format!r} and {pkg.tag_format!r} read each other's tags",
                "give each package of a shared repository a distinct prefix, such as tag_format = '{name}-v{version}'",
            )


def _tags_collide(first: str, second: str) -> bool:
    """True when a tag one format writes is read as a version by the other."""
    for version in ("1.0.0", "1.0.0rc1", "1.0.0.post1"):
        if tags.tag_version(second, tags.tag_for(first, version)) is not None:
            return True
        if tags.tag_version(first, tags.tag_for(second, version)) is not None:
            return True
    return False


def parse_registry(text: str, path: Path, env: Mapping[str, str] | None = None) -> Registry:
    """Parse repos.toml text; every problem is a one-line :class:`ConfigError`."""
    env = os.environ if env is None else env
    file = path.name
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc})", "fix the syntax at the position shown") from None
    for key in doc:
        if key not in _TOP_FIELDS:
            raise ConfigError(
                f"{file}: unknown key {key!r}", f"remove it or use one of: {', '.join(sorted(_TOP_FIELDS))}"
            )
    for key in ("settings", "indexes", "torch", "package"):
        if key not in doc:
            raise ConfigError(f"{file}: missing section [{key}]", f"add the [{key}] section (see README.md)")

    settings = _table(file, "settings", doc["settings"], _SETTINGS_FIELDS, _SETTINGS_OPTIONAL)
    _check_tag_format(file, "settings.", settings["tag_format"], "write tag_format = 'v{version}'")

    overrides: dict[str, str] = {}
    raw_indexes = doc["indexes"]
    if not isinstance(raw_indexes, dict):
        raise ConfigError(f"{file}: indexes must be a table", "write [indexes.pypi] and [indexes.testpypi]")
    for key in raw_indexes:
        if key not in INDEX_NAMES:
            raise ConfigError(
                f"{file}: unknown index indexes.{key}", "only [indexes.pypi] and [indexes.testpypi] exist"
            )
    indexes: dict[str, Index] = {}
    for name in INDEX_NAMES:
        if name not in raw_indexes:
            raise ConfigError(
                f"{file}: missing section [indexes.{name}]", f"add [indexes.{name}] with upload_url and simple_url"
            )
        data = _table(file, f"indexes.{name}", raw_indexes[name], _INDEX_FIELDS)
        for url_key in _INDEX_FIELDS:
            var = ENV_INDEX_URLS[(name, url_key)]
            if env.get(var):
                data[url_key] = env[var]
                overrides[var] = env[var]
                _check_url(var, "the value", data[url_key])
            else:
                _check_url(file, f"indexes.{name}.{url_key}", data[url_key])
        indexes[name] = Index(name=name, upload_url=data["upload_url"], simple_url=data["simple_url"])

    torch_data = _table(file, "torch", doc["torch"], _TORCH_FIELDS)
    try:
        Version(torch_data["version"])
    except InvalidVersion:
        raise ConfigError(
            f"{file}: torch.version {torch_data['version']!r} is not a version", "write version = '2.13.0'"
        ) from None
    source = torch_data["source"]
    if env.get(ENV_TORCH_SOURCE):
        source = env[ENV_TORCH_SOURCE].strip()
        if not _is_url(source):
            if urlsplit(source).scheme:
                raise ConfigError(
                    f"{ENV_TORCH_SOURCE}: {source!r} is neither an http(s) URL nor a directory",
                    "use the PyTorch CPU index URL (https://download.pytorch.org/whl/cpu) or a find-links directory",
                )
            # A directory given relative to where the command runs: installers run elsewhere, so anchor it.
            source = str(Path(source).expanduser().resolve())
        overrides[ENV_TORCH_SOURCE] = source
    elif not _is_url(source) and not Path(source).is_absolute():
        raise ConfigError(
            f"{file}: torch.source {source!r} is neither a URL nor an absolute path",
            "use the PyTorch CPU index URL or an absolute find-links directory",
        )

    raw_packages = doc["package"]
    if not isinstance(raw_packages, list) or not raw_packages:
        raise ConfigError(f"{file}: [[package]] must list the packages", "add one [[package]] table per package")
    packages: list[Package] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(raw_packages):
        pkg = replace(_parse_package(file, i, raw, settings["tag_format"]), registry_file=shown_path(path))
        directory = f"{pkg.path}/{pkg.subdir}" if pkg.subdir else pkg.path
        for key, value in (("name", canonicalize_name(pkg.name)), ("path", directory)):
            marker = f"{key}:{value}"
            if marker in seen:
                raise ConfigError(
                    f"{file}: duplicate package {key} {value!r} (in {seen[marker]} and {pkg.name})",
                    "keep one [[package]] entry per package (packages sharing a repository need distinct subdir)",
                )
            seen[marker] = pkg.name
        _check_same_repo(file, pkg, packages)
        packages.append(pkg)

    return Registry(
        path=path,
        owner=settings["owner"],
        organization=settings["organization"],
        tag_format=settings["tag_format"],
        branch=settings["branch"],
        publish_workflow=settings["publish_workflow"],
        indexes=indexes,
        torch=TorchSource(version=torch_data["version"], source=source),
        packages=tuple(packages),
        overrides=overrides,
        previous_owner=settings.get("previous_owner"),
    )


def load_registry(path: Path | None = None, env: Mapping[str, str] | None = None) -> Registry:
    """Load and validate the registry: ``path``, else $JUNIPER_REGISTRY, else repos.toml next to this tool."""
    env = os.environ if env is None else env
    path = registry_path(path, env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: registry not found", "run from a juniper-release checkout or pass --registry"
        ) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: line {line} is not valid UTF-8 (byte {exc.object[exc.start]:#04x})",
            "save the file as UTF-8 (TOML files must be UTF-8)",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the registry ({exc.strerror})", "check the path and its permissions"
        ) from None
    return parse_registry(text, path, env)


# --------------------------------------------------------------------------------------------------- workspace


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
