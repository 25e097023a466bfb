"""Install-and-smoke of one package's local build in a brand-new environment.

A fresh virtual environment with the package's configured Python (uv, else virtualenv + pip); the static pre-check;
CPU torch first for torch packages. The wheel is installed with its Juniper siblings pinned to their local builds by a
constraints file, and third-party dependencies from the normal index. Then the smoke test (``verify.smoke``) of the
base install; then every configured extra, the smoke test again and, for the meta-package, the imports of every
sibling its extras bring; and ``pip check``. After each install, every installed sibling must be the local build.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Protocol

from packaging.utils import canonicalize_name
from packaging.version import Version

from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import Package, Registry, require_checkout
from juniper_release.errors import CommandError
from juniper_release.verify.build import BuildResult
from juniper_release.verify.envs import CudaTorchError, Env, VerifyError, create_env, torch_plan
from juniper_release.verify.precheck import precheck, requirement_closure
from juniper_release.verify.pythons import choose
from juniper_release.verify.smoke import shell, smoke_test


class Progress(Protocol):
    """Where :func:`verify_package` records its phases (a ``scheduler.PackageResult``)."""

    phase: str | None
    phases: dict[str, float]
    backend: str


@contextlib.contextmanager
def _phase(progress: Progress, name: str) -> Iterator[None]:
    """Time a phase (times add up when a phase is entered again) and remember it as the current one."""
    progress.phase = name
    start = time.monotonic()
    try:
        yield
    finally:
        progress.phases[name] = progress.phases.get(name, 0.0) + time.monotonic() - start


def verify_package(
    registry: Registry,
    pkg: Package,
    workspace: Path,
    wheels: Mapping[str, BuildResult],
    progress: Progress,
    *,
    env_dir: Path,
    log: Callable[[str], None] = lambda _msg: None,
    python: str | None = None,
    request: str | None = None,
) -> Env:
    """Verify the local build of ``pkg`` in a fresh environment at ``env_dir``; the phases land on ``progress``.

    ``wheels`` maps registry names to local builds: the package itself and every sibling it may install. ``python``
    is the interpreter version to verify on (default: the first one ``request`` chooses, see ``verify.pythons``).
    """
    project = read_project(pkg, require_checkout(pkg, workspace))
    # The installed __version__ must be the wheel's own version (a module deriving it from installed metadata, or a
    # version computed from git tags, is checked against what was really built and installed).
    built = wheels.get(pkg.name)
    expected = Version(built.version) if built is not None else project.version
    with _phase(progress, "env"):
        python = python or choose(pkg, project.requires_python, request)[0]
        env = create_env(env_dir, python)
        progress.backend = env.backend
        python_full = env.full_version()
    with _phase(progress, "install"):
        precheck(registry, pkg, wheels, python_full)
    if pkg.torch:
        with _phase(progress, "env"):
            log(f"CPU torch from {env.install_cpu_torch(registry.torch)}")
    with _phase(progress, "install"):
        installer = _Installer(env, registry, pkg, wheels)
        installer.install(None)
    with _phase(progress, "smoke"):
        smoke_test(env, pkg, expected)
    with _phase(progress, "install"):
        for extra in pkg.extras:
            installer.install(extra)
        env.pip_check()
    if pkg.extras:
        with _phase(progress, "smoke"):
            smoke_test(env, pkg, expected)
            if pkg.is_meta:
                _check_meta_extras(env, pkg, registry, wheels, python_full)
    return env


class _Installer:
    """Installs ``pkg`` (or one of its extras) from its local wheel, every sibling pinned to its local build."""

    def __init__(self, env: Env, registry: Registry, pkg: Package, wheels: Mapping[str, BuildResult]) -> None:
        self.env, self.pkg, self.wheels = env, pkg, wheels
        lines, options = _constraints(env, pkg, wheels)
        constraints = env.path / "juniper-constraints.txt"
        constraints.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if pkg.torch:
            plan = torch_plan(registry.torch, env.python_version)
            if plan.options[0] == "--find-links":
                options += list(plan.options)
        self.common = ["-c", str(constraints), *options]

    def install(self, extra: str | None) -> None:
        what = f"installing [{extra}]" if extra else "installing the wheel"
        spec = _install_spec(self.env, self.pkg.name, self.wheels[self.pkg.name], extra)
        try:
            self.env.install([spec, *self.common], what=f"{what} ({self.env.backend})")
        except CommandError as exc:
            raise _install_error(self.env, self.pkg, what, exc) from None
        _check_installed(self.env, self.pkg, self.wheels, what)


def _install_spec(env: Env, name: str, built: BuildResult, extra: str | None) -> str:
    if env.backend == "uv":
        label = f"{name}[{extra}]" if extra else name
        return f"{label} @ {built.wheel.resolve().as_uri()}"
    return f"{built.wheel}[{extra}]" if extra else str(built.wheel)


def _constraints(env: Env, pkg: Package, wheels: Mapping[str, BuildResult]) -> tuple[list[str], list[str]]:
    """Constraint lines pinning every sibling to its local build (and torch), plus the installer options."""
    lines: list[str] = []
    options: list[str] = []
    for name, built in sorted(wheels.items()):
        if env.backend == "uv":
            lines.append(f"{name} @ {built.wheel.resolve().as_uri()}")
        else:
            lines.append(f"{name}=={built.version}")
            options += ["--find-links", str(built.wheel.parent)]
    torch_pin = env.torch_constraint() if pkg.torch else None
    # A package not configured for torch must never pull it in (it would be the multi-GB CUDA build).
    lines.append(torch_pin or "torch<0")
    return lines, options


def _install_error(env: Env, pkg: Package, what: str, exc: CommandError) -> Exception:
    if "torch" in exc.what:
        return CudaTorchError(
            f"{what} needs a torch other than the pinned CPU build ({exc.what}); nothing CUDA was downloaded",
            f"make {pkg.name}'s torch requirement admit the CPU build {env.torch_constraint() or '(none)'}, "
            f"or set torch = true in {pkg.registry_file}",
        )
    return VerifyError(
        exc.what,
        f"make {pkg.name}'s requirements installable: check the ranges against the local sibling versions and PyPI",
    )


# --------------------------------------------------------------------------------------------------- provenance


def provenance_mismatches(env: Env, wheel: Path) -> list[str]:
    """Files of ``wheel`` whose installed copy differs (so the distribution came from somewhere else)."""
    with zipfile.ZipFile(wheel) as zf:
        record_name = next(n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/RECORD"))
        rows = list(csv.reader(io.StringIO(zf.read(record_name).decode("utf-8"))))
    site = env.site_packages
    bad: list[str] = []
    for row in rows:
        if len(row) < 2 or not row[1] or ".dist-info/" in row[0] or ".data/" in row[0]:
            continue
        algo, _, expected = row[1].partition("=")
        path = site / row[0]
        if not path.is_file():
            bad.append(row[0])
            continue
        got = base64.urlsafe_b64encode(hashlib.new(algo, path.read_bytes()).digest()).rstrip(b"=").decode()
        if got != expected:
            bad.append(row[0])
    return bad


def _check_installed(env: Env, pkg: Package, wheels: Mapping[str, BuildResult], what: str) -> None:
    """The package and every installed Juniper sibling are exactly the local builds."""
    installed = {canonicalize_name(k): v for k, v in env.installed().items()}
    if canonicalize_name(pkg.name) not in installed:
        raise VerifyError(f"{pkg.name} is not installed after {what}", "check the installer output above")
    for name, built in wheels.items():
        got = installed.get(canonicalize_name(name))
        if got is None:
            continue
        if Version(got) != Version(built.version):
            raise VerifyError(
                f"after {what}, {name} {got} is installed but the local build is {built.version}: the resolver "
                "took it from an index",
                "pin the local versions (the constraints file); check the sibling's version and ranges",
            )
        bad = provenance_mismatches(env, built.wheel)
        if bad:
            raise VerifyError(
                f"after {what}, the installed {name} {got} is not the local wheel (files differ: {', '.join(bad[:3])})",
                "install siblings only from the wheelhouse: keep them pinned by the constraints file",
            )


# --------------------------------------------------------------------------------------------------- meta-package


def _check_meta_extras(env: Env, pkg: Package, registry: Registry, wheels: Mapping[str, BuildResult], py: str) -> None:
    """For a meta-package: every configured extra's Juniper packages import."""
    wanted = _sibling_modules(pkg, registry, wheels, py)
    with shell(env) as sh:
        for module, extras in sorted(wanted.items()):
            imported = sh.import_module(module)
            if imported.error is not None:
                raise VerifyError(
                    f"{pkg.name}{', '.join(f'[{e}]' for e in extras)}: import {module} failed: {imported.error}",
                    f"fix the package providing {module}, or the extra's requirements",
                )


def _sibling_modules(
    pkg: Package, registry: Registry, wheels: Mapping[str, BuildResult], py: str
) -> dict[str, list[str]]:
    """The modules of every sibling ``pkg``'s configured extras bring: module -> the extras that bring it."""
    local: dict[str, Path] = {canonicalize_name(n): b.wheel for n, b in wheels.items()}
    wanted: dict[str, list[str]] = {}
    for extra in pkg.extras:
        for _, req in requirement_closure(local, pkg.name, [extra], py):
            sibling = registry.find(req.name)
            if sibling and sibling.name != pkg.name:
                for module in sibling.imports:
                    extras = wanted.setdefault(module, [])
                    if extra not in extras:
                        extras.append(extra)
    return wanted
