"""Clean builds of one package: sdist + wheel, ``twine check --strict``, wheel inspection, sdist completeness, manifest.

A build never touches the checkout: the tracked and untracked-but-not-ignored files are copied to a scratch folder
and pypa/build runs there through the same API ``python -m build`` uses: an isolated environment (created and filled
by uv when available) holding ``build-system.requires``, then PEP 517 hooks in subprocesses. The shipped pair is what
``python -m build`` makes by default (the sdist, then a wheel built *from that sdist*). The sdist must be complete: a
wheel built straight from the tree must hold the same files; that wheel is built whenever a source file that could
change it is missing from the sdist (:func:`tree_wheel_inputs`). Within :class:`BuildEnvs`, packages with identical
``build-system.requires`` share one isolated environment. The backend's output goes to a log file per package
(:func:`build_log_path`); its warnings are summed up in one line, and a failure shows all of it.
"""

from __future__ import annotations

import contextlib
import difflib
import email.parser
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from build import ProjectBuilder
from build.env import DefaultIsolatedEnv
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from juniper_release import secrets
from juniper_release.commands import last_lines, run
from juniper_release.ecosystem.project import Project, read_project
from juniper_release.ecosystem.registry import Package, Registry, cache_dir, require_checkout
from juniper_release.ecosystem.versions import build_env
from juniper_release.errors import CommandError, JuniperError, suggest
from juniper_release.files import write_json
from juniper_release.gitops import Git
from juniper_release.interrupts import refuse_new_command
from juniper_release.secrets import redact
from juniper_release.verify.envs import tool_env, uv_binary

MANIFEST_NAME = "manifest.json"

_ENV_CREATE_LOCK = threading.Lock()


class BuildError(JuniperError):
    """A package failed to build, or its artifacts failed inspection. ``detail`` holds a diff or log, if any."""

    def __init__(self, what: str, fix: str | None = None, detail: str = "") -> None:
        super().__init__(what, fix)
        self.detail = detail


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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_entry(path: Path) -> dict[str, Any]:
    """One manifest row: file name, size in bytes and sha256."""
    return {"name": path.name, "size": path.stat().st_size, "sha256": sha256_file(path)}


def source_files(root: Path) -> list[str]:
    """What a clean build may see (:meth:`Git.files`, without nested packages' directories); a folder that is not a
    git checkout is an error."""
    git = Git(root)
    if not git.ok("rev-parse", "--git-dir"):
        raise BuildError(
            f"{root} is not a git checkout", f"clone it with `{suggest('invoke clone')}` or run `git init` in {root}"
        )
    return git.package_files()


def clean_copy(root: Path, dest: Path) -> list[str]:
    """Copy the checkout's source files (see :func:`source_files`) to ``dest``; the checkout is left untouched."""
    files = source_files(root)
    for rel in files:
        src, dst = root / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(src.readlink())
        else:
            shutil.copy2(src, dst)
    return files


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


# --------------------------------------------------------------------------------------------------- build


