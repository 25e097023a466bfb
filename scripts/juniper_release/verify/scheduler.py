"""``verify-all``: build and verify packages in dependency order, in parallel where the graph allows, with the cache.

Every package needed (the selected ones and the Juniper packages they depend on) is built into the shared wheelhouse,
unless the wheelhouse already holds a build of its current source key. A selected package whose verify key has a
recorded success is reported as ``cached``; the others are verified (``verify.install``) as soon as their own wheel
and their dependencies' wheels are built, and settled once their dependencies are: a failed dependency makes its
dependents "skipped: dependency failed", as if they had waited. ``force=True`` rebuilds and re-verifies everything.

One run at a time works on a cache directory (a lock; a second run waits, then refuses naming the holder's PID).
Ctrl-C or SIGTERM ends the run as an interruption (exit 130/143): no package is reported or cached as failed or
passed because of it, and no job starts another command after it (:func:`interrupts.refuse_new_command`).
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from juniper_release import interrupts
from juniper_release.ecosystem.graph import build_graph
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import Registry, cache_dir, missing_packages, require_checkout
from juniper_release.errors import JuniperError
from juniper_release.files import locked
from juniper_release.output import table, to_json
from juniper_release.verify.build import (
    BuildEnvs,
    BuildResult,
    build_log_path,
    load_build,
    warnings_line,
    write_manifest,
)
from juniper_release.verify.cache import (
    build_into_wheelhouse,
    dependency_closure,
    envs_dir,
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

LOCK = "verify.lock"
PHASES = ("build", "env", "install", "smoke")
STATUSES = ("passed", "failed", "skipped", "cached")


# --------------------------------------------------------------------------------------------------- results


@dataclass
class PackageResult:
    """The outcome of one package: status, backend, seconds per phase and, on failure, the phase and message."""

    package: str
    version: str = ""
    python: str = ""
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
            "python": self.python or "-",
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


# --------------------------------------------------------------------------------------------------- verify-all


def _default_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


@dataclass
class _Run:
    """State shared by the build and verify jobs of one ``verify_all`` call."""

    registry: Registry
    workspace: Path
    keys: dict[str, str]
    results: dict[str, PackageResult]
    pythons: dict[str, str | None] = field(default_factory=dict)
    request: str | None = None
    builds: dict[str, BuildResult] = field(default_factory=dict)
    built: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    log: Callable[[str], None] = _default_log
    build_envs: BuildEnvs | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    passes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Cache records of verifications that passed, held until the package's verdict (its dependencies' outcome)."""
    active: int = 0
    """Jobs running on a worker thread now (see :func:`_tracked`)."""
    idle: threading.Condition = field(default_factory=threading.Condition)

    def interrupted(self) -> bool:
        """The run is being interrupted: a job failing now reports nothing, a job passing now records nothing."""
        return self.stopping.is_set() or interrupts.was_interrupted(0.5)

    def stopped(self, name: str, what: str) -> bool:
        """Whether ``what`` must not start because the run is being interrupted; if so, ``name`` is marked so."""
        if not (self.stopping.is_set() or interrupts.INTERRUPTED.is_set()):
            return False
        self.mark_interrupted(name, f"{what} not started: the run is being interrupted")
        return True

    def mark_interrupted(self, name: str, message: str) -> None:
        """``name`` was cut short by the interruption: neither passed nor failed (``message`` is logged)."""
        result = self.results.get(name)
        if result is not None and result.status == "pending":
            result.status, result.reason = "skipped", "interrupted"
        self.say(name, message)

    def failed_among(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` that are selected packages which failed or were skipped, sorted."""
        return sorted(n for n in names if n in self.results and self.results[n].status in {"failed", "skipped"})

    def skip_behind(self, name: str, culprits: Sequence[str], note: str = "") -> None:
        """``name`` is "skipped: dependency failed (...)" because of ``culprits`` (nothing of its own is reported)."""
        result = self.results[name]
        result.status, result.phase, result.error, result.detail = "skipped", None, None, ""
        result.reason = f"dependency failed ({', '.join(culprits)})"
        self.say(name, f"skipped: {result.reason}{note}")

    def say(self, name: str, message: str) -> None:
        with self.lock:
            self.log(f"[{name}] {message}")


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
) -> VerifyReport:
    """Build and verify ``packages`` (default: all) in release order; see the module docstring.

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
            return _verify_all(registry, workspace, packages, force, keep_going, jobs, say, pythons, python)
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
    log: Callable[[str], None],
    pythons: Mapping[str, str] | None,
    python: str | None,
) -> VerifyReport:
    start = time.monotonic()
    plan = _plan(registry, workspace, packages)
    if packages is None:
        report_missing(registry, workspace, log)
    keys = {n: source_key(registry, registry.get(n), workspace) for n in sorted(plan.needed)}
    chosen = {n: (pythons or {}).get(n) or default_python(registry.get(n), workspace, python) for n in plan.selected}
    results = {n: PackageResult(n, python=chosen[n] or "") for n in plan.selected}
    run_ = _Run(registry, workspace, keys, results, chosen, python, log=log)
    to_build = _reuse_builds(run_, plan, force)
    vkeys = {n: verify_key(n, keys, plan.closures[n], chosen[n]) for n in plan.selected}
    _mark_cached(run_, plan.selected, vkeys)
    with BuildEnvs() as run_.build_envs:
        _schedule(run_, _tasks(run_, plan, to_build, vkeys, keep_going), _priorities(plan), jobs or _jobs_default())
    _settle(run_, plan.selected)
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


_Task = tuple[set[str], set[str], Callable[[], bool]]
"""(prerequisites that must succeed, prerequisites that need only have finished, job)."""


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
        return False  # failed, or skipped behind a failed build: already reported
    result.status, result.phase = "passed", None
    if failed_deps:
        # Verified against a dependency that itself failed: a real result, but not one the cache may trust.
        result.reason = f"against failed {', '.join(failed_deps)}, not cached"
    else:
        record_success(name, vkey, entry)
    run_.say(name, f"passed ({result.seconds:.1f}s, {entry['backend']})")
    return True


# --------------------------------------------------------------------------------------------------- scheduling


def _tracked(run_: _Run, job: Callable[[], bool]) -> bool:
    """Run ``job`` counted in ``run_.active``, so an interrupted run can wait for every job that started.

    The pool alone cannot say: Ctrl-C landing inside ``pool.submit`` leaves a started worker thread untracked, and
    the job would outlive the run.
    """
    with run_.idle:
        run_.active += 1
    try:
        return job()
    finally:
        with run_.idle:
            run_.active -= 1
            run_.idle.notify_all()


def _schedule(
    run_: _Run, tasks: Mapping[str, _Task], priorities: Mapping[str, tuple[int, int, str]], jobs: int
) -> None:
    """Run ``tasks`` (id -> hard prerequisites, soft prerequisites, job) on ``jobs`` threads.

    A task starts once its hard prerequisites succeeded and its soft ones finished; a failed hard prerequisite skips it.
    """
    pending = dict(tasks)
    done: dict[str, bool] = {}
    running: dict[Future[bool], str] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        try:
            while pending or running:
                for task_id in _ready(run_, pending, done, priorities, jobs - len(running)):
                    running[pool.submit(_tracked, run_, pending.pop(task_id)[2])] = task_id
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    task_id = running.pop(future)
                    done[task_id] = _outcome(run_, task_id, future)
        except KeyboardInterrupt:
            # Nothing new starts (a job checks run_.stopping first, a command refuses once interrupted); the running
            # jobs' children got the signal too (SIGTERM is passed on to them). Wait for the running jobs to end.
            run_.stopping.set()
            pool.shutdown(wait=False, cancel_futures=True)
            with run_.idle:
                run_.log(f"interrupted: stopping {run_.active} running job(s) ...")
                run_.idle.wait_for(lambda: run_.active == 0)
            raise


def _ready(
    run_: _Run,
    pending: dict[str, _Task],
    done: dict[str, bool],
    priorities: Mapping[str, tuple[int, int, str]],
    slots: int,
) -> list[str]:
    """Tasks to start now (at most ``slots``), by ``priorities``; tasks behind a failed hard prerequisite are skipped.

    Skipping marks the task done (failed), which may skip others in turn: repeat until nothing changes.
    """
    priority = priorities.__getitem__
    ready: list[str] = []
    changed = True
    while changed:
        changed = False
        for task_id in sorted(set(pending) - set(ready), key=priority):
            hard, soft, _ = pending[task_id]
            failed = sorted(p for p in hard if done.get(p) is False)
            if failed:
                del pending[task_id]
                done[task_id] = False
                changed = True
                _mark_skipped(run_, task_id, failed)
            elif all(done.get(p) for p in hard) and all(p in done for p in soft) and len(ready) < slots:
                ready.append(task_id)
    return ready


def _outcome(run_: _Run, task_id: str, future: Future[bool]) -> bool:
    try:
        return future.result()
    except Exception as exc:  # a bug in a job: report it, keep the others going
        run_.say(task_id.split(":", 1)[1], f"internal error: {exc!r}")
        return False


def _mark_skipped(run_: _Run, task_id: str, failed: list[str]) -> None:
    kind, name = task_id.split(":", 1)
    result = run_.results.get(name)
    if kind != "verify" or result is None or result.status != "pending":
        return
    culprits = sorted({f.split(":", 1)[1] for f in failed} - {name})
    if culprits:
        run_.skip_behind(name, culprits)
    else:
        result.status = "skipped"
        run_.say(name, f"skipped: {result.reason}")


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
