"""The PEP 517 build machinery: hook runner, build log and warnings, shared isolated environments, and the builds.

:func:`pep517_builds` runs pypa/build as ``python -m build`` does (the sdist, then a wheel built from it; a wheel from
the tree too when :func:`tree_wheel_inputs` says it could differ). :class:`BuildEnvs` shares isolated environments
between packages with identical ``build-system.requires``. The backend's output goes to :func:`build_log_path`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

from build import ProjectBuilder
from build.env import DefaultIsolatedEnv

from juniper_release.commands import last_lines
from juniper_release.ecosystem.paths import cache_part
from juniper_release.ecosystem.registry import Package
from juniper_release.files import disk_error
from juniper_release.interrupts import refuse_new_command
from juniper_release.secrets import redact
from juniper_release.verify.artifacts import BuildError, wheel_file_list
from juniper_release.verify.envs import tool_env, uv_binary

_ENV_CREATE_LOCK = threading.Lock()


class Runner:
    """A PEP 517 hook runner: quiet (output kept for the build log), and allowed to write bytecode in the build env.

    The build environment is shared by a package's builds (and by packages with the same ``build-system.requires``),
    so letting the hooks write ``.pyc`` files there makes later hook calls cheaper without touching anything outside.
    """

    def __init__(self, extra: Mapping[str, str] | None = None) -> None:
        self.output: list[str] = []
        self.extra = dict(extra or {})
        """Set for every hook: a VCS version pinned to the one the tool read (:func:`project.build_env`)."""

    def __call__(
        self, cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
    ) -> None:
        env = tool_env()
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(self.extra)
        env.update(extra_environ or {})
        refuse_new_command("a PEP 517 hook")
        proc = subprocess.run(
            list(cmd), cwd=cwd, env=env, capture_output=True, encoding="utf-8", errors="replace", check=False
        )
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
    return cache_part("logs") / f"{pkg.name}-build.log"


def save_log(pkg: Package, log: str) -> Path:
    path = build_log_path(pkg)
    try:
        path.write_text(redact(log), encoding="utf-8")
    except OSError as exc:
        raise disk_error(exc, path, "write the build log") from None
    return path


def _build_error(pkg: Package, step: str, exc: Exception, runner: Runner) -> BuildError:
    log = runner.log
    detail = last_lines(log, 6) if log.strip() else str(exc)
    saved = save_log(pkg, log or str(exc))
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


def pep517_builds(
    src: Path, scratch: Path, pkg: Package, runner: Runner, envs: BuildEnvs | None
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
    runner: Runner,
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