class _Runner:
    """A PEP 517 hook runner: quiet (output kept for the build log), and allowed to write bytecode in the build env.

    The build environment is shared by a package's builds (and by packages with the same ``build-system.requires``),
    so letting the hooks write ``.pyc`` files there makes later hook calls cheaper without touching anything outside.
    """

    def __init__(self, extra: Mapping[str, str] | None = None) -> None:
        self.output: list[str] = []
        self.extra = dict(extra or {})
        """Set for every hook: a VCS version pinned to the one the tool read (:func:`versions.build_env`)."""

    def __call__(
        self, cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
    ) -> None:
        env = tool_env()
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(self.extra)
        env.update(extra_environ or {})
        refuse_new_command("a PEP 517 hook")
        proc = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True, check=False)
        self.output.append(proc.stdout + proc.stderr + self._take_warnings(cmd))
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, list(cmd), proc.stdout, proc.stderr)

    @staticmethod
    def _take_warnings(cmd: Sequence[str]) -> str:
        """Move the Python warnings a hook raised from its ``output.json`` into the log.

        pyproject-hooks runs each hook as ``python _in_process.py HOOK CONTROL_DIR``, records the hook's warnings in
        ``CONTROL_DIR/output.json`` and re-raises them in this process with :func:`warnings.warn_explicit`, which
        would print every one on the console. Taking them out of the file keeps them in this build's log instead.
        """
        if not cmd:
            return ""
        control = Path(cmd[-1]) / "output.json"
        try:
            data = json.loads(control.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        if not isinstance(data, dict) or not data.get("warnings"):
            return ""
        taken = data["warnings"]
        data["warnings"] = []
        control.write_text(json.dumps(data), encoding="utf-8")
        return "".join(
            f"\n{w.get('filename')}:{w.get('lineno')}: BuildBackendWarning: {w.get('message')}" for w in taken
        )

    @property
    def log(self) -> str:
        return "\n".join(self.output)


# --------------------------------------------------------------------------------------------------- build noise

_WARNING_RE = re.compile(r"\b(\w*Warning):\s*(.+?)\s*$", re.MULTILINE)


def build_warnings(log: str) -> list[str]:
    """The distinct warnings a build backend printed (``SetuptoolsDeprecationWarning: X`` gives ``X``), in order."""
    found: dict[str, None] = {}
    for match in _WARNING_RE.finditer(log):
        found.setdefault(match.group(2), None)
    return list(found)


def warnings_line(warnings: Sequence[str]) -> str:
    """One line for a package's build warnings ('' when there are none)."""
    if not warnings:
        return ""
    more = f" (and {len(warnings) - 1} more)" if len(warnings) > 1 else ""
    return f"{len(warnings)} build warning{'s' if len(warnings) > 1 else ''}: {warnings[0]}{more}"


def build_log_path(pkg: Package) -> Path:
    """Where the full output of ``pkg``'s last build is kept."""
    return cache_dir() / "logs" / f"{pkg.name}-build.log"


def _save_log(pkg: Package, log: str) -> Path:
    path = build_log_path(pkg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(log), encoding="utf-8")
    return path


def _build_error(pkg: Package, step: str, exc: Exception, runner: _Runner) -> BuildError:
    log = runner.log
    detail = last_lines(log, 6) if log.strip() else str(exc)
    saved = _save_log(pkg, log or str(exc))
    return BuildError(
        f"{pkg.name}: {step} failed: {redact(' '.join(detail.split()))}",
        f"run `python -m build` in the {pkg.name} checkout; the full backend output is below and in {saved}",
        detail=redact(log or str(exc)),
    )


# --------------------------------------------------------------------------------------------------- build envs


class _SharedEnv:
    """An isolated build environment holding exactly one ``build-system.requires``; builds in it may run at once."""

    def __init__(self, env: DefaultIsolatedEnv, requires: frozenset[str]) -> None:
        self.env, self.requires = env, requires


class BuildEnvs:
    """Isolated build environments shared, for the length of a ``with`` block, by packages whose
    ``build-system.requires`` are identical (what ``python -m build`` would install into each of them).

    A package whose backend asks for more (``get_requires_for_build``) than the shared environment holds builds in an
    environment of its own instead, so no package ever builds with a requirement it did not declare.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._envs: dict[frozenset[str], _SharedEnv] = {}
        self._stack = contextlib.ExitStack()
        self.private: set[str] = set()
        """Packages that built in an environment of their own (their backend asked for more)."""

    def __enter__(self) -> BuildEnvs:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._envs.clear()
            self._stack.close()

    @property
    def shared(self) -> int:
        """How many shared environments were made."""
        return len(self._envs)

    def get(self, requires: frozenset[str]) -> _SharedEnv:
        """The shared environment for ``requires``, created (and filled) on first use."""
        with self._lock:
            shared = self._envs.get(requires)
            if shared is None:
                shared = _SharedEnv(self._stack.enter_context(_new_env()), requires)
                shared.env.install(requires)
                self._envs[requires] = shared
            return shared


@contextlib.contextmanager
def _new_env() -> Iterator[DefaultIsolatedEnv]:
    """A fresh isolated environment (uv fills it when available), removed on exit."""
    installer: Literal["pip", "uv"] = "uv" if uv_binary() else "pip"
    with contextlib.ExitStack() as stack:
        with _ENV_CREATE_LOCK:  # venv creation reads sysconfig, which is not thread-safe on 3.11
            env = stack.enter_context(DefaultIsolatedEnv(installer=installer))
        yield env


class _MoreRequires(Exception):
    """The backend wants requirements the shared environment does not hold."""


def _require(env: DefaultIsolatedEnv, have: frozenset[str] | None, wanted: set[str]) -> None:
    """Install ``wanted`` into a private env; in a shared one (``have`` set), anything new means "use a private env"."""
    if have is None:
        env.install(wanted)
    elif not wanted <= have:
        raise _MoreRequires


def _source_digests(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path (a symlink gets a digest no sdist member matches)."""
    return {
        p.relative_to(root).as_posix(): "symlink" if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_symlink() or p.is_file()
    }


_BUILD_CONFIG = frozenset({"pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in"})
_PACKAGED_SUFFIXES = frozenset({".py", ".pyi", ".pyx", ".pxd", ".c", ".cpp", ".h", ".so", ".pth"})


def tree_wheel_inputs(sdist: Path, tree: Mapping[str, str], packages: Iterable[str]) -> list[str]:
    """Source files that could make a wheel built from the tree differ from one built from the sdist.

    ``tree`` maps every source file to its sha256; ``packages`` are the top-level names the wheel ships. A file the
    sdist holds unchanged cannot. A file it lacks or changes can put a file in the tree's wheel that the sdist's
    wheel lacks only when a backend packages it or reads it as build configuration: Python and extension sources,
    anything in a folder named like a shipped top-level package, symlinks, and pyproject.toml / setup.py /
    setup.cfg / MANIFEST.in. An empty answer means the two wheels hold the same files, so the comparison holds
    without building the tree's wheel.
    """
    have: dict[str, str] = {}
    with tarfile.open(sdist) as tf:
        for member in tf.getmembers():
            if member.isfile():
                stream = tf.extractfile(member)
                if stream is not None:
                    have[member.name.split("/", 1)[-1]] = hashlib.sha256(stream.read()).hexdigest()
    tops = set(packages)
    relevant: list[str] = []
    for rel, digest in sorted(tree.items()):
        if have.get(rel) == digest:
            continue
        parts = rel.split("/")
        if (
            digest == "symlink"
            or parts[-1] in _BUILD_CONFIG
            or Path(rel).suffix in _PACKAGED_SUFFIXES
            or any(part in tops for part in parts[:-1])
        ):
            relevant.append(rel)
    return relevant


def _shipped_tops(wheel: Path, pkg: Package) -> set[str]:
    """Top-level names a wheel ships (and the ones repos.toml configures), without its .dist-info / .data."""
    tops = {imp.split(".", 1)[0] for imp in pkg.imports}
    for name in wheel_file_list(wheel):
        top = name.split("/", 1)[0]
        if not top.endswith((".dist-info", ".data")):
            tops.add(top if "/" in name else top.split(".", 1)[0])
    return tops


def _pep517_builds(
    src: Path, scratch: Path, pkg: Package, runner: _Runner, envs: BuildEnvs | None
) -> tuple[Path, Path, Path | None]:
    """pypa/build, as ``python -m build`` runs it: an isolated env with build-system.requires (installed by uv when
    available), the sdist, then a wheel built *from that sdist*; a wheel built straight from the tree too, unless no
    source file that could change it is missing from the sdist (:func:`tree_wheel_inputs`).

    Returns (sdist, wheel from the sdist, wheel from the tree or None). The environment is ``envs``' shared one for
    the package's ``build-system.requires`` when the backend needs nothing more, else a fresh one of its own.
    """
    # pypa/build logs each step at INFO; nox shows INFO, so keep our summary lines the only output.
    logging.getLogger("build").setLevel(logging.WARNING)
    tree = _source_digests(src)
    step = "creating the isolated build environment"
    try:
        if envs is not None:
            requires = frozenset(ProjectBuilder(src, runner=runner).build_system_requires)
            shared = envs.get(requires)
            try:
                return _builds_in(shared.env, requires, src, scratch, pkg, runner, tree)
            except _MoreRequires:
                envs.private.add(pkg.name)
                shutil.rmtree(scratch / "dist", ignore_errors=True)
                shutil.rmtree(scratch / "unpacked", ignore_errors=True)
        with _new_env() as env:
            builder = ProjectBuilder.from_isolated_env(env, src, runner=runner)
            env.install(builder.build_system_requires)
            return _builds_in(env, None, src, scratch, pkg, runner, tree)
    except (BuildError, _MoreRequires):
        raise
    except _StepFailed as failed:
        raise _build_error(pkg, failed.step, failed.exc, runner) from None
    except Exception as exc:  # BuildException, BuildBackendException, FailedProcessError, ...
        raise _build_error(pkg, step, exc, runner) from None


class _StepFailed(Exception):
    def __init__(self, step: str, exc: Exception) -> None:
        super().__init__(step)
        self.step, self.exc = step, exc


def _builds_in(
    env: DefaultIsolatedEnv,
    have: frozenset[str] | None,
    src: Path,
    scratch: Path,
    pkg: Package,
    runner: _Runner,
    tree: Mapping[str, str],
) -> tuple[Path, Path, Path | None]:
    step = "building the sdist"
    try:
        builder = ProjectBuilder.from_isolated_env(env, src, runner=runner)
        _require(env, have, builder.get_requires_for_build("sdist"))
        sdist = Path(builder.build("sdist", scratch / "dist"))
        step = "building the wheel from the sdist"
        unpacked = scratch / "unpacked"
        with tarfile.open(sdist) as tf:
            tf.extractall(unpacked, filter="data")
        roots = [p for p in unpacked.iterdir() if p.is_dir()]
        if len(roots) != 1:
            raise BuildError(
                f"{pkg.name}: the sdist {sdist.name} does not hold one top-level folder",
                "fix the build backend's sdist layout",
            )
        from_sdist = ProjectBuilder.from_isolated_env(env, roots[0], runner=runner)
        _require(env, have, from_sdist.get_requires_for_build("wheel"))
        wheel = Path(from_sdist.build("wheel", scratch / "dist"))
        if not tree_wheel_inputs(sdist, tree, _shipped_tops(wheel, pkg)):
            return sdist, wheel, None
        step = "building the wheel from the tree"
        tree_wheel = Path(builder.build("wheel", scratch / "tree"))
    except (BuildError, _MoreRequires):
        raise
    except Exception as exc:
        raise _StepFailed(step, exc) from None
    return sdist, wheel, tree_wheel


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
    shutil.copytree(source, dest, symlinks=True)


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
    scratch_base = cache_dir() / "tmp"
    scratch_base.mkdir(parents=True, exist_ok=True)
    runner = _Runner(build_env(pkg, project))
    with tempfile.TemporaryDirectory(prefix=f"build-{pkg.name}-", dir=scratch_base) as tmp:
        scratch = Path(tmp)
        src = scratch / "src"
        copy(root, src)
        sdist, wheel, tree_wheel = _pep517_builds(src, scratch, pkg, runner, envs)
        _save_log(pkg, runner.log)
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

        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_old(out_dir, project.name)
        final_sdist = Path(shutil.copy2(sdist, out_dir / sdist.name))
        final_wheel = Path(shutil.copy2(wheel, out_dir / wheel.name))
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
    """The build recorded in ``out_dir/manifest.json`` if its artifacts are still there, unchanged."""
    try:
        manifest = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        entries = manifest["artifacts"]
        paths = [out_dir / e["name"] for e in entries]
        if any(not p.is_file() or p.stat().st_size != e["size"] for p, e in zip(paths, entries, strict=True)):
            return None
        sdist = next(p for p in paths if p.name.endswith(".tar.gz"))
        wheel = next(p for p in paths if p.suffix == ".whl")
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    return BuildResult(pkg.name, str(manifest["version"]), sdist, wheel, manifest, 0.0)
