"""Install-and-smoke verification of every package, ``verify-all`` in release order, and its incremental cache.

For each package: a clean build (``build.build_package``) into its folder of the shared wheelhouse, then a brand-new
virtual environment with the package's configured Python (uv, else virtualenv + pip). Torch packages get the pinned
CPU torch first. A static pre-check (requires-python, extras, sibling ranges, torch) runs before anything is
installed. The wheel is installed with its Juniper siblings pinned to the local wheelhouse by a constraints file, and
third-party dependencies from the normal index. Then: imports, ``__version__``, console scripts, registry smoke
commands, every configured extra and ``pip check``.

Results are cached per package on a *source key* (git tree + uncommitted diff + untracked files + the tool's own
configuration). A package whose key and whose dependencies' keys are unchanged since its last successful verify is
reported as ``cached`` and not rebuilt; ``force=True`` rebuilds everything.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import functools
import hashlib
import io
import json
import os
import shlex
import shutil
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from juniper_release import __version__ as TOOL_VERSION
from juniper_release.commands import run
from juniper_release.ecosystem.graph import Graph, build_graph
from juniper_release.ecosystem.project import Project, read_project
from juniper_release.ecosystem.registry import Package, Registry, cache_dir, require_checkout
from juniper_release.errors import CommandError, JuniperError, WorkspaceError
from juniper_release.gitops import Git
from juniper_release.output import table, to_json
from juniper_release.verify.build import (
    BuildError,
    BuildResult,
    build_package,
    console_scripts,
    load_build,
    wheel_extras,
    wheel_metadata,
    wheel_requirements,
    write_manifest,
)
from juniper_release.verify.envs import CudaTorchError, Env, create_env, tool_env, torch_plan

PIPELINE_VERSION = "1"
"""Bump when the verification steps change, so earlier successes are no longer trusted."""

PHASES = ("build", "env", "install", "smoke")
STATUSES = ("passed", "failed", "skipped", "cached")
COMMAND_TIMEOUT = 300.0


class VerifyError(JuniperError):
    """A package failed verification (the phase is recorded on its :class:`PackageResult`)."""


# --------------------------------------------------------------------------------------------------- cache layout


def wheelhouse_dir() -> Path:
    """The shared wheelhouse: one folder per package."""
    return cache_dir() / "wheelhouse"


def _records_dir() -> Path:
    return cache_dir() / "verified"


def _envs_dir() -> Path:
    return cache_dir() / "envs"


CACHE_PARTS = ("wheelhouse", "verified", "envs", "tmp", "sandbox")
"""What ``nox -s clean`` removes under the cache dir (release journals of other tools stay)."""


def clean_cache() -> list[Path]:
    """Remove the wheelhouse, verification records, environments, scratch builds and sandboxes."""
    removed: list[Path] = []
    base = cache_dir()
    for part in CACHE_PARTS:
        path = base / part
        if path.exists():
            shutil.rmtree(path)
            removed.append(path)
    return removed


# --------------------------------------------------------------------------------------------------- source keys


def tool_config_key(registry: Registry) -> str:
    """What of the tool's own configuration a verification depends on."""
    from juniper_release.sandbox.standin import GENERATOR_VERSION

    data = {
        "registry": registry.path.read_text(encoding="utf-8"),
        "torch": [registry.torch.version, registry.torch.source],
        "generator": GENERATOR_VERSION,
        "tool": TOOL_VERSION,
        "pipeline": PIPELINE_VERSION,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def source_key(registry: Registry, pkg: Package, workspace: Path) -> str:
    """Hash of what a build would see, plus the tool config.

    The content of every tracked and untracked non-ignored file of the checkout, by path, whether committed or not:
    committing a verified change (the release's "commit bump" step) keeps the key, so the verified artifacts are the
    ones that get uploaded.
    """
    root = require_checkout(pkg, workspace)
    git = Git(root)
    if not git.ok("rev-parse", "--git-dir"):
        raise WorkspaceError(
            f"{pkg.name}: {root} is not a git checkout", f"clone it with `invoke clone --workspace {workspace}`"
        )
    digest = hashlib.sha256()
    for rel in git.files():
        path = root / rel
        if path.is_symlink():
            digest.update(b"\0link\0" + rel.encode() + b"\0" + os.readlink(path).encode())
        elif path.is_file():
            mode = b"x" if os.access(path, os.X_OK) else b"-"
            digest.update(b"\0file\0" + rel.encode() + b"\0" + mode + hashlib.sha256(path.read_bytes()).digest())
    digest.update(b"\0tool\0" + tool_config_key(registry).encode())
    return digest.hexdigest()


def dependency_closure(graph: Graph, name: str) -> set[str]:
    """Every registry package ``name`` requires, directly or not (hard or through an extra)."""
    seen: set[str] = set()
    todo = list(graph.deps(name))
    while todo:
        dep = todo.pop()
        if dep not in seen and dep != name:
            seen.add(dep)
            todo.extend(graph.deps(dep))
    return seen


def _verify_key(name: str, keys: Mapping[str, str], closure: Iterable[str]) -> str:
    parts = [f"{name}={keys[name]}", *sorted(f"{d}={keys[d]}" for d in closure)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _record_path(name: str, key: str) -> Path:
    return _records_dir() / name / f"{key}.json"


def is_verified(registry: Registry, pkg: Package, workspace: Path) -> bool:
    """True when a successful verify is recorded for the package's current source (and its dependencies')."""
    graph = build_graph(registry, workspace)
    closure = dependency_closure(graph, pkg.name)
    keys = {n: source_key(registry, registry.get(n), workspace) for n in {pkg.name, *closure}}
    return _record_path(pkg.name, _verify_key(pkg.name, keys, closure)).is_file()


# --------------------------------------------------------------------------------------------------- results


@dataclass
class PackageResult:
    """The outcome of one package: status, backend, seconds per phase and, on failure, the phase and message."""

    package: str
    version: str = ""
    status: str = "pending"  # passed / failed / skipped / cached
    backend: str = "-"
    phases: dict[str, float] = field(default_factory=dict)
    phase: str | None = None  # the failing phase
    error: str | None = None
    reason: str | None = None  # why it was skipped, or (passed with keep_going) which dependency had failed
    detail: str = ""
    built: bool = False

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())

    @property
    def result(self) -> str:
        if self.status == "failed":
            return f"failed ({self.phase})"
        if self.status in {"skipped", "passed"} and self.reason:
            return f"{self.status}: {self.reason}"
        return self.status

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "package": self.package,
            "version": self.version,
            "result": self.result,
            "backend": self.backend,
        }
        for phase in PHASES:
            row[phase] = self.phases.get(phase)
        row["total"] = self.seconds if self.phases else None
        return row


