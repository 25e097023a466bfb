"""The paths a pyproject names (a version file, readme, license, the VCS root): every one of them resolves inside its
package's checkout, by the one rule of :func:`juniper_release.ecosystem.paths.inside`. The version rule
(:mod:`.versions`) calls :func:`check_paths` where it loads a pyproject, before anything it names is read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from juniper_release.ecosystem.paths import inside

if TYPE_CHECKING:
    from juniper_release.ecosystem.model import Package
    from juniper_release.ecosystem.versions import VersionSource


def _table(doc: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    node: Any = doc
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


_FIELDS = {
    "registry version_file": "version_file (registry)",
    "setuptools attr": "[tool.setuptools.dynamic] version.attr",
    "setuptools file": "[tool.setuptools.dynamic] version.file",
    "flit": "[tool.flit.module] name",
    "hatch path": "[tool.hatch.version] path",
    "pdm file": "[tool.pdm.version] path",
}
"""The pyproject field that names a file source's file, for messages."""


def _depth(pkg: Package) -> int:
    """How many levels above the package's directory still lie in its checkout (a sub-package's repository)."""
    return len(Path(pkg.subdir).parts) if pkg.subdir else 0


def named_paths(doc: Mapping[str, Any], source: VersionSource) -> list[tuple[str, str]]:
    """Every (field, path) the version source and the ``[project]`` table name, relative to the pyproject."""
    found: list[tuple[str, str]] = []
    if source.kind == "file" and source.file is not None:
        found.append((_FIELDS.get(source.tool, source.tool), source.file))
    spec = _table(doc, "tool", "setuptools", "dynamic").get("version")
    if source.tool == "setuptools file" and isinstance(spec, dict):
        files = spec.get("file")
        found += [(_FIELDS["setuptools file"], str(f)) for f in (files if isinstance(files, list) else [files])]
    if source.tool == "hatch-vcs":
        root = (source.settings.get("raw-options") or {}).get("root")
        found += [("[tool.hatch.version] raw-options.root", str(root))] if root is not None else []
    if source.tool == "setuptools-scm":
        found += [(f"[tool.setuptools_scm] {k}", str(source.settings[k])) for k in ("root",) if k in source.settings]
    project = _table(doc, "project")
    readme = project.get("readme")
    readme_file = readme.get("file") if isinstance(readme, dict) else readme
    if isinstance(readme_file, str):
        found.append(("[project] readme", readme_file))
    license_file = _table(doc, "project", "license").get("file")
    if isinstance(license_file, str):
        found.append(("[project] license.file", license_file))
    globs = project.get("license-files")
    found += [("[project] license-files", str(g)) for g in (globs if isinstance(globs, list) else [])]
    return list(dict.fromkeys(found))


def check_paths(
    pkg: Package, doc: Mapping[str, Any], source: VersionSource, where: str, base: Path | None = None
) -> None:
    """Every path the pyproject names stays inside the package's checkout (``base``: the package's directory on
    disk, whose symlinks are followed too); else a one-line error naming the field, and nothing is read."""
    for name, value in named_paths(doc, source):
        inside(
            value,
            field=name,
            where=where,
            place=f"{pkg.name}'s checkout",
            up=_depth(pkg),
            base=base,
            fix=f"name a file inside the checkout, relative to pyproject.toml (such as {name} = 'src/pkg/_version.py'"
            " or 'README.md'); a file elsewhere is never read or written",
        )
