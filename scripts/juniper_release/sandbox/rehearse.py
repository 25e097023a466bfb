"""The rehearsal: the whole release train, executed against throwaway copies of everything.

- throwaway clones of the workspace (default: the stand-in sandbox), each with its own bare ``origin``;
- every package bumped (patch) so there is something to release;
- two real pypiserver instances on 127.0.0.1 standing in for TestPyPI and PyPI, started and stopped here;
- the GitHub adapter pointed at :class:`fakeforge.FakeGitHub`, whose "publish workflow" builds the tag from the bare
  remote and uploads it to the local TestPyPI, verifies it, then to the local PyPI (the CI half of a release).

It ends with a table of what was released where. ``resume=True`` re-uses an interrupted rehearsal's directory; a
set-up that never completed (the state says so only at its end) is redone. A directory that is not empty is used
only if it holds the rehearsal's marker: nothing else is ever deleted. One rehearsal at a time holds the
directory's lock. Real upload tokens are removed from the environment of everything it runs: its throwaway indexes
get a throwaway token.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from juniper_release import interrupts
from juniper_release import output as report
from juniper_release.ecosystem import indexes
from juniper_release.ecosystem.paths import PART_MARKER, cache_part, is_own_part
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import Package, Registry, cache_dir, load_registry
from juniper_release.errors import JuniperError, suggest
from juniper_release.files import locked, read_json, write_json
from juniper_release.github.forge import ENV_API_URL, GitHub
from juniper_release.gitops import Git
from juniper_release.output import NORMAL, QUIET, VERBOSE
from juniper_release.release import publish
from juniper_release.release.options import Options
from juniper_release.release.train import TrainHalted
from juniper_release.release.versioning import apply_edits, commit_and_tag, plan_bump
from juniper_release.sandbox import prflow
from juniper_release.sandbox.fakeforge import FakeGitHub
from juniper_release.sandbox.localindex import LocalIndex, free_port, index_env
from juniper_release.sandbox.rehearse_flows import GITHUB_THROWAWAY, _run_flow, _second_pass, _verify_all
from juniper_release.secrets import SECRET_ENV_VARS
from juniper_release.verify.build import build_tree

STATE = "rehearsal.json"
MARKER = ".juniper-rehearsal"
"""Written first into a rehearsal directory: only a directory holding it is ever emptied by a rehearsal."""
LOCK = ".lock"
SETUP_DONE = "setup_complete"
"""The state key set only once the clones and bumps are all done (a set-up cut short is redone, not resumed)."""
THROWAWAY_TOKEN = "rehearsal-throwaway-token"
"""The upload token the rehearsal's local indexes get (they accept any): never a real one."""


def clone_workspace(registry: Registry, source: Path, dest: Path) -> Path:
    """Throwaway copies: each checkout cloned into a bare remote and a fresh working clone of it."""
    workspace, remotes = dest / "workspace", dest / "remotes"
    for pkg in registry.repos():  # one clone per repository (its sub-packages are in it)
        src = pkg.repo_dir(source)
        if not (src / ".git").exists():
            raise JuniperError(
                f"{pkg.name}: {src} is not a git checkout", f"run `{suggest('invoke clone')}` or use the sandbox"
            )
        bare = remotes / f"{pkg.repo}.git"
        bare.parent.mkdir(parents=True, exist_ok=True)
        Git(dest).run("clone", "--quiet", "--bare", str(src), str(bare))
        Git(dest).run("clone", "--quiet", "--branch", registry.branch, str(bare), str(pkg.repo_dir(workspace)))
        Git(pkg.repo_dir(workspace)).run("fetch", "--quiet", "--tags", "origin")
    return workspace


