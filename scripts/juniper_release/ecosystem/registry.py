"""The registry: repos.toml parsed once, strictly, into frozen dataclasses.

Everything else (nox sessions, invoke tasks, the CI matrix) is derived from :class:`Registry`.
Environment variables can override the index URLs, the torch source and the workspace so that tests
and rehearsals point the tool at local servers.

This module is the strict loader and the one import path: the dataclasses live in :mod:`.model`, the registry file
and the cache directory in :mod:`.paths`, the workspace and its checkouts in :mod:`.workspace`; all are re-exported
here.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from juniper_release.ecosystem import groups as lockstep
from juniper_release.ecosystem import tagformat as tags
from juniper_release.ecosystem.model import (
    INDEX_NAMES,
    PYTHON_CANDIDATES,
    Group,
    Index,
    Package,
    Registry,
    TorchSource,
    is_url,
)
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
from juniper_release.ecosystem.registry_fields import (
    _check_branch,
    _check_repo,
    _check_tag_format,
    _check_url,
    _paths,
    _pythons,
    _relative,
    _string_list,
    _table,
)
from juniper_release.ecosystem.registry_release import (
    PACKAGE_FIELDS,
    SETTINGS_FIELDS,
    package_release_fields,
    settings_prerelease_workflow,
)
from juniper_release.ecosystem.workspace import (
    ENV_WORKSPACE,
    clone_url,
    missing_checkouts,
    missing_packages,
    present,
    require_checkout,
    resolve_workspace,
)
from juniper_release.errors import ConfigError, WorkspaceError

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
    "Group",
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

# Environment overrides, documented in docs/workspace.md.
ENV_TORCH_SOURCE = "JUNIPER_TORCH_SOURCE"
ENV_INDEX_URLS = {
    ("pypi", "upload_url"): "JUNIPER_PYPI_UPLOAD_URL",
    ("pypi", "simple_url"): "JUNIPER_PYPI_SIMPLE_URL",
    ("testpypi", "upload_url"): "JUNIPER_TESTPYPI_UPLOAD_URL",
    ("testpypi", "simple_url"): "JUNIPER_TESTPYPI_SIMPLE_URL",
}

_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_IMPORT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

# --------------------------------------------------------------------------------------------------- loading

_SETTINGS_FIELDS: dict[str, type] = {
    "owner": str,
    "organization": str,
    "tag_format": str,
    "branch": str,
    "publish_workflow": str,
    "previous_owner": str,
    **SETTINGS_FIELDS,
}
_SETTINGS_OPTIONAL = {"previous_owner", *SETTINGS_FIELDS}
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
    "ship_paths": list,
    "exclude_paths": list,
    **PACKAGE_FIELDS,
    "api_exclude": list,
    "breaking_bump": str,
}
_PACKAGE_OPTIONAL = {
    *PACKAGE_FIELDS,
    "extras",
    "smoke",
    "python",
    "subdir",
    "tag_format",
    "version_file",
    "publish_workflow",
    "ship_paths",
    "exclude_paths",
    "api_exclude",
    "breaking_bump",
}
_TOP_FIELDS = {"settings", "indexes", "torch", "package", "group"}


def _parse_package(file: str, i: int, raw: Any, default_tag_format: str) -> Package:
    label = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else f"#{i + 1}"
    where = f"package {label}"
    pythons = _pythons(file, where, raw) if isinstance(raw, dict) else ()
    data = _table(file, where, raw, _PACKAGE_FIELDS, _PACKAGE_OPTIONAL)
    name = data["name"]
    if not _NAME_RE.match(name):
        raise ConfigError(f"{file}: {where}: name {name!r} is not a valid project name", "use letters, digits, '-'")
    _check_repo(file, where, data["repo"])
    path = _relative(file, where, "path", data["path"], "my-package", "the workspace")
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
        workflow = _relative(
            file, where, "publish_workflow", data["publish_workflow"], ".github/workflows/publish.yml", "the repository"
        )
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
        ship_paths=_paths(file, where, "ship_paths", data),
        exclude_paths=_paths(file, where, "exclude_paths", data),
        **package_release_fields(file, where, data),
        **_api_fields(file, where, data),
    )


BREAKING_BUMPS = ("auto", "major", "minor")


def _api_fields(file: str, where: str, data: dict[str, Any]) -> dict[str, Any]:
    """The optional API-diff fields: ``api_exclude`` (module paths or globs) and ``breaking_bump``."""
    out: dict[str, Any] = {}
    if "api_exclude" in data:
        items = _string_list(file, where, "api_exclude", data["api_exclude"])
        for item in items:
            if not re.fullmatch(r"[A-Za-z_*?\[\]][\w.*?\[\]]*", item):
                raise ConfigError(
                    f"{file}: {where}.api_exclude: {item!r} is not a module path or glob",
                    "write dotted module paths such as api_exclude = ['pkg._vendor', 'pkg.*.compat']",
                )
        out["api_exclude"] = items
    if "breaking_bump" in data:
        if data["breaking_bump"] not in BREAKING_BUMPS:
            raise ConfigError(
                f"{file}: {where}.breaking_bump must be one of {', '.join(BREAKING_BUMPS)}, got "
                f"{data['breaking_bump']!r}",
                "write breaking_bump = 'auto' (minor before 1.0, major from 1.0), 'major' or 'minor'",
            )
        out["breaking_bump"] = data["breaking_bump"]
    return out


def _check_same_repo(file: str, pkg: Package, earlier: list[Package], groups: Mapping[str, Group]) -> None:
    """Packages of one repository share its checkout; their tag formats must not read each other's tags, unless
    they are members of one lockstep group (which share the tag by design)."""
    for other in earlier:
        peers = groups.get(canonicalize_name(pkg.name)) is groups.get(canonicalize_name(other.name)) is not None
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
        if other.path == pkg.path and not peers and _tags_collide(other.tag_format, pkg.tag_format):
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
    doc = _document(file, text)
    settings = _table(file, "settings", doc["settings"], _SETTINGS_FIELDS, _SETTINGS_OPTIONAL)
    _check_tag_format(file, "settings.", settings["tag_format"], "write tag_format = 'v{version}'")
    settings["publish_workflow"] = _relative(
        file,
        "settings",
        "publish_workflow",
        settings["publish_workflow"],
        ".github/workflows/publish.yml",
        "the repository",
    )
    _check_branch(file, settings["branch"])
    overrides: dict[str, str] = {}
    indexes = _parse_indexes(file, doc["indexes"], env, overrides)
    torch = _parse_torch(file, doc["torch"], env, overrides)
    groups = lockstep.parse_groups(file, doc.get("group"), settings["tag_format"], _table, _check_tag_format)
    packages = _parse_packages(file, doc["package"], path, settings["tag_format"], lockstep.by_member(groups))
    return Registry(
        path=path,
        owner=settings["owner"],
        organization=settings["organization"],
        tag_format=settings["tag_format"],
        branch=settings["branch"],
        publish_workflow=settings["publish_workflow"],
        indexes=indexes,
        torch=torch,
        packages=packages,
        overrides=overrides,
        previous_owner=settings.get("previous_owner"),
        groups=lockstep.check_groups(file, groups, packages),
        prerelease_workflow=settings_prerelease_workflow(file, settings),
    )


def _document(file: str, text: str) -> dict[str, Any]:
    """The TOML document, with only the known top-level sections and all of them present."""
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
    return doc


def _parse_indexes(file: str, raw_indexes: Any, env: Mapping[str, str], overrides: dict[str, str]) -> dict[str, Index]:
    """The ``[indexes.*]`` tables, each URL replaced by its environment override when set (recorded in
    ``overrides``)."""
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
    return indexes


def _parse_torch(file: str, raw: Any, env: Mapping[str, str], overrides: dict[str, str]) -> TorchSource:
    """The ``[torch]`` table, its source replaced by $JUNIPER_TORCH_SOURCE when set (recorded in ``overrides``)."""
    torch_data = _table(file, "torch", raw, _TORCH_FIELDS)
    try:
        Version(torch_data["version"])
    except InvalidVersion:
        raise ConfigError(
            f"{file}: torch.version {torch_data['version']!r} is not a version", "write version = '2.13.0'"
        ) from None
    source = torch_data["source"]
    if env.get(ENV_TORCH_SOURCE):
        source = env[ENV_TORCH_SOURCE].strip()
        if not is_url(source):
            if ":" in source.split("/", 1)[0]:  # a scheme (urlsplit may raise on a malformed IPv6 host)
                raise ConfigError(
                    f"{ENV_TORCH_SOURCE}: {source!r} is neither an http(s) URL nor a directory",
                    "use the PyTorch CPU index URL (https://download.pytorch.org/whl/cpu) or a find-links directory",
                )
            # A directory given relative to where the command runs: installers run elsewhere, so anchor it.
            source = str(Path(source).expanduser().resolve())
        overrides[ENV_TORCH_SOURCE] = source
    elif not is_url(source) and not Path(source).is_absolute():
        raise ConfigError(
            f"{file}: torch.source {source!r} is neither a URL nor an absolute path",
            "use the PyTorch CPU index URL or an absolute find-links directory",
        )
    return TorchSource(version=torch_data["version"], source=source)


def _parse_packages(
    file: str, raw_packages: Any, path: Path, default_tag_format: str, groups: Mapping[str, Group]
) -> tuple[Package, ...]:
    """The ``[[package]]`` tables in order: no name or directory twice, packages of one repository consistent; a
    lockstep group's member takes the group's tag format."""
    if not isinstance(raw_packages, list) or not raw_packages:
        raise ConfigError(f"{file}: [[package]] must list the packages", "add one [[package]] table per package")
    packages: list[Package] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(raw_packages):
        pkg = replace(_parse_package(file, i, raw, default_tag_format), registry_file=shown_path(path))
        group = groups.get(canonicalize_name(pkg.name))
        if group is not None:
            pkg = replace(pkg, tag_format=lockstep.member_tag_format(file, pkg, raw, group))
        directory = f"{pkg.path}/{pkg.subdir}" if pkg.subdir else pkg.path
        for key, value in (("name", canonicalize_name(pkg.name)), ("path", directory)):
            marker = f"{key}:{value}"
            if marker in seen:
                raise ConfigError(
                    f"{file}: duplicate package {key} {value!r} (in {seen[marker]} and {pkg.name})",
                    "keep one [[package]] entry per package (packages sharing a repository need distinct subdir)",
                )
            seen[marker] = pkg.name
        _check_same_repo(file, pkg, packages, groups)
        packages.append(pkg)
    return tuple(packages)


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
