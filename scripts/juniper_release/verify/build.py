"""Clean builds of one package: sdist + wheel, ``twine check --strict``, wheel inspection, sdist completeness, manifest.

A build never touches the checkout: the tracked and untracked-but-not-ignored files are copied to a scratch folder
and pypa/build runs there through the same API ``python -m build`` uses: an isolated environment (created and filled
by uv when available) holding ``build-system.requires``, then PEP 517 hooks in subprocesses. The shipped pair is what
``python -m build`` makes by default (the sdist, then a wheel built *from that sdist*). The sdist must be complete: a
wheel built straight from the tree must hold the same files; that wheel is built whenever a source file that could
change it is missing from the sdist (:func:`tree_wheel_inputs`). Within :class:`BuildEnvs`, packages with identical
``build-system.requires`` share one isolated environment. The backend's output goes to a log file per package
(:func:`build_log_path`); its warnings are summed up in one line, and a failure shows all of it.

This module holds the build entry points and the manifest; the artifact inspections live in
:mod:`juniper_release.verify.artifacts` and the PEP 517 machinery in :mod:`juniper_release.verify.pep517`. It
re-exports their public names (``__all__``), so ``juniper_release.verify.build`` stays the one import path.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from juniper_release.commands import run
from juniper_release.ecosystem.paths import cache_part
from juniper_release.ecosystem.project import build_env, read_project
from juniper_release.ecosystem.registry import Package, Registry, require_checkout
from juniper_release.errors import CommandError, suggest
from juniper_release.files import disk_error, write_json
from juniper_release.gitops import Git
from juniper_release.verify.artifacts import (
    BuildError,
    artifact_entry,
    compare_wheels,
    inspect_sdist,
    inspect_wheel,
    scan_secrets,
    sha256_file,
    wheel_extras,
    wheel_file_list,
    wheel_metadata,
    wheel_requirements,
)
from juniper_release.verify.envs import tool_env
from juniper_release.verify.pep517 import (
    BuildEnvs,
    Runner,
    build_log_path,
    build_warnings,
    pep517_builds,
    save_log,
    tree_wheel_inputs,
    warnings_line,
)

__all__ = [
    "MANIFEST_NAME",
    "BuildEnvs",
    "BuildError",
    "BuildResult",
    "artifact_entry",
    "build_log_path",
    "build_package",
    "build_tree",
    "build_warnings",
    "clean_copy",
    "compare_wheels",
    "inspect_sdist",
    "inspect_wheel",
    "load_build",
    "scan_secrets",
    "sha256_file",
    "source_files",
    "tree_wheel_inputs",
    "warnings_line",
    "wheel_extras",
    "wheel_file_list",
    "wheel_metadata",
    "wheel_requirements",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class BuildResult:
    """The artifacts of one package build and their manifest entry."""

    package: str
    version: str
    sdist: Path
    wheel: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()

    @property
    def artifacts(self) -> tuple[Path, Path]:
        return (self.sdist, self.wheel)


# --------------------------------------------------------------------------------------------------- helpers


def source_files(root: Path) -> list[str]:
    """What a clean build may see (:meth:`Git.files`, without nested packages' directories); a folder that is not a
    git checkout is an error."""
    git = Git(root)
    if not git.ok("rev-parse", "--git-dir"):
        raise BuildError(
            f"{root} is not a git checkout", f"clone it with `{suggest('invoke clone')}` or run `git init` in {root}"
        )
    files = git.package_files()
    top = Path(git.run("rev-parse", "--show-toplevel")).resolve()
    for rel in files:
        _check_link(root, rel, top)
    return files


def _check_link(root: Path, rel: str, top: Path) -> None:
    """A symlink among the source files must point at a file inside the repository ``top``: one pointing outside
    would ship that outside file's content (and a later change of it would not be seen by the verify cache). A
    member of a workspace may link to the repository's files (``LICENSE -> ../../LICENSE``): a build ships their
    content, as the backend's own sdist does."""
    path = root / rel
    if not path.is_symlink():
        return
    target = path.resolve()
    if not target.is_relative_to(top) or (not target.is_file() and not target.is_relative_to(root.resolve())):
        raise BuildError(
            f"{root.name}: {rel} is a symlink to {os.readlink(path)}, outside the checkout (a build would ship "
            "that file's content)",
            f"replace {rel} with a copy of the file, or point it at a file inside {root}",
        )


def clean_copy(root: Path, dest: Path) -> list[str]:
    """Copy the checkout's source files (see :func:`source_files`) to ``dest``; the checkout is left untouched. A
    symlink to a file of the repository outside ``root`` is copied as that file."""
    files = source_files(root)
    inside = root.resolve()
    for rel in files:
        src, dst = root / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink() and src.resolve().is_relative_to(inside):
            dst.symlink_to(src.readlink())
        else:
            shutil.copy2(src, dst)
    return files


# --------------------------------------------------------------------------------------------------- build


def _twine_check(pkg: Package, files: Iterable[Path]) -> None:
    try:
        run(
            [sys.executable, "-m", "twine", "check", "--strict", *files],
            env=tool_env(),
            what=f"{pkg.name}: twine check --strict",
        )
    except CommandError as exc:
        raise BuildError(
            exc.what,
            "make the README render on PyPI (`python -m readme_renderer README`), and declare readme in pyproject",
        ) from None


def _remove_old(out_dir: Path, project_name: str) -> None:
    """Remove earlier sdists/wheels of this project from ``out_dir`` (other projects' files stay)."""
    wanted = canonicalize_name(project_name)
    for path in out_dir.iterdir() if out_dir.is_dir() else ():
        try:
            if path.suffix == ".whl":
                name = parse_wheel_filename(path.name)[0]
            elif path.name.endswith(".tar.gz"):
                name = parse_sdist_filename(path.name)[0]
            else:
                continue
        except ValueError:
            continue
        if name == wanted:
            path.unlink()


def build_package(
    registry: Registry,
    pkg: Package,
    workspace: Path,
    out_dir: Path,
    *,
    source_key: str | None = None,
    envs: BuildEnvs | None = None,
) -> BuildResult:
    """Build ``pkg`` cleanly into ``out_dir`` and inspect it; write ``out_dir/manifest.json``.

    ``out_dir`` is the package's folder of the wheelhouse (earlier artifacts of the same project there are replaced).
    ``envs`` shares build environments between packages (see :class:`BuildEnvs`). Raises :class:`BuildError` naming
    the package and the fix.
    """
    return _build_inspected(pkg, require_checkout(pkg, workspace), clean_copy, out_dir, source_key, envs)


def build_tree(pkg: Package, source: Path, out_dir: Path, tagged: Version | None = None) -> BuildResult:
    """Build and inspect ``source``, a plain tree such as a ``git archive`` export (every file in it is source).

    The same builds and inspections as :func:`build_package`, on a copy of the whole tree. ``tagged`` is the version
    of the release tag the tree was exported from: a version taken from git tags is that one.
    """
    return _build_inspected(pkg, source, _copy_tree, out_dir, None, None, tagged)


def _copy_tree(source: Path, dest: Path) -> None:
    """``source`` copied to ``dest``, its symlinks kept, except one to a file outside ``source`` (a workspace
    member's ``LICENSE -> ../../LICENSE``), which is copied as that file."""
    shutil.copytree(source, dest, symlinks=True)
    inside = source.resolve()
    for link in [p for p in dest.rglob("*") if p.is_symlink()]:
        target = (source / link.relative_to(dest)).resolve()
        if not target.is_relative_to(inside) and target.is_file():
            link.unlink()
            shutil.copy2(target, link)


def _build_inspected(
    pkg: Package,
    root: Path,
    copy: Callable[[Path, Path], object],
    out_dir: Path,
    source_key: str | None,
    envs: BuildEnvs | None,
    tagged: Version | None = None,
) -> BuildResult:
    """``copy`` the source at ``root`` to a scratch folder, build it there, inspect it, then publish to ``out_dir``.

    The backend's whole output goes to :func:`build_log_path`; its warnings are counted in the result.
    """
    start = time.monotonic()
    project = read_project(pkg, root, tagged)
    scratch_base = cache_part("tmp")
    runner = Runner(build_env(pkg, project))
    with tempfile.TemporaryDirectory(prefix=f"build-{pkg.name}-", dir=scratch_base) as tmp:
        scratch = Path(tmp)
        src = scratch / "src"
        copy(root, src)
        sdist, wheel, tree_wheel = pep517_builds(src, scratch, pkg, runner, envs)
        save_log(pkg, runner.log)
        _twine_check(pkg, (sdist, wheel))
        inspect_sdist(sdist, pkg, project)
        inspect_wheel(wheel, pkg, project)
        secrets = scan_secrets(sdist)
        if secrets:
            raise BuildError(
                f"{pkg.name}: the sdist contains secrets: {', '.join(secrets)}",
                "delete the file (and rotate the credential), then add it to .gitignore",
            )
        if tree_wheel is not None:
            compare_wheels(pkg, tree_wheel, wheel)

        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / MANIFEST_NAME).unlink(missing_ok=True)  # written again last, once the files are complete
            _remove_old(out_dir, project.name)
            final_sdist = Path(shutil.copy2(sdist, out_dir / sdist.name))
            final_wheel = Path(shutil.copy2(wheel, out_dir / wheel.name))
        except OSError as exc:
            raise disk_error(exc, out_dir, "copy the built artifacts into") from None
    manifest: dict[str, Any] = {
        "package": pkg.name,
        "version": str(project.version),
        "source_key": source_key,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "artifacts": [artifact_entry(final_sdist), artifact_entry(final_wheel)],
    }
    write_manifest(out_dir / MANIFEST_NAME, manifest)
    return BuildResult(
        pkg.name,
        str(project.version),
        final_sdist,
        final_wheel,
        manifest,
        time.monotonic() - start,
        tuple(build_warnings(runner.log)),
    )


def write_manifest(path: Path, data: Any) -> None:
    write_json(path, data)


def load_build(pkg: Package, out_dir: Path) -> BuildResult | None:
    """The build recorded in ``out_dir/manifest.json`` if its artifacts are still there, unchanged (size and sha256:
    a truncated or altered file is no build)."""
    try:
        manifest = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        entries = manifest["artifacts"]
        paths = [out_dir / e["name"] for e in entries]
        for path, entry in zip(paths, entries, strict=True):
            if not path.is_file() or path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
                return None
        sdist = next(p for p in paths if p.name.endswith(".tar.gz"))
        wheel = next(p for p in paths if p.suffix == ".whl")
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    return BuildResult(pkg.name, str(manifest["version"]), sdist, wheel, manifest, 0.0)
