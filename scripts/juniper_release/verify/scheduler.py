"""``verify-all``: build and verify packages in dependency order, in parallel where the graph allows, with the cache.

Every package needed (the selected ones and the Juniper packages they depend on) is built into the shared wheelhouse,
unless the wheelhouse already holds a build of its current source key. A selected package whose verify key has a
recorded success is reported as ``cached``; the others are verified (``verify.install``) as soon as their own wheel
and their dependencies' wheels are built, and settled once their dependencies are: a failed dependency makes its
dependents "skipped: dependency failed", as if they had waited. ``force=True`` rebuilds and re-verifies everything.

One run at a time works on a cache directory (a lock; a second run waits, then refuses naming the holder's PID).
Ctrl-C or SIGTERM ends the run as an interruption (exit 130/143): no package is reported or cached as failed or
passed because of it, and no job starts another command after it (:func:`interrupts.refuse_new_command`).

The plan, the jobs and the entry points are here; the results are :mod:`juniper_release.verify.results`, the state a
run's jobs share :mod:`juniper_release.verify.runstate` and the thread pool running them
:mod:`juniper_release.verify.taskgraph`.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from juniper_release import commands, interrupts
from juniper_release.ecosystem.graph import build_graph
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import Registry, cache_dir, missing_packages, require_checkout
from juniper_release.errors import JuniperError
from juniper_release.files import locked
from juniper_release.output import NORMAL, VERBOSE
from juniper_release.progress import Board
from juniper_release.verify import durations
from juniper_release.verify.build import BuildEnvs, build_log_path, load_build, warnings_line, write_manifest
from juniper_release.verify.cache import (
    build_into_wheelhouse,
    dependency_closure,
    envs_dir,
    record_failure,
    record_path,
    record_success,
    recorded_backend,
    reusable_build,
    source_key,
    verify_key,
    wheelhouse_dir,
)
from juniper_release.verify.install import verify_package
from juniper_release.verify.pythons import default_python
from juniper_release.verify.results import PHASES, STATUSES, PackageResult, VerifyReport
from juniper_release.verify.runstate import _default_log, _Run
from juniper_release.verify.taskgraph import _schedule, _Task

# The results, the run state and the task graph live in verify.results, verify.runstate and verify.taskgraph; this
# module stays the one import path (tests reach _Run through it too). The jobs stay here, with the names they use.
__all__ = [
    "JOB_MEMORY",
    "LOCK",
    "PHASES",
    "STATUSES",
    "PackageResult",
    "VerifyReport",
    "record_path",
    "report_missing",
    "verify_all",
]

LOCK = "verify.lock"


# --------------------------------------------------------------------------------------------------- verify-all


JOB_MEMORY = 1 << 30
"""Memory one job may take at its peak (a build, or an install with CPU torch), in bytes."""


def _jobs_default() -> int:
    """One job more than the cores this process may use, and no more than the available memory holds.

    A job waits part of the time on process starts and file copies (two jobs kept two cores about 150% busy), so
    one extra job fills the gaps: on 2 cores a forced run took about 10% less with 3 jobs than with 2, and 4 gained
    nothing more."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        memory = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        memory = (cores + 1) * JOB_MEMORY
    return max(1, min(cores + 1, memory // JOB_MEMORY))


@dataclass(frozen=True)
class _Plan:
    """What one ``verify_all`` call covers: the selected packages in release order and what they depend on."""

    selected: list[str]
    closures: dict[str, set[str]]
    needed: set[str]
    layers: Mapping[str, int]


def verify_all(
    registry: Registry,
    workspace: Path,
    packages: Iterable[str] | None = None,
    *,
    force: bool = False,
    keep_going: bool = False,
    jobs: int | None = None,
    log: Callable[[str], None] | None = None,
    pythons: Mapping[str, str] | None = None,
    python: str | None = None,
    verbosity: int = NORMAL,
) -> VerifyReport:
    """Build and verify ``packages`` (default: all) in release order; see the module docstring.

    Without a ``log``, progress goes to stderr through a :class:`progress.Board` (live on a terminal, with an ETA
    from the durations recorded last time; plain lines elsewhere); ``verbosity`` is ``output.QUIET`` (no progress),
    ``NORMAL`` or ``VERBOSE`` (also every command run).

    Independent work runs on ``jobs`` worker threads (default: cores + 1, bounded by memory). A failing package never
    hides the others: every package that does not depend on it is verified. Its dependents are reported as "skipped: dependency
    failed", unless ``keep_going`` (``--keep-going``): then a dependent of a package that *built* but failed
    verification is verified anyway, against that package's wheel, and reported as "passed: against failed X, not
    cached" (or failed); such a pass is not recorded in the cache. A failed build still skips its dependents: there
    is no wheel to verify them against. Verifying a subset builds (but does not verify) the Juniper packages it
    depends on. ``pythons`` names the Python of a selected package; the others are verified on the first Python the
    request ``python`` (None, ``all`` or a version) chooses for them (``verify.pythons``).
    """
    say = log or _default_log
    try:
        with interrupts.handled(), locked(cache_dir() / LOCK, f"the verify cache {cache_dir()}", say=say):
            return _verify_all(registry, workspace, packages, force, keep_going, jobs, log, pythons, python, verbosity)
    except KeyboardInterrupt as exc:
        raise interrupts.Interrupted(
            f"verify-all was interrupted ({interrupts.signal_name(exc)}); no package was recorded as passed or "
            "failed by this run",
            "re-run it: finished builds are reused",
            signal_exit=interrupts.exit_code(exc),
        ) from None


def report_missing(registry: Registry, workspace: Path, log: Callable[[str], None]) -> set[str]:
    """Log the sub-packages an older checkout does not have yet (never verified, never fatal); their names."""
    absent = {p.name for p in missing_packages(registry, workspace)}
    for name in sorted(absent):
        log(f"[{name}] not verified: its directory is not in this (older) checkout")
    return absent


def _verify_all(
    registry: Registry,
    workspace: Path,
    packages: Iterable[str] | None,
    force: bool,
    keep_going: bool,
    jobs: int | None,
    log: Callable[[str], None] | None,
    pythons: Mapping[str, str] | None,
    python: str | None,
    verbosity: int = NORMAL,
) -> VerifyReport:
    start = time.monotonic()
    plan = _plan(registry, workspace, packages)
    jobs = jobs or _jobs_default()
    board = Board("verify-all", plan.selected, expected=durations.recorded("verify"), jobs=jobs, verbosity=verbosity)
    say = log or (lambda line: board.log(line, important="FAILED" in line))
    if packages is None:
        report_missing(registry, workspace, say)
    keys = {n: source_key(registry, registry.get(n), workspace) for n in sorted(plan.needed)}
    chosen = {n: (pythons or {}).get(n) or default_python(registry.get(n), workspace, python) for n in plan.selected}
    results = {n: PackageResult(n, python=chosen[n] or "") for n in plan.selected}
    board.detail = lambda n: results[n].phase if n in results else None
    run_ = _Run(registry, workspace, keys, results, chosen, python, log=say, board=board)
    with board, commands.tracing(board.log if verbosity >= VERBOSE else None):
        to_build = _reuse_builds(run_, plan, force)
        vkeys = {n: verify_key(n, keys, plan.closures[n], chosen[n]) for n in plan.selected}
        _mark_cached(run_, plan.selected, vkeys)
        with BuildEnvs() as run_.build_envs:
            _schedule(run_, _tasks(run_, plan, to_build, vkeys, keep_going), _priorities(plan), jobs)
        _settle(run_, plan.selected)
    if not run_.stopping.is_set():
        durations.record("verify", {n: s for n, s in board.durations().items() if results[n].status == "passed"})
    _write_wheelhouse_manifest(registry)
    return VerifyReport([results[n] for n in plan.selected], time.monotonic() - start, run_.built, wheelhouse_dir())


def _plan(registry: Registry, workspace: Path, packages: Iterable[str] | None) -> _Plan:
    graph = build_graph(registry, workspace)
    for name in packages or ():
        require_checkout(registry.get(name), workspace)  # a package this checkout lacks is refused, with the reason
    wanted = {registry.get(n).name for n in packages} if packages is not None else set(registry.names)
    selected = [p.name for p in graph.release_order() if p.name in wanted]
    closures = {n: dependency_closure(graph, n) for n in selected}
    needed = {n for s in selected for n in {s, *closures[s]}}
    return _Plan(selected, closures, needed, graph.computed_layers())


def _reuse_builds(run_: _Run, plan: _Plan, force: bool) -> list[str]:
    """Take wheelhouse builds of the current source (unless ``force``); return the packages still to build."""
    to_build: list[str] = []
    for name in sorted(plan.needed, key=lambda n: (plan.layers[n], n)):
        reused = None if force else reusable_build(run_.registry.get(name), run_.keys[name])
        if reused is not None:
            run_.builds[name] = reused
        else:
            to_build.append(name)
    return to_build


def _mark_cached(run_: _Run, selected: list[str], vkeys: Mapping[str, str]) -> None:
    """A package whose build is reused and whose verify key has a recorded success is ``cached``."""
    for name in selected:
        if name in run_.builds and record_path(name, vkeys[name]).is_file():
            res = run_.results[name]
            res.status, res.version = "cached", run_.builds[name].version
            res.backend = recorded_backend(name, vkeys[name]) or res.backend
            run_.say(name, "cached (source unchanged since its last successful verify)")


def _tasks(
    run_: _Run, plan: _Plan, to_build: list[str], vkeys: Mapping[str, str], keep_going: bool
) -> dict[str, _Task]:
    """Build tasks; verify tasks waiting only on the builds of the wheels they install; verdict tasks.

    A package is verified as soon as its own and its dependencies' wheels exist, alongside its dependencies'
    verifications. Its verdict waits for theirs: a dependency that failed turns a pass into "skipped: dependency
    failed" (or, with ``keep_going``, a pass against the failed wheel that is not cached), so the outcome is the one
    of verifying layer by layer, reached sooner.
    """
    tasks: dict[str, _Task] = {}
    for name in to_build:
        tasks[f"build:{name}"] = (set(), set(), functools.partial(_build_job, run_, name))
    to_verify = [n for n in plan.selected if run_.results[n].status == "pending"]
    for name in to_verify:
        closure = plan.closures[name]
        builds = {f"build:{n}" for n in {name, *closure} if n in to_build}
        tasks[f"verify:{name}"] = (builds, set(), functools.partial(_verify_job, run_, name, closure, keep_going))
        verdicts = {f"verdict:{d}" for d in closure if d in to_verify}
        verdict = functools.partial(_verdict_job, run_, name, closure, vkeys[name], keep_going)
        tasks[f"verdict:{name}"] = (set(), {f"verify:{name}", *verdicts}, verdict)
    return tasks


def _priorities(plan: _Plan) -> dict[str, tuple[int, int, str]]:
    """Which ready task starts first: verdicts (instant), then builds in release order (every verification waits on
    them), then verifications with the most to install first (the longest ones; the last of them ends the run)."""
    order: dict[str, tuple[int, int, str]] = {}
    for name in plan.needed:
        order[f"build:{name}"] = (1, plan.layers[name], name)
    for name in plan.selected:
        order[f"verdict:{name}"] = (0, 0, name)
        order[f"verify:{name}"] = (2, -len(plan.closures[name]), name)
    return order


def _settle(run_: _Run, selected: list[str]) -> None:
    """Anything still pending was not run (every task ends done or skipped, so this is a safety net); fill versions."""
    for name in selected:
        res = run_.results[name]
        if res.status == "pending":
            res.status = "skipped"
            res.reason = res.reason or "not run"
        if not res.version:
            built = run_.builds.get(name)
            res.version = built.version if built else _declared_version(run_.registry, name, run_.workspace)


def _declared_version(registry: Registry, name: str, workspace: Path) -> str:
    """The pyproject version, for a package that was neither built nor verified ('' when unreadable)."""
    try:
        return str(read_project(registry.get(name), require_checkout(registry.get(name), workspace)).version)
    except JuniperError:
        return ""


# --------------------------------------------------------------------------------------------------- jobs


def _message(name: str, exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, JuniperError):
        what = exc.what[len(name) + 2 :] if exc.what.startswith(f"{name}: ") else exc.what
        text = f"{what}. Fix: {exc.fix}" if exc.fix else what
        return text, str(getattr(exc, "detail", ""))
    return f"internal error: {type(exc).__name__}: {exc}. Fix: report this as a bug in juniper-release", ""


def _build_job(run_: _Run, name: str) -> bool:
    if run_.stopped(name, "build"):
        return False
    pkg = run_.registry.get(name)
    result = run_.results.get(name)
    run_.say(name, "build ...")
    start = time.monotonic()
    try:
        built = build_into_wheelhouse(run_.registry, pkg, run_.workspace, run_.keys[name], envs=run_.build_envs)
    except Exception as exc:
        if run_.interrupted():
            run_.mark_interrupted(name, "build interrupted")
            return False
        text, detail = _message(name, exc)
        if result is not None:
            result.phases["build"] = time.monotonic() - start
            result.version = _declared_version(run_.registry, name, run_.workspace)
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
    if built.warnings:
        run_.say(name, f"{warnings_line(built.warnings)} (full log: {build_log_path(pkg)})")
    return True


def _fresh_env_dir(name: str) -> Path:
    """A new environment folder for ``name``, after removing the ones earlier runs kept for ``name``."""
    for stale in envs_dir().glob(f"{name}-*") if envs_dir().is_dir() else ():
        if stale.is_dir() and stale.name[len(name) + 1 :].isalnum() and len(stale.name) == len(name) + 9:
            shutil.rmtree(stale, ignore_errors=True)
    return envs_dir() / f"{name}-{uuid.uuid4().hex[:8]}"


def _verify_job(run_: _Run, name: str, closure: set[str], keep_going: bool) -> bool:
    """Verify ``name`` against the wheels built for it and its dependencies; a pass waits for its verdict.

    Without ``keep_going``, a dependency already known to have failed skips it here, before any work."""
    if run_.stopped(name, "verify"):
        return False
    result = run_.results[name]
    failed = run_.failed_among(closure)
    if failed and not keep_going:
        run_.skip_behind(name, failed)
        return False
    result.version = run_.builds[name].version
    wheels = {n: run_.builds[n] for n in sorted({name, *closure}) if n in run_.builds}
    env_dir = _fresh_env_dir(name)
    run_.say(name, "verify ...")
    try:
        env = verify_package(
            run_.registry,
            run_.registry.get(name),
            run_.workspace,
            wheels,
            result,
            env_dir=env_dir,
            log=lambda msg: run_.say(name, msg),
            python=run_.pythons.get(name),
            request=run_.request,
        )
    except Exception as exc:
        if run_.interrupted():
            run_.mark_interrupted(name, "verify interrupted")
            return False
        text, detail = _message(name, exc)
        result.status, result.error, result.detail = "failed", text, detail
        run_.say(name, f"{result.phase} FAILED: {text} (environment kept at {env_dir})")
        return False
    if run_.stopping.is_set():
        return False  # finished while the run is being interrupted: not recorded
    entry = {"package": name, "version": result.version, "source_key": run_.keys[name], "backend": env.backend}
    entry["python"] = env.python_version
    with run_.lock:
        run_.passes[name] = entry
    shutil.rmtree(env.path, ignore_errors=True)
    return True


def _verdict_job(run_: _Run, name: str, closure: set[str], vkey: str, keep_going: bool) -> bool:
    """Settle ``name`` once its verification and its dependencies' verdicts are in.

    Without ``keep_going`` a failed or skipped dependency skips it, whatever its own verification found (as if it had
    waited for them); with ``keep_going`` its own result stands, and a pass against a failed dependency is not cached.
    A failed build of its own (or of a dependency: no wheel) was already reported and stands.
    """
    result = run_.results[name]
    with run_.lock:
        entry = run_.passes.pop(name, None)
    if run_.interrupted():
        return False
    failed_deps = run_.failed_among(closure)
    ran = entry is not None or (result.status == "failed" and result.phase != "build")
    if failed_deps and not keep_going and ran:
        run_.skip_behind(name, failed_deps, " (its own verification is not reported)")
        return False
    if entry is None:
        if result.status == "failed" and result.error:  # its own failure: the release's halt quotes this line
            record_failure(name, vkey, result.error)
        return False  # failed, or skipped behind a failed build: already reported
    result.status, result.phase = "passed", None
    if failed_deps:
        # Verified against a dependency that itself failed: a real result, but not one the cache may trust.
        result.reason = f"against failed {', '.join(failed_deps)}, not cached"
    else:
        record_success(name, vkey, entry)
    run_.say(name, f"passed ({result.seconds:.1f}s, {entry['backend']})")
    return True


def _write_wheelhouse_manifest(registry: Registry) -> None:
    """``wheelhouse/manifest.json``: the manifest of every package build present in the wheelhouse."""
    house = wheelhouse_dir()
    entries = []
    for pkg in registry.packages:
        built = load_build(pkg, house / pkg.name)
        if built is not None:
            entries.append(built.manifest)
    if entries:
        house.mkdir(parents=True, exist_ok=True)
        write_manifest(house / "manifest.json", {"packages": entries})