def bump_all(registry: Registry, workspace: Path, part: str = "patch") -> list[str]:
    """Bump every package and commit it (not tagged: tagging is the release's job), except a package whose version
    comes from git tags: its bump commits the CHANGELOG move and makes the annotated tag, which is its version.

    Judged from reality, so an interrupted rehearsal resumes without bumping twice: a package whose declared version
    has no tag yet (a version from git tags: HEAD on a tag that origin does not have) is already bumped. A bump never
    lands on a version whose tag exists (a checkout of an older commit carries the tags of later releases): the patch
    number is raised past them.
    """
    lines = []
    for pkg in registry.packages:
        root = pkg.checkout(workspace)
        git = Git(root)
        project = read_project(pkg, root)
        current = project.version
        if project.is_vcs:
            pending = not (current.is_devrelease or current.local) and pkg.tag_for(current) not in git.remote_tags()
        else:
            pending = not git.tag_exists(pkg.tag_for(current))
        if pending:
            where = "on origin " if project.is_vcs else ""
            lines.append(f"{pkg.name}: {current} already bumped (no tag {pkg.tag_for(current)} {where}yet)")
            continue
        plan = plan_bump(registry, workspace, pkg.name, part)
        while git.tag_exists(pkg.tag_for(plan.new)):
            v = plan.new
            plan = plan_bump(registry, workspace, pkg.name, to=f"{v.major}.{v.minor}.{v.micro + 1}")
        apply_edits(plan.edits)
        commit_and_tag(plan, registry, workspace, tag=project.is_vcs)
        lines.append(f"{pkg.name}: {plan.old} -> {plan.new}")
    return lines


def workflow_runner(registry: Registry, remotes: Path, work: Path, verify_installs: bool, timeout: float):  # type: ignore[no-untyped-def]
    """The stand-in publish workflow: build the tag from the bare remote, TestPyPI (verified), then PyPI."""

    def runner(repo: str, tag: str, sha: str) -> None:
        in_repo = [p for p in registry.packages if p.repo == repo]
        pkg = next((p for p in in_repo if p.version_from_tag(tag) is not None), in_repo[0])
        version = pkg.version_from_tag(tag)
        if version is None:
            raise JuniperError(f"tag {tag} does not follow {pkg.tag_format}", "fix the tag")
        bare = remotes / f"{repo}.git"
        src = work / f"ci-{pkg.name}-{version}"
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        archive = work / f"ci-{pkg.name}-{version}.tar"
        Git(bare).run("archive", f"--output={archive}", sha, fix=f"check that {sha[:8]} was pushed to {bare}")
        with tarfile.open(archive) as tar:
            tar.extractall(src, filter="data")
        archive.unlink()
        # A lockstep group's one run builds and publishes every member, in layer order (a member's requirements on
        # the others are on the index before it is verified).
        members = sorted(registry.group_members(pkg), key=lambda p: (p.layer, p.name))
        out = {m.name: work / f"ci-dist-{m.name}-{version}" for m in members}
        built = {m.name: sorted(build_tree(m, _tree(src, m), out[m.name], version).artifacts) for m in members}
        chain = ["testpypi"] if version.is_prerelease else ["testpypi", "pypi"]
        if registry.has_prerelease_workflow(pkg) and not version.is_prerelease:
            chain = ["pypi"]  # a pre-release/final pair: the final's workflow publishes to PyPI alone
        for name in chain:
            index = registry.index(name)
            for member in members:
                publish.upload(index, member.name, built[member.name])
                publish.wait_installable(index, member.name, version, timeout)
                if verify_installs and name == "testpypi":
                    publish.verify_install(registry, member, version, index, _tree(src, member), work, log=_quiet)

    return runner


def _tree(src: Path, pkg: Package) -> Path:
    """``pkg``'s directory in ``src``, an export of its repository."""
    return src / pkg.subdir if pkg.subdir else src


def _quiet(_message: str) -> None:
    """A log that keeps nothing (the stand-in workflow's verification)."""