@dataclass
class VerifyReport:
    """Per-package results in release order, the number of builds made and the wall time."""

    results: list[PackageResult]
    seconds: float = 0.0
    builds: int = 0
    wheelhouse: Path | None = None

    @property
    def ok(self) -> bool:
        return all(r.status in {"passed", "cached"} for r in self.results)

    def get(self, name: str) -> PackageResult:
        return next(r for r in self.results if r.package == name)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.results if r.status == s) for s in STATUSES}

    def summary(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        return f"{counts}; {self.builds} build(s) in {self.seconds:.1f}s; wheelhouse {self.wheelhouse}"

    def render(self) -> str:
        lines = [table([r.row() for r in self.results])]
        failures = [r for r in self.results if r.status == "failed"]
        if failures:
            lines.append("")
            for r in failures:
                lines.append(f"{r.package} [{r.phase}]: {r.error}")
                if r.detail:
                    lines.extend(f"    {line}" for line in r.detail.splitlines())
        lines.append("")
        lines.append(("verify-all passed: " if self.ok else "verify-all FAILED: ") + self.summary())
        return "\n".join(lines)

    def to_json(self) -> str:
        return to_json(
            {
                "ok": self.ok,
                "seconds": round(self.seconds, 2),
                "builds": self.builds,
                "wheelhouse": str(self.wheelhouse),
                "results": [asdict(r) for r in self.results],
            }
        )


@contextlib.contextmanager
def _phase(result: PackageResult, name: str) -> Iterator[None]:
    """Time a phase (times add up when a phase is entered again) and remember it as the current one."""
    result.phase = name
    start = time.monotonic()
    try:
        yield
    finally:
        result.phases[name] = result.phases.get(name, 0.0) + time.monotonic() - start


# --------------------------------------------------------------------------------------------------- static pre-check


def _marker_env(python_full: str) -> dict[str, str]:
    return {"python_version": ".".join(python_full.split(".")[:2]), "python_full_version": python_full}


def requirement_closure(
    wheels: Mapping[str, Path], root: str, extras: Iterable[str], python_full: str
) -> list[tuple[str, Requirement]]:
    """Requirements an install of ``root[extras]`` brings, following Juniper siblings through their local wheels.

    ``wheels`` maps canonical names to wheel paths. Each item is (the canonical name requiring it, requirement).
    """
    base = _marker_env(python_full)
    todo = [(canonicalize_name(root), frozenset(canonicalize_name(e) for e in extras))]
    seen: set[tuple[str, frozenset[str]]] = set()
    out: list[tuple[str, Requirement]] = []
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        name, active = item
        for req in wheel_requirements(wheels[name]):
            if req.marker and not any(req.marker.evaluate({**base, "extra": e}) for e in ("", *active)):
                continue
            out.append((name, req))
            target = canonicalize_name(req.name)
            if target in wheels:
                todo.append((target, frozenset(canonicalize_name(e) for e in req.extras)))
    return out


def precheck(
    registry: Registry, pkg: Package, wheels: Mapping[str, BuildResult], python_full: str
) -> list[tuple[str, Requirement]]:
    """Static checks before anything is installed; returns the requirement closure (base and configured extras)."""
    own = wheels[pkg.name]
    meta = wheel_metadata(own.wheel)
    requires_python = meta.get("Requires-Python")
    if requires_python and not SpecifierSet(str(requires_python)).contains(python_full, prereleases=True):
        raise VerifyError(
            f"{pkg.name} requires Python {requires_python} but repos.toml sets python = {pkg.python!r} "
            f"(Python {python_full} here)",
            f"set python for {pkg.name} in repos.toml to a version that satisfies {requires_python}, "
            "or widen requires-python in its pyproject.toml",
        )
    declared = wheel_extras(own.wheel)
    for extra in pkg.extras:
        if canonicalize_name(extra) not in declared:
            raise VerifyError(
                f"repos.toml lists extra [{extra}] for {pkg.name} but its wheel declares "
                f"{', '.join(sorted(declared)) or 'no extras'}",
                f"add [project.optional-dependencies] {extra} to {pkg.name}, or remove it from repos.toml",
            )
    by_canon = {canonicalize_name(n): b for n, b in wheels.items()}
    closure = requirement_closure({c: b.wheel for c, b in by_canon.items()}, pkg.name, pkg.extras, python_full)
    cpu = Version(registry.torch.version)
    for via, req in closure:
        target = canonicalize_name(req.name)
        if target in by_canon:
            local = Version(by_canon[target].version)
            if not req.specifier.contains(local, prereleases=True):
                raise VerifyError(
                    f"{via} requires {req.name}{req.specifier} but the local build of {req.name} is {local}",
                    f"widen the requirement in {via}'s pyproject.toml to admit {local}, or fix {req.name}'s version",
                )
        if target == "torch":
            if not pkg.torch:
                raise CudaTorchError(
                    f"{pkg.name} pulls in torch ({via}: {req}) but repos.toml says torch = false, so the install "
                    "would fetch the CUDA build from PyPI; nothing was installed",
                    f"set torch = true for {pkg.name} in repos.toml so CPU torch is installed first",
                )
            if not req.specifier.contains(cpu, prereleases=True):
                raise CudaTorchError(
                    f"{via} requires {req.name}{req.specifier} but the CPU build available is torch {cpu}; installing "
                    "it would pull "
                    "the CUDA build from PyPI; nothing was downloaded",
                    f"relax the torch requirement to admit {cpu}, or point [torch] version / JUNIPER_TORCH_SOURCE "
                    "at a CPU build that satisfies it",
                )
    return closure


# --------------------------------------------------------------------------------------------------- one package


def _site_packages(env: Env) -> Path:
    return env.path / "lib" / f"python{env.python_version}" / "site-packages"


def provenance_mismatches(env: Env, wheel: Path) -> list[str]:
    """Files of ``wheel`` whose installed copy differs (so the distribution came from somewhere else)."""
    with zipfile.ZipFile(wheel) as zf:
        record_name = next(n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/RECORD"))
        rows = list(csv.reader(io.StringIO(zf.read(record_name).decode("utf-8"))))
    site = _site_packages(env)
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


_IMPORT_SCRIPT = """
import importlib, json, sys, warnings
warnings.simplefilter("ignore")
out = {}
for name in sys.argv[1:]:
    try:
        mod = importlib.import_module(name)
        version = getattr(mod, "__version__", None)
        out[name] = {"ok": True, "version": None if version is None else str(version)}
    except BaseException as exc:
        out[name] = {"ok": False, "error": type(exc).__name__ + ": " + str(exc)}
print("JUNIPER-IMPORTS " + json.dumps(out))
"""


def import_modules(env: Env, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Import each module in one interpreter of ``env``: name -> {ok, version | error}."""
    proc = run(
        [env.python, "-c", _IMPORT_SCRIPT, *names],
        env=tool_env(),
        what="import check",
        timeout=COMMAND_TIMEOUT,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("JUNIPER-IMPORTS "):
            return dict(json.loads(line.split(" ", 1)[1]))
    raise VerifyError("the import check printed no result", "run the import in the environment by hand")


def _parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _check_imports(env: Env, pkg: Package, project: Project) -> None:
    results = import_modules(env, pkg.imports)
    for name, res in results.items():
        if not res["ok"]:
            raise VerifyError(
                f"import {name} failed in a fresh environment: {res['error']}",
                f"declare the missing dependency in {pkg.name}'s pyproject.toml or fix the import",
            )
        if res["version"] is not None and _parse_version(res["version"]) != project.version:
            raise VerifyError(
                f"installed {name}.__version__ is {res['version']} but pyproject.toml says {project.version}",
                f"set __version__ = '{project.version}' or derive it with importlib.metadata.version('{pkg.name}')",
            )


def _check_meta_extras(env: Env, pkg: Package, registry: Registry, wheels: Mapping[str, BuildResult], py: str) -> None:
    """For a meta-package: every configured extra's Juniper packages import."""
    by_canon: dict[str, Path] = {canonicalize_name(n): b.wheel for n, b in wheels.items()}
    wanted: dict[str, list[str]] = {}
    for extra in pkg.extras:
        for _, req in requirement_closure(by_canon, pkg.name, [extra], py):
            sibling = registry.find(req.name)
            if sibling and sibling.name != pkg.name:
                for mod in sibling.imports:
                    wanted.setdefault(mod, [])
                    if extra not in wanted[mod]:
                        wanted[mod].append(extra)
    results = import_modules(env, sorted(wanted))
    for mod, res in results.items():
        if not res["ok"]:
            extras = ", ".join(f"[{e}]" for e in wanted[mod])
            raise VerifyError(
                f"{pkg.name}{extras}: import {mod} failed: {res['error']}",
                f"fix the package providing {mod}, or the extra's requirements",
            )


def _env_vars(env: Env) -> dict[str, str]:
    base = tool_env()
    base["PATH"] = f"{env.path / 'bin'}:{base.get('PATH', '')}"
    base["VIRTUAL_ENV"] = str(env.path)
    return base


def _check_commands(env: Env, pkg: Package, wheel: Path) -> None:
    for script in console_scripts(wheel):
        run(
            [env.bin(script), "--help"],
            env=_env_vars(env),
            what=f"console script `{script} --help`",
            fix=f"fix the [project.scripts] entry point {script} so `{script} --help` exits 0",
            timeout=COMMAND_TIMEOUT,
        )
    for command in pkg.smoke:
        argv = shlex.split(command)
        if argv and env.bin(argv[0]).exists():
            argv[0] = str(env.bin(argv[0]))
        run(
            argv,
            env=_env_vars(env),
            cwd=env.path,
            what=f"smoke command `{command}`",
            fix=f"fix {pkg.name}, or the smoke command in repos.toml",
            timeout=COMMAND_TIMEOUT,
        )


def _install_args(env: Env, spec_name: str, built: BuildResult, extra: str | None) -> list[str]:
    if env.backend == "uv":
        label = f"{spec_name}[{extra}]" if extra else spec_name
        return [f"{label} @ {built.wheel.resolve().as_uri()}"]
    return [f"{built.wheel}[{extra}]" if extra else str(built.wheel)]


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


def verify_package(
    registry: Registry,
    pkg: Package,
    workspace: Path,
    wheels: Mapping[str, BuildResult],
    result: PackageResult,
    *,
    env_dir: Path,
    log: Callable[[str], None] = lambda _msg: None,
    prefer_uv: bool = True,
) -> Env:
    """Verify the local build of ``pkg`` in a fresh environment at ``env_dir``; the phases land on ``result``.

    ``wheels`` maps registry names to local builds: the package itself and every sibling it may install.
    """
    project = read_project(require_checkout(pkg, workspace))
    built = wheels[pkg.name]
    with _phase(result, "env"):
        env = create_env(env_dir, pkg.python, prefer_uv=prefer_uv)
        result.backend = env.backend
        python_full = env.run_python("import platform; print(platform.python_version())", what="probe Python").strip()
    with _phase(result, "install"):
        precheck(registry, pkg, wheels, python_full)
    if pkg.torch:
        with _phase(result, "env"):
            source = env.install_cpu_torch(registry.torch)
            log(f"CPU torch from {source}")
    with _phase(result, "install"):
        lines, options = _constraints(env, pkg, wheels)
        constraints = env.path / "juniper-constraints.txt"
        constraints.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if pkg.torch:
            plan = torch_plan(registry.torch, pkg.python)
            if plan.options[0] == "--find-links":
                options += list(plan.options)
        common = ["-c", str(constraints), *options]
        _install(env, pkg, [*_install_args(env, pkg.name, built, None), *common], "installing the wheel")
        _check_installed(env, pkg, wheels, "installing the wheel")
    with _phase(result, "smoke"):
        if pkg.imports:
            _check_imports(env, pkg, project)
    with _phase(result, "install"):
        for extra in pkg.extras:
            _install(env, pkg, [*_install_args(env, pkg.name, built, extra), *common], f"installing [{extra}]")
        if pkg.extras:
            _check_installed(env, pkg, wheels, "installing the extras")
        env.pip_check()
    with _phase(result, "smoke"):
        if pkg.is_meta:
            _check_meta_extras(env, pkg, registry, wheels, python_full)
        elif pkg.extras:
            _check_imports(env, pkg, project)
        _check_commands(env, pkg, built.wheel)
    return env


def _install(env: Env, pkg: Package, args: list[str], what: str) -> None:
    try:
        env.install(args, what=f"{what} ({env.backend})")
    except CommandError as exc:
        if "torch" in exc.what:
            raise CudaTorchError(
                f"{what} needs a torch other than the pinned CPU build ({exc.what}); nothing CUDA was downloaded",
                f"make {pkg.name}'s torch requirement admit the CPU build {env.torch_constraint() or '(none)'}, "
                "or set torch = true in repos.toml",
            ) from None
        raise VerifyError(
            exc.what,
            f"make {pkg.name}'s requirements installable: check the ranges against the local sibling versions and PyPI",
        ) from None


# --------------------------------------------------------------------------------------------------- verify-all


def _default_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _message(name: str, exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, JuniperError):
        what = exc.what[len(name) + 2 :] if exc.what.startswith(f"{name}: ") else exc.what
        text = f"{what}. Fix: {exc.fix}" if exc.fix else what
        return text, str(getattr(exc, "detail", ""))
    return f"internal error: {type(exc).__name__}: {exc}. Fix: report this as a bug in juniper-release", ""


@dataclass
class _Run:
    """State shared by the build and verify jobs of one ``verify_all`` call."""

    registry: Registry
    workspace: Path
    keys: dict[str, str]
    results: dict[str, PackageResult]
    builds: dict[str, BuildResult] = field(default_factory=dict)
    build_errors: dict[str, str] = field(default_factory=dict)
    built: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    log: Callable[[str], None] = _default_log

    def say(self, name: str, message: str) -> None:
        with self.lock:
            self.log(f"[{name}] {message}")


def verified_artifacts(registry: Registry, pkg: Package, workspace: Path) -> BuildResult | None:
    """The wheelhouse build of ``pkg`` if it was verified and built from exactly the checkout's current content.

    This is how a release uploads the very files ``verify`` installed and smoke-tested, instead of a rebuild.
    """
    if not is_verified(registry, pkg, workspace):
        return None
    built = load_build(pkg, wheelhouse_dir() / pkg.name)
    if built is None or built.manifest.get("source_key") != source_key(registry, pkg, workspace):
        return None
    return built


def build_into_wheelhouse(registry: Registry, pkg: Package, workspace: Path, key: str | None = None) -> BuildResult:
    """Build ``pkg`` into its wheelhouse folder, recording its source key in the manifest."""
    key = key or source_key(registry, pkg, workspace)
    return build_package(registry, pkg, workspace, wheelhouse_dir() / pkg.name, source_key=key)


def _build_job(run_: _Run, name: str) -> bool:
    pkg = run_.registry.get(name)
    result = run_.results.get(name)
    run_.say(name, "build ...")
    start = time.monotonic()
    try:
        built = build_into_wheelhouse(run_.registry, pkg, run_.workspace, run_.keys[name])
    except Exception as exc:
        text, detail = _message(name, exc)
        run_.build_errors[name] = text
        if result is not None:
            result.phases["build"] = time.monotonic() - start
            with contextlib.suppress(JuniperError):
                result.version = str(read_project(require_checkout(pkg, run_.workspace)).version)
            result.status, result.phase, result.error, result.detail = "failed", "build", text, detail
        run_.say(name, f"build FAILED: {text}")
        return False
    with run_.lock:
        run_.builds[name] = built
        run_.built += 1
    if result is not None:
        result.phases["build"] = built.seconds
        result.built = True
        result.version = built.version
    run_.say(name, f"built {Path(built.sdist).name}, {Path(built.wheel).name} ({built.seconds:.1f}s)")
    return True


def _verify_job(run_: _Run, name: str, closure: set[str], vkey: str) -> bool:
    pkg = run_.registry.get(name)
    result = run_.results[name]
    result.version = run_.builds[name].version
    wheels = {n: run_.builds[n] for n in sorted({name, *closure}) if n in run_.builds}
    env_dir = _envs_dir() / f"{name}-{uuid.uuid4().hex[:8]}"
    for stale in _envs_dir().glob(f"{name}-*") if _envs_dir().is_dir() else ():
        if stale.is_dir() and stale.name[len(name) + 1 :].isalnum() and len(stale.name) == len(name) + 9:
            shutil.rmtree(stale, ignore_errors=True)
    failed_deps = sorted(d for d in closure if d in run_.results and run_.results[d].status in {"failed", "skipped"})
    run_.say(name, "verify ..." + (f" (against failed {', '.join(failed_deps)}: --keep-going)" if failed_deps else ""))
    try:
        env = verify_package(
            run_.registry,
            pkg,
            run_.workspace,
            wheels,
            result,
            env_dir=env_dir,
            log=lambda msg: run_.say(name, msg),
        )
    except Exception as exc:
        text, detail = _message(name, exc)
        result.status, result.error, result.detail = "failed", text, detail
        run_.say(name, f"{result.phase} FAILED: {text} (environment kept at {env_dir})")
        return False
    result.status, result.phase = "passed", None
    if failed_deps:
        # Verified against a dependency that itself failed: a real result, but not one the cache may trust.
        result.reason = f"against failed {', '.join(failed_deps)}, not cached"
    else:
        record = _record_path(name, vkey)
        record.parent.mkdir(parents=True, exist_ok=True)
        write_manifest(
            record,
            {
                "package": name,
                "version": result.version,
                "source_key": run_.keys[name],
                "verify_key": vkey,
                "backend": env.backend,
                "verified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
    shutil.rmtree(env.path, ignore_errors=True)
    run_.say(name, f"passed ({result.seconds:.1f}s, {env.backend})")
    return True


def _declared_version(registry: Registry, name: str, workspace: Path) -> str:
    """The pyproject version, for a package that was neither built nor verified ('' when unreadable)."""
    try:
        return str(read_project(require_checkout(registry.get(name), workspace)).version)
    except JuniperError:
        return ""


def _jobs_default() -> int:
    import os

    return max(1, min(2, os.cpu_count() or 1))


def verify_all(
    registry: Registry,
    workspace: Path,
    packages: Iterable[str] | None = None,
    *,
    force: bool = False,
    keep_going: bool = False,
    jobs: int | None = None,
    log: Callable[[str], None] | None = None,
) -> VerifyReport:
    """Build and verify ``packages`` (default: all) in release order; see the module docstring.

    Independent work runs on ``jobs`` worker threads (default: up to 2). A failing package never hides the others:
    every package that does not depend on it is verified. Its dependents are reported as "skipped: dependency
    failed", unless ``keep_going`` (``--keep-going``): then a dependent of a package that *built* but failed
    verification is verified anyway, against that package's wheel, and reported as "passed: against failed X, not
    cached" (or failed); such a pass is not recorded in the cache. A failed build still skips its dependents: there
    is no wheel to verify them against. Verifying a subset builds (but does not verify) the Juniper packages it
    depends on.
    """
    start = time.monotonic()
    graph = build_graph(registry, workspace)
    order = graph.release_order()
    wanted = {registry.get(n).name for n in packages} if packages is not None else set(registry.names)
    selected = [p.name for p in order if p.name in wanted]
    closures = {n: dependency_closure(graph, n) for n in selected}
    needed = {n for s in selected for n in {s, *closures[s]}}
    keys = {n: source_key(registry, registry.get(n), workspace) for n in sorted(needed)}
    layers = graph.computed_layers()
    results = {n: PackageResult(n) for n in selected}
    run_ = _Run(registry, workspace, keys, results, log=log or _default_log)

    to_build: list[str] = []
    for name in sorted(needed, key=lambda n: (layers[n], n)):
        reused = None if force else load_build(registry.get(name), wheelhouse_dir() / name)
        if reused is not None and reused.manifest.get("source_key") == keys[name]:
            run_.builds[name] = reused
        else:
            to_build.append(name)

    vkeys = {n: _verify_key(n, keys, closures[n]) for n in selected}
    for name in selected:
        res = results[name]
        record = _record_path(name, vkeys[name])
        if name in run_.builds and record.is_file():
            res.status, res.version = "cached", run_.builds[name].version
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                res.backend = str(json.loads(record.read_text(encoding="utf-8"))["backend"])
            run_.say(name, "cached (source unchanged since its last successful verify)")
    to_verify = [n for n in selected if results[n].status == "pending"]
    # Each task: (prerequisites that must succeed, prerequisites that need only have finished, job).
    tasks: dict[str, _Task] = {}
    for name in to_build:
        tasks[f"build:{name}"] = (set(), set(), lambda n=name: _build_job(run_, n))  # type: ignore[misc]
    for name in to_verify:
        builds = {f"build:{n}" for n in {name, *closures[name]} if n in to_build}
        verifies = {f"verify:{d}" for d in closures[name] if d in to_verify}
        job = functools.partial(_verify_job, run_, name, closures[name], vkeys[name])
        tasks[f"verify:{name}"] = (builds, verifies, job) if keep_going else (builds | verifies, set(), job)

    _schedule(run_, tasks, layers, jobs or _jobs_default())

    # Anything still pending was not run (every task ends done or skipped, so this is a safety net).
    for name in selected:
        res = results[name]
        if res.status == "pending":
            res.status = "skipped"
            res.reason = res.reason or "not run"
        if not res.version:
            res.version = (
                run_.builds[name].version if name in run_.builds else _declared_version(registry, name, workspace)
            )
    _write_wheelhouse_manifest(run_)
    return VerifyReport([results[n] for n in selected], time.monotonic() - start, run_.built, wheelhouse_dir())


_Task = tuple[set[str], set[str], Callable[[], bool]]


def _schedule(run_: _Run, tasks: Mapping[str, _Task], layers: Mapping[str, int], jobs: int) -> None:
    """Run ``tasks`` (id -> hard prerequisites, soft prerequisites, job) on ``jobs`` threads.

    A task starts once its hard prerequisites succeeded and its soft ones finished; a failed hard prerequisite skips it.
    """
    pending = dict(tasks)
    done: dict[str, bool] = {}
    running: dict[Future[bool], str] = {}

    def priority(task_id: str) -> tuple[int, int, str]:
        kind, name = task_id.split(":", 1)
        return (layers[name], 0 if kind == "verify" else 1, name)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            changed = True
            while changed:
                changed = False
                for task_id in sorted(pending, key=priority):
                    hard, soft, job = pending[task_id]
                    failed = sorted(p for p in hard if done.get(p) is False)
                    if failed:
                        del pending[task_id]
                        done[task_id] = False
                        changed = True
                        _mark_skipped(run_, task_id, failed)
                    elif all(done.get(p) for p in hard) and all(p in done for p in soft) and len(running) < jobs:
                        del pending[task_id]
                        running[pool.submit(job)] = task_id
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                task_id = running.pop(future)
                try:
                    ok = future.result()
                except Exception as exc:  # a bug in a job: report it, keep the others going
                    _, name = task_id.split(":", 1)
                    run_.say(name, f"internal error: {exc!r}")
                    ok = False
                done[task_id] = ok


def _mark_skipped(run_: _Run, task_id: str, failed: list[str]) -> None:
    kind, name = task_id.split(":", 1)
    result = run_.results.get(name)
    if kind != "verify" or result is None or result.status != "pending":
        return
    culprits = sorted({f.split(":", 1)[1] for f in failed} - {name})
    result.status = "skipped"
    if culprits:
        result.reason = f"dependency failed ({', '.join(culprits)})"
    run_.say(name, f"skipped: {result.reason}")


def _write_wheelhouse_manifest(run_: _Run) -> None:
    house = wheelhouse_dir()
    entries = []
    for name in run_.registry.names:
        built = load_build(run_.registry.get(name), house / name)
        if built is not None:
            entries.append(built.manifest)
    if entries:
        house.mkdir(parents=True, exist_ok=True)
        write_manifest(house / "manifest.json", {"packages": entries})


__all__ = [
    "PHASES",
    "BuildError",
    "PackageResult",
    "VerifyReport",
    "build_into_wheelhouse",
    "clean_cache",
    "is_verified",
    "source_key",
    "verify_all",
    "verify_package",
]
