"""Inspection of built artifacts: what a wheel or sdist holds, its metadata, secrets in it, and sdist completeness.

These checks read finished archives only (:mod:`juniper_release.verify.build` builds them); each failure is a
:class:`BuildError` naming the package and the fix. Manifest rows (:func:`artifact_entry`) are made here too.
"""

from __future__ import annotations

import difflib
import email.parser
import hashlib
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from juniper_release import secrets
from juniper_release.ecosystem.project import Project
from juniper_release.ecosystem.registry import Package
from juniper_release.errors import JuniperError


class BuildError(JuniperError):
    """A package failed to build, or its artifacts failed inspection. ``detail`` holds a diff or log, if any."""

    def __init__(self, what: str, fix: str | None = None, detail: str = "") -> None:
        super().__init__(what, fix)
        self.detail = detail


# --------------------------------------------------------------------------------------------------- helpers


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_entry(path: Path) -> dict[str, Any]:
    """One manifest row: file name, size in bytes and sha256."""
    return {"name": path.name, "size": path.stat().st_size, "sha256": sha256_file(path)}


def wheel_metadata(wheel: Path) -> email.message.Message:
    """The METADATA of a wheel, parsed."""
    with zipfile.ZipFile(wheel) as zf:
        name = next((n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None)
        if name is None:
            raise BuildError(f"{wheel.name} has no .dist-info/METADATA", "rebuild it with a standards-based backend")
        return email.parser.Parser().parsestr(zf.read(name).decode("utf-8"))


def wheel_requirements(wheel: Path) -> list[Requirement]:
    return [Requirement(r) for r in wheel_metadata(wheel).get_all("Requires-Dist") or []]


def wheel_extras(wheel: Path) -> set[str]:
    return {canonicalize_name(e) for e in wheel_metadata(wheel).get_all("Provides-Extra") or []}


# --------------------------------------------------------------------------------------------------- inspection


def _members(archive: Path) -> Iterator[tuple[str, bytes]]:
    """(path, first bytes) of every file in a wheel, or in an sdist (paths below its top-level folder)."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    with zf.open(info) as fh:
                        yield info.filename, fh.read(secrets.SCAN_LIMIT)
        return
    with tarfile.open(archive) as tf:
        for member in tf.getmembers():
            if member.isfile():
                stream = tf.extractfile(member)
                yield member.name.split("/", 1)[-1], stream.read(secrets.SCAN_LIMIT) if stream else b""


def scan_secrets(archive: Path) -> list[str]:
    """Members of a wheel or sdist that the secrets policy flags, as ``path: what (line N)``."""
    return [
        f"{name}: {secrets.describe(hits)}" for name, data in _members(archive) if (hits := secrets.scan(name, data))
    ]


def inspect_sdist(sdist: Path, pkg: Package, project: Project) -> None:
    """The sdist holds its version metadata (``PKG-INFO``, without which it cannot be rebuilt: a version taken from
    git tags is read back from there) and it names the version the tool read."""
    with tarfile.open(sdist) as tf:
        member = next((m for m in tf.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")), None)
        data = tf.extractfile(member) if member is not None else None
        text = data.read().decode("utf-8", errors="replace") if data is not None else None
    if text is None:
        raise BuildError(
            f"{pkg.name}: the sdist {sdist.name} has no PKG-INFO, so it cannot be rebuilt"
            + (" (its version comes from git tags)" if project.is_vcs else ""),
            f"build the sdist with the backend's own sdist hook ({project.backend}), not an archive of the tree",
        )
    found = email.message_from_string(text)["Version"]
    if found is None or Version(str(found)) != project.version:
        raise BuildError(
            f"{pkg.name}: the sdist's PKG-INFO says version {found} but {project.source.where} says {project.version}",
            "make the build backend read the declared version (no stale version file or pretend-version variable)",
        )


def inspect_wheel(wheel: Path, pkg: Package, project: Project) -> None:
    """Fail on strays, secrets, a missing py.typed and a metadata version that differs from pyproject."""
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
    allowed = {imp.split(".", 1)[0] for imp in pkg.imports}
    strays: set[str] = set()
    for name in names:
        top = name.split("/", 1)[0]
        if top.endswith((".dist-info", ".data")):
            continue
        module = top if "/" in name else top.split(".", 1)[0]
        if module not in allowed:
            strays.add(f"{top}/" if "/" in name else top)
    if strays:
        shown = ", ".join(sorted(strays))
        hint = "the tests/ package belongs in the sdist only; " if "tests/" in strays else ""
        raise BuildError(
            f"{pkg.name}: the wheel ships stray top-level {shown} (only {', '.join(sorted(allowed)) or 'metadata'} "
            "belongs there)",
            f"{hint}restrict packaging, e.g. [tool.setuptools.packages.find] include = "
            f"[{', '.join(repr(a + '*') for a in sorted(allowed))}]",
        )
    secrets = scan_secrets(wheel)
    if secrets:
        raise BuildError(
            f"{pkg.name}: the wheel contains secrets: {', '.join(secrets)}",
            "delete the file (and rotate the credential), then add it to .gitignore",
        )
    if project.declares_typed:
        for top in sorted(allowed):
            if f"{top}/py.typed" not in names:
                raise BuildError(
                    f"{pkg.name}: pyproject declares 'Typing :: Typed' but the wheel has no {top}/py.typed",
                    f"add an empty py.typed next to {top}/__init__.py and list it in package data, "
                    "or drop the classifier",
                )
    meta = wheel_metadata(wheel)
    meta_version = Version(str(meta["Version"]))
    if meta_version != project.version:
        raise BuildError(
            f"{pkg.name}: the wheel's METADATA version is {meta_version} but {project.source.where} says "
            f"{project.version}",
            "make the build backend read the declared version (no stale version file or pretend-version variable)",
        )
    if canonicalize_name(str(meta["Name"])) != canonicalize_name(pkg.name):
        raise BuildError(
            f"{pkg.name}: the wheel's METADATA name is {meta['Name']!r}",
            f"set [project].name = {pkg.name!r} (it must match {pkg.registry_file})",
        )


def wheel_file_list(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return sorted(n for n in zf.namelist() if not n.endswith("/"))


def compare_wheels(pkg: Package, tree_wheel: Path, sdist_wheel: Path) -> None:
    """The wheel rebuilt from the sdist must hold the same files as the wheel built from the tree."""
    tree, from_sdist = wheel_file_list(tree_wheel), wheel_file_list(sdist_wheel)
    if tree == from_sdist:
        return
    diff = list(difflib.unified_diff(tree, from_sdist, "wheel from the tree", "wheel from the sdist", lineterm=""))
    changes = [line for line in diff[2:] if line[:1] in "+-"]
    missing = [c[1:] for c in changes if c.startswith("-")]
    raise BuildError(
        f"{pkg.name}: the sdist is incomplete: the wheel rebuilt from it differs from the tree's wheel "
        f"({', '.join(changes[:6])}{' ...' if len(changes) > 6 else ''})",
        "include the missing files in the sdist (check MANIFEST.in / [tool.setuptools] excludes)"
        if missing
        else "make the sdist build reproduce the tree's wheel (check MANIFEST.in and generated files)",
        detail="\n".join(diff),
    )