@contextmanager
def _environ(overrides: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the block; restore them afterwards."""
    saved = {k: os.environ.get(k) for k in overrides}
    for k, v in overrides.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def released_table(registry: Registry, workspace: Path, forge: GitHub) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for pkg in registry.packages:
        git = Git(pkg.checkout(workspace))
        version = read_project(pkg, pkg.checkout(workspace)).version
        tag = pkg.tag_for(version)
        on_origin = tag in git.remote_tags()
        rows.append(
            {
                "layer": pkg.layer,
                "package": pkg.name,
                "version": str(version),
                "tag on origin": on_origin,
                "GitHub release": forge.release_by_tag(pkg.repo, tag) is not None,
                "testpypi": indexes.has_version(registry.index("testpypi"), pkg.name, version),
                "pypi": indexes.has_version(registry.index("pypi"), pkg.name, version),
            }
        )
    return sorted(rows, key=lambda r: (int(str(r["layer"])), str(r["package"])))


FLOWS = ("direct", "pr", "lines")


def rehearse(
    registry_path: Path | None,
    source: Path,
    directory: Path | None = None,
    *,
    resume: bool = False,
    mode: str = "github",
    verify_installs: bool = True,
    run_verify: bool = True,
    timeout: float = 300.0,
    out: Callable[[str], None] | None = None,
    fmt: str = "table",
    emit: Callable[[str], None] | None = None,
    flow: str = "direct",
    verbosity: int = NORMAL,
) -> list[dict[str, object]]:
    """Run the whole train with --execute against throwaway remotes, local indexes and the local GitHub stand-in.

    ``flow="pr"`` rehearses the pull-request flow instead of the laptop flow (:mod:`juniper_release.sandbox.prflow`):
    detect, propose, merge on protected branches, release what was merged, publish, and a second pass that opens
    and publishes nothing.

    The train's outcome table (package, version, outcome, reason) goes to ``emit`` (default ``out``); with
    ``fmt="json"`` it is one JSON document ``{"packages": [...]}``, as ``release-train --json`` prints it, and the
    progress and the released-where table go to ``out`` only.

    A digest: one outcome table at the end; the per-package step lines and tables, the verify-all lines and the
    released-where table appear with ``verbosity=VERBOSE`` (``-v``) only (then every command too); ``QUIET`` (``-q``)
    prints only the outcome table. On a terminal the verify-all run and the train show a live progress display.

    Ctrl-C and SIGTERM stop it the same way: children stopped, state kept, the way to resume printed (exit 130/143).
    """
    say = out or print
    if flow not in FLOWS:
        raise JuniperError(f"unknown --flow {flow!r}", f"use one of: {', '.join(FLOWS)}")
    directory = (directory or default_rehearsal_dir()).resolve()
    try:
        with interrupts.handled():
            _claim(directory)
            with locked(directory / LOCK, f"the rehearsal directory {directory}", say=say):
                return _rehearse(
                    registry_path,
                    source,
                    directory,
                    resume,
                    mode,
                    verify_installs,
                    run_verify,
                    timeout,
                    say,
                    (fmt, emit or say),
                    flow,
                    verbosity,
                )
    except (KeyboardInterrupt, interrupts.Interrupted) as exc:
        raise interrupts.Interrupted(
            f"the rehearsal was interrupted; its state is kept in {directory}",
            f"resume it with `{suggest(f'invoke rehearse --resume --dir {directory}')}`",
            signal_exit=exc.exit_code if isinstance(exc, interrupts.Interrupted) else interrupts.exit_code(exc),
        ) from None


def default_rehearsal_dir() -> Path:
    """``rehearsal/`` in the cache dir: a part the tool marks as its own (:func:`cache_part`), so ``nox -s clean``
    removes it. A rehearsal directory from before it carried that marker is adopted by its rehearsal marker."""
    path = cache_dir() / "rehearsal"
    if path.is_dir() and not path.is_symlink() and (path / MARKER).is_file() and not is_own_part(path):
        (path / PART_MARKER).write_text("made by juniper-release: `nox -s clean` may remove this directory\n")
    return cache_part("rehearsal")


def _claim(directory: Path) -> None:
    """Use ``directory`` only if it is new, empty, or a rehearsal's own (its marker): never delete anything else."""
    if (
        directory.exists()
        and not (directory / MARKER).is_file()
        and (not directory.is_dir() or any(p.name != PART_MARKER for p in directory.iterdir()))
    ):
        raise JuniperError(
            f"{directory} exists and is not a rehearsal directory (no {MARKER} in it); refusing to delete it",
            "pass --dir with a new or empty directory",
        )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).touch()


def _load_state(directory: Path, resume: bool, say: Callable[[str], None]) -> dict[str, Any] | None:
    """The state of a rehearsal whose set-up completed, when resuming; None when it must be set up (again)."""
    state_file = directory / STATE
    if not resume:
        return None
    if not state_file.is_file():
        say(f"nothing to resume in {directory}: starting the rehearsal afresh")
        return None
    afresh = f"start the rehearsal afresh: `{suggest(f'invoke rehearse --dir {directory}')}` (no --resume)"
    state = read_json(state_file, afresh)
    if not isinstance(state, dict) or not isinstance(state.get("ports"), dict):
        raise JuniperError(
            f"{state_file}: the state file is damaged (no ports)",
            afresh,
        )
    if not state.get(SETUP_DONE):
        say(f"the rehearsal in {directory} was stopped during its set-up: setting it up afresh")
        return None
    say(f"resuming the rehearsal in {directory}")
    return state


def _set_up(
    registry_path: Path | None, source: Path, directory: Path, say: Callable[[str], None], flow: str = "direct"
) -> dict[str, Any]:
    """Empty the rehearsal's own directory, clone and bump (the PR flow: make one unreleased change of each kind
    instead, the proposals bump); the state says so only once all of that is done."""
    for child in directory.iterdir():
        if child.name not in {MARKER, LOCK}:
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    state: dict[str, Any] = {"ports": {"testpypi": free_port(), "pypi": free_port()}, SETUP_DONE: False, "flow": flow}
    write_json(directory / STATE, state)
    registry = load_registry(registry_path, env={})
    say(f"cloning {source} into throwaway remotes and checkouts under {directory}")
    workspace = clone_workspace(registry, source, directory)
    if flow == "pr":
        state["released"] = prflow.released_tags(registry, workspace)  # what the indexes hold before the changes
        prflow.make_changes(registry, workspace, say)
    elif flow == "lines":
        pass  # each stage bumps its own release (lines_flow)
    else:
        for line in bump_all(registry, workspace):
            say(f"bumped {line}")
    state[SETUP_DONE] = True
    write_json(directory / STATE, state)
    return state


def throwaway_credentials() -> dict[str, str | None]:
    """Environment overrides for everything the rehearsal runs: every real secret removed, throwaway tokens set."""
    scrubbed: dict[str, str | None] = {var: None for var in (*SECRET_ENV_VARS, "TWINE_USERNAME")}
    return {**scrubbed, "JUNIPER_TESTPYPI_TOKEN": THROWAWAY_TOKEN, "JUNIPER_PYPI_TOKEN": THROWAWAY_TOKEN}


def _rehearse(
    registry_path: Path | None,
    source: Path,
    directory: Path,
    resume: bool,
    mode: str,
    verify_installs: bool,
    run_verify: bool,
    timeout: float,
    say: Callable[[str], None],
    table: tuple[str, Callable[[str], None]] = ("table", print),
    flow: str = "direct",
    verbosity: int = NORMAL,
) -> list[dict[str, object]]:
    if verbosity == QUIET:
        say = _silent
    state = _load_state(directory, resume, say) or _set_up(registry_path, source, directory, say, flow)
    flow = str(state.get("flow", "direct"))
    pr = flow == "pr"
    workspace = directory / "workspace"
    servers = {
        name: LocalIndex(name, directory / f"index-{name}", int(state["ports"][name])) for name in ("testpypi", "pypi")
    }
    env = index_env(servers)
    work = directory / "ci"
    work.mkdir(exist_ok=True)
    try:
        for server in servers.values():
            server.start()
        say("local indexes: " + ", ".join(f"{n} {s.url}" for n, s in servers.items()))
        registry = load_registry(registry_path, env=env)
        with _environ({**throwaway_credentials(), **env}):
            runner = workflow_runner(registry, directory / "remotes", work, verify_installs, timeout)
            token = GITHUB_THROWAWAY if pr else None
            with (
                FakeGitHub(
                    runner, state_file=directory / "github.json", remotes=directory / "remotes", token=token
                ) as fake,
                _environ({ENV_API_URL: fake.url}),
            ):
                forge = GitHub(fake.url, token=token or "", allowed_repos=frozenset(p.repo for p in registry.packages))
                if pr:
                    _prepare_pr_flow(
                        registry,
                        directory,
                        state,
                        fake,
                        workflow_runner(registry, directory / "remotes", work, False, timeout),
                        say,
                    )
                opts = Options(
                    execute=True,
                    yes=True,
                    mode=mode,
                    timeout=timeout,
                    verify_installs=verify_installs,
                    out=say,
                    direct_push=not pr,  # direct: it bumped and commits on its clones; PR: it tags what was merged
                    verbosity=verbosity,
                    digest=True,
                )
                if flow == "lines":
                    return _lines(registry, workspace, forge, fake, opts, say, (run_verify, table), (directory, state))
                halted = _run_flow(registry, workspace, forge, opts, table, say, run_verify, pr, directory, fake)
                rows = released_table(registry, workspace, forge)
                if pr and halted is None:
                    _second_pass(registry, workspace, forge, fake, opts, say)
        say(report.table(rows) if verbosity >= VERBOSE else released_digest(rows))
        if halted is not None:
            raise TrainHalted(
                f"rehearsal: {halted.what}",
                f"{halted.fix}: `{suggest(f'invoke rehearse --resume --dir {directory}')}`",
                halted.items,
            )
        return rows
    finally:
        for server in servers.values():
            server.stop()


def _lines(
    registry: Registry,
    workspace: Path,
    forge: GitHub,
    fake: FakeGitHub,
    opts: Options,
    say: Callable[[str], None],
    how: tuple[bool, tuple[str, Callable[[str], None]]],
    where: tuple[Path, dict[str, Any]],
) -> list[dict[str, object]]:
    """``--flow lines``: an rc, a final and a maintenance patch (:mod:`juniper_release.sandbox.lines_flow`), each
    stage recorded in the state so a resumed rehearsal skips it; the outcome table goes to the table's emitter."""
    from juniper_release.sandbox.lines_flow import rehearse_lines

    (run_verify, (fmt, emit)), (directory, state) = how, where
    done = state.setdefault("lines", {})

    def record(stage: str, row: dict[str, Any]) -> None:
        done[stage] = row
        write_json(directory / STATE, state)

    def verify() -> None:
        if run_verify:
            _verify_all(registry, workspace, say, opts.verbosity)

    try:
        rows = rehearse_lines(registry, workspace, forge, fake, opts, verify, say, dict(done), record)
    except JuniperError as exc:
        raise JuniperError(
            f"rehearsal: {exc.what}",
            f"{exc.fix or 'fix the cause'}: `{suggest(f'invoke rehearse --resume --dir {directory}')}`",
        ) from None
    emit(report.to_json({"releases": rows}) if fmt == "json" else report.table(rows))
    return [dict(r) for r in rows]


def _prepare_pr_flow(
    registry: Registry,
    directory: Path,
    state: dict[str, Any],
    fake: FakeGitHub,
    publish_release: Callable[[str, str, str], None],
    say: Callable[[str], None],
) -> None:
    """Once: the releases from before the changes go to the local indexes, as PyPI holds them; then every
    repository's main is protected on the local GitHub."""
    if not state.get("seeded"):
        prflow.seed_indexes(registry, state.get("released", {}), publish_release, say)
        state["seeded"] = True
        write_json(directory / STATE, state)
    prflow.protect_all(registry, fake)


def _silent(_line: str) -> None:
    """``-q``: no progress line."""


def released_digest(rows: list[dict[str, object]]) -> str:
    """The released-where table in one line (the table itself with ``-v``): how many packages got each."""
    columns = ("tag on origin", "GitHub release", "testpypi", "pypi")
    counts = ", ".join(f"{sum(1 for r in rows if r[c])}/{len(rows)} {c}" for c in columns)
    return f"released where: {counts}"
