"""Releasing: preflight gates, the ordered steps of one release, the journal, and the release train.

One release is an explicit list of named steps (commit the bump, tag, push, then publish: a GitHub Release watched to
completion, or twine uploads to TestPyPI and PyPI, each verified in a fresh environment). A dry run walks the very same
list and prints each step's exact command; ``execute=True`` runs them. Whether a step is done is judged from reality
(the tag on origin, the version on the index), and the journal (``<workspace>/.juniper-release/journal.json``, written
atomically) records every completed step, so a re-run resumes at the first incomplete one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sys
import tarfile
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from juniper_release import output as report
from juniper_release.commands import display
from juniper_release.ecosystem import indexes
from juniper_release.ecosystem.graph import build_graph
from juniper_release.ecosystem.project import VersionKind, find_module_version, read_project, sibling_requirements
from juniper_release.ecosystem.registry import Index, Package, Registry, require_checkout
from juniper_release.ecosystem.tags import previous_release_tag, version_at
from juniper_release.errors import JuniperError
from juniper_release.files import write_json
from juniper_release.github.forge import GitHub
from juniper_release.gitops import Git
from juniper_release.release import publish
from juniper_release.release.versioning import CHANGELOG, release_notes
from juniper_release.secrets import redact
from juniper_release.verify import cache as verify
from juniper_release.verify.build import BuildResult

MODES = ("github", "twine")
STATE_DIR = ".juniper-release"
JOURNAL = "journal.json"
TRAIN_STATES = {"BUMPED_NOT_RELEASED", "NEVER_RELEASED"}

Out = Callable[[str], None]


class PreflightError(JuniperError):
    """One or more preflight gates failed; nothing was changed."""

    def __init__(self, package: str, failures: Sequence[Gate]) -> None:
        self.failures = list(failures)
        first = failures[0]
        more = f" (and {len(failures) - 1} more gate(s), listed above)" if len(failures) > 1 else ""
        super().__init__(redact(f"{package}: preflight gate '{first.name}' failed: {first.what}{more}"), first.fix)


@dataclass(frozen=True)
class Gate:
    name: str
    ok: bool
    what: str = ""
    fix: str = ""

    def line(self) -> str:
        return f"  [{'ok' if self.ok else 'FAIL':>4}] {self.name}" + (
            "" if self.ok else f": {self.what}. Fix: {self.fix}"
        )


@dataclass
class Options:
    """How to release: dry run unless ``execute``; ``yes`` answers confirmations (CI)."""

    execute: bool = False
    yes: bool = False
    mode: str = "github"
    allow_dropped: bool = False
    timeout: float = 600.0
    verify_installs: bool = True
    out: Out = print
    interactive: bool | None = None  # None: stdin is a terminal

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise JuniperError(f"unknown --mode {self.mode!r}", f"use one of: {', '.join(MODES)}")
        if self.timeout <= 0:
            raise JuniperError(f"--timeout must be positive, got {self.timeout}", "pass e.g. --timeout 600")

    @classmethod
    def from_flags(cls, execute: bool, yes: bool, mode: str, allow_dropped: bool, timeout: float | str) -> Options:
        """Options from the command-line flags the release tasks share (invoke passes numbers as given)."""
        return cls(execute=execute, yes=yes, mode=mode, allow_dropped=allow_dropped, timeout=parse_timeout(timeout))

    @property
    def is_tty(self) -> bool:
        return sys.stdin.isatty() if self.interactive is None else self.interactive


def parse_timeout(value: float | str) -> float:
    """``--timeout`` in seconds; the tasks take it as text so a typo is a one-line error, not a parser traceback."""
    try:
        return float(value)
    except ValueError:
        raise JuniperError(f"--timeout {value!r} is not a number of seconds", "pass e.g. --timeout 600") from None


def confirm(opts: Options, question: str) -> None:
    """Ask on a terminal; ``--yes`` answers for CI; without a terminal and without --yes, refuse."""
    if opts.yes:
        return
    if not opts.is_tty:
        raise JuniperError(f"cannot confirm {question!r}: stdin is not a terminal", "pass --yes to confirm (CI)")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in {"y", "yes"}:
        raise JuniperError(f"not confirmed: {question}", "answer 'y' to go on; nothing more was changed")


# --------------------------------------------------------------------------------------------------- journal


class Journal:
    """The checkpoint: completed steps per release (``name==version``) and the current train, written atomically."""

    def __init__(self, workspace: Path) -> None:
        self.path = workspace / STATE_DIR / JOURNAL
        self.data: dict[str, Any] = {"releases": {}, "train": None}
        if self.path.is_file():
            try:
                self.data = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError:
                raise JuniperError(
                    f"{self.path}: the journal is not valid JSON",
                    "inspect it; delete it only after checking tags on origin and versions on the indexes",
                ) from None

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json(self.path, self.data, sort_keys=True)

    def steps(self, key: str) -> dict[str, Any]:
        return dict(self.data.setdefault("releases", {}).get(key, {}).get("steps", {}))

    def done(self, key: str, step: str) -> bool:
        return step in self.steps(key)

    def record(self, key: str, step: str, detail: str) -> None:
        entry = self.data.setdefault("releases", {}).setdefault(key, {"steps": {}})
        entry["steps"][step] = {"at": _now(), "detail": detail}
        self._save()

    def forget(self, key: str, step: str) -> None:
        entry = self.data.get("releases", {}).get(key)
        if entry and step in entry["steps"]:
            del entry["steps"][step]
            self._save()

    @property
    def train(self) -> dict[str, Any] | None:
        train = self.data.get("train")
        return dict(train) if isinstance(train, dict) else None

    def start_train(self, packages: Mapping[str, str]) -> None:
        current = self.train
        if current and not current.get("finished"):
            merged = {**current["packages"], **packages}
            self.data["train"] = {**current, "packages": merged}
        else:
            self.data["train"] = {"packages": dict(packages), "started": _now(), "finished": None}
        self._save()

    def finish_train(self) -> None:
        if self.data.get("train"):
            self.data["train"]["finished"] = _now()
            self._save()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------------- one release


@dataclass
class Step:
    name: str
    command: str
    done: Callable[[], bool]
    action: Callable[[], str]


def target_index(registry: Registry, version: Version) -> Index:
    """Pre-releases go to TestPyPI only; final versions end on PyPI."""
    return registry.index("testpypi" if version.is_prerelease else "pypi")


def _remote_refs(git: Git, branch: str) -> tuple[str | None, dict[str, str]]:
    """origin's ``branch`` commit and its tags (peeled to commits)."""
    out = git.run("ls-remote", "origin", f"refs/heads/{branch}", "refs/tags/*", fix="check that origin is reachable")
    head: str | None = None
    tags: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref == f"refs/heads/{branch}":
            head = sha
        elif ref.startswith("refs/tags/"):
            name = ref[len("refs/tags/") :]
            if name.endswith("^{}"):
                tags[name[:-3]] = sha
            else:
                tags.setdefault(name, sha)
    return head, tags


def _is_verified(registry: Registry, pkg: Package, workspace: Path) -> bool:
    """The verification gate: issue 3's cache (verify.is_verified) for this exact content."""
    return verify.is_verified(registry, pkg, workspace)


def _verified_artifacts(registry: Registry, pkg: Package, workspace: Path) -> BuildResult | None:
    """The verified wheelhouse artifacts of this exact content, to upload instead of a rebuild."""
    if not _is_verified(registry, pkg, workspace):
        return None
    return verify.verified_artifacts(registry, pkg, workspace)


class PackageRelease:
    """Everything about releasing one package: state read from reality, the gates and the steps."""

    def __init__(
        self,
        registry: Registry,
        workspace: Path,
        package: str,
        opts: Options,
        journal: Journal,
        *,
        planned: Mapping[str, Version] | None = None,
        forge: GitHub | None = None,
    ) -> None:
        self.registry = registry
        self.workspace = workspace
        self.pkg = registry.get(package)
        self.root = require_checkout(self.pkg, workspace)
        self.opts = opts
        self.journal = journal
        self.planned = dict(planned or {})
        self.forge = forge or GitHub()
        self.git = Git(self.root)
        self.project = read_project(self.root)
        self.version = self.project.version
        self.tag = registry.tag_for(self.version)
        self.key = f"{self.pkg.name}=={self.version}"
        self.target = target_index(registry, self.version)
        self.dist_dir = workspace / STATE_DIR / "dist" / f"{self.pkg.name}-{self.version}"
        self.work_dir = workspace / STATE_DIR / "work"
        mv = find_module_version(self.root, self.pkg.imports[0] if self.pkg.imports else None)
        self.module_version = mv
        self.bump_files = {"pyproject.toml", CHANGELOG}
        if mv.file is not None:
            self.bump_files.add(str(mv.file.relative_to(self.root)))
        self._remote: tuple[str | None, dict[str, str]] | None = None

    # ---- reality

    def remote(self, refresh: bool = False) -> tuple[str | None, dict[str, str]]:
        if self._remote is None or refresh:
            self._remote = _remote_refs(self.git, self.registry.branch)
        return self._remote

    def dirty(self) -> list[str]:
        return [line[3:].split(" -> ")[-1].strip('"') for line in self.git.status_porcelain()]

    def needs_commit(self) -> bool:
        dirty = self.dirty()
        return bool(dirty) and set(dirty) <= self.bump_files and version_at(self.git, "HEAD") != self.version

    def tag_on_origin_at_head(self) -> bool:
        return self.remote()[1].get(self.tag) == self.git.head() and not self.needs_commit()

    def on_index(self, name: str) -> bool:
        index = self.registry.index(name)
        files = self._dists()
        if files:
            return publish.uploaded(index, self.pkg.name, files)
        return indexes.has_version(index, self.pkg.name, self.version)

    def _dists(self) -> list[Path]:
        if not self.dist_dir.is_dir():
            return []
        return sorted(p for p in self.dist_dir.iterdir() if p.name.endswith((".whl", ".tar.gz")))

    # ---- gates

    def gates(self) -> list[Gate]:
        """Every preflight gate, all evaluated (read-only, apart from `git fetch`) before any change."""
        g: list[Gate] = []
        reg, git, pkg = self.registry, self.git, self.pkg
        branch = git.branch()
        g.append(
            Gate(
                "on main", branch == reg.branch, f"on branch {branch!r}, not {reg.branch!r}", f"git switch {reg.branch}"
            )
        )
        dirty = self.dirty()
        clean_ok = not dirty or self.needs_commit()
        g.append(
            Gate(
                "clean tree",
                clean_ok,
                f"uncommitted changes in {', '.join(dirty[:4])}",
                "commit or stash them (only an uncommitted version bump is committed for you)",
            )
        )
        git.fetch()
        ahead_behind = git.run("rev-list", "--left-right", "--count", f"{reg.branch}...origin/{reg.branch}")
        ahead, behind = (int(x) for x in ahead_behind.split())
        ours = re.compile(rf"^(Bump {re.escape(pkg.name)} to |Allow .+ in {re.escape(pkg.path)}'s requirements)")
        ahead_subjects = git.subjects_since(f"origin/{reg.branch}") if ahead else []
        foreign = [s for s in ahead_subjects if not ours.match(s)]
        g.append(
            Gate(
                "in sync with origin",
                behind == 0 and not foreign,
                f"{reg.branch} is {behind} behind and {ahead} ahead of origin/{reg.branch}"
                + (f" (unpushed: {foreign[0]!r})" if foreign else ""),
                f"git pull --ff-only origin {reg.branch}"
                if behind
                else f"push or drop the unpushed commits on {reg.branch}",
            )
        )
        head = git.head()
        pending_commit = self.needs_commit()
        local_tag = git.run("rev-list", "-n", "1", self.tag) if git.tag_exists(self.tag) else None
        remote_tag = self.remote()[1].get(self.tag)
        stale = [
            f"{where} at {sha[:8]}"
            for where, sha in (("locally", local_tag), ("on origin", remote_tag))
            if sha is not None and (sha != head or pending_commit)
        ]
        g.append(
            Gate(
                "tag is new",
                not stale,
                f"tag {self.tag} already exists {' and '.join(stale)} (HEAD is {head[:8]})",
                f"bump to a new version (invoke bump --package {pkg.name} ...), or delete the stale tag "
                f"(git tag -d {self.tag}) if it was never pushed",
            )
        )
        resuming = remote_tag is not None and remote_tag == head and not pending_commit
        taken: list[str] = []
        unreachable: list[str] = []
        if not resuming:
            for name in ("pypi", "testpypi"):
                try:
                    if indexes.has_version(reg.index(name), pkg.name, self.version):
                        taken.append(name)
                except indexes.IndexUnreachable as exc:
                    unreachable.append(exc.what)
        if taken:
            g.append(
                Gate(
                    "version not yet published",
                    False,
                    f"{pkg.name} {self.version} is already on {', '.join(taken)}",
                    f"bump to a new version: invoke bump --package {pkg.name} --part patch",
                )
            )
        else:
            # An index that cannot be asked is not evidence either way: say so, with its own fix.
            g.append(
                Gate(
                    "version not yet published",
                    not unreachable,
                    f"cannot check whether {pkg.name} {self.version} is published: {'; '.join(unreachable)}",
                    "check the network or the JUNIPER_PYPI_SIMPLE_URL / JUNIPER_TESTPYPI_SIMPLE_URL overrides, "
                    "then re-run",
                )
            )
        problems = []
        if str(self.version) != self.project.raw_version:
            problems.append(f"pyproject version {self.project.raw_version!r} is not normalized ({self.version})")
        mv = self.module_version
        if mv.kind is VersionKind.STATIC and mv.value != str(self.version):
            problems.append(f"__version__ is {mv.value} but pyproject says {self.version}")
        if mv.kind is VersionKind.MISSING:
            problems.append(f"no __version__ found in {pkg.imports[0]}")
        if reg.version_from_tag(self.tag) != self.version:
            problems.append(f"tag {self.tag} does not name version {self.version}")
        g.append(
            Gate(
                "pyproject == __version__ == tag",
                not problems,
                "; ".join(problems),
                f"invoke bump --package {pkg.name} --to {self.version} --force, or fix the version by hand",
            )
        )
        g.append(self._requirements_gate())
        verified = _is_verified(reg, pkg, self.workspace)
        g.append(
            Gate(
                "verified at this commit",
                verified,
                f"verify({pkg.name}) has not passed for commit {head[:8]}",
                f'run `nox -s "verify({pkg.name})"` (or `nox -s verify-all`) and re-run',
            )
        )
        g.append(self._dropped_gate())
        if self.opts.mode == "github":
            workflow = self.root / reg.publish_workflow
            g.append(
                Gate(
                    "publish workflow present",
                    workflow.is_file(),
                    f"{pkg.name} has no {reg.publish_workflow}",
                    "add it (invoke workflows), or release with --mode twine",
                )
            )
            g.append(
                Gate(
                    "GitHub token",
                    bool(self.forge.token) or self.forge.is_local,
                    "neither GITHUB_TOKEN nor GH_TOKEN is set",
                    "export GITHUB_TOKEN with contents:write and actions:read",
                )
            )
        return g

    def _requirements_gate(self) -> Gate:
        names = {canonicalize_name(p.name): p.name for p in self.registry.packages}
        missing = []
        for extra, req in sibling_requirements(self.project, set(names)):
            dep = names[canonicalize_name(req.name)]
            where = f"[{extra}] " if extra else ""
            planned = self.planned.get(dep)
            if planned is not None and req.specifier.contains(planned, prereleases=True):
                continue
            try:
                found = indexes.versions(self.target, dep)
            except indexes.IndexUnreachable as exc:
                missing.append(f"{where}{req} ({exc.what})")
                continue
            if not any(req.specifier.contains(v, prereleases=self.version.is_prerelease) for v in found):
                have = ", ".join(str(v) for v in found[-3:]) or "none"
                missing.append(f"{where}{req} (on {self.target.name}: {have})")
        return Gate(
            "Juniper requirements available",
            not missing,
            f"no satisfying version on {self.target.name} for {'; '.join(missing)}",
            "release those packages first (invoke release-train orders them), or widen the specifier",
        )

    def _previous_tag(self) -> str | None:
        try:
            released = indexes.versions(self.registry.index("pypi"), self.pkg.name)
        except indexes.IndexUnreachable:
            released = ()
        return previous_release_tag(self.git, self.registry.tag_format, self.version, released).tag

    def _dropped_gate(self) -> Gate:
        prev = self._previous_tag()
        if prev is None:
            return Gate("no dropped entry points or extras", True)
        try:
            old = tomllib.loads(self.git.run("show", f"{prev}:pyproject.toml")).get("project", {})
        except tomllib.TOMLDecodeError:
            return Gate("no dropped entry points or extras", True)
        dropped = []
        for table in ("scripts", "gui-scripts"):
            gone = set(old.get(table, {}) or {}) - set(self.project.scripts if table == "scripts" else {})
            dropped += [f"-[project.{table}] {name}" for name in sorted(gone)]
        for group, eps in (old.get("entry-points", {}) or {}).items():
            dropped += [f"-entry point {group}:{name}" for name in sorted(set(eps) - set(self._entry_points(group)))]
        old_extras = {canonicalize_name(e) for e in old.get("optional-dependencies", {}) or {}}
        new_extras = {canonicalize_name(e) for e in self.project.optional}
        dropped += [f"-extra [{e}]" for e in sorted(old_extras - new_extras)]
        return Gate(
            "no dropped entry points or extras",
            not dropped or self.opts.allow_dropped,
            f"compared with {prev}: {', '.join(dropped)}",
            "restore them, or pass --allow-dropped if dropping them is intended",
        )

    def _entry_points(self, group: str) -> dict[str, str]:
        data = tomllib.loads(self.project.pyproject.read_text(encoding="utf-8")).get("project", {})
        return dict((data.get("entry-points", {}) or {}).get(group, {}) or {})

    def check(self) -> list[Gate]:
        gates = self.gates()
        for gate in gates:
            if not gate.ok or not self.opts.execute:
                self.opts.out(redact(gate.line()))
        failures = [g for g in gates if not g.ok]
        if failures:
            raise PreflightError(self.pkg.name, failures)
        return gates

    # ---- steps

    def steps(self) -> list[Step]:
        reg, pkg, git = self.registry, self.pkg, self.git
        branch, tag, version = reg.branch, self.tag, self.version
        files = sorted(self.bump_files)
        message = f"Bump {pkg.name} to {version}"
        steps = [
            Step(
                "commit bump",
                f"git -C {self.root} commit -m {message!r} -- {' '.join(files)}",
                lambda: not self.needs_commit(),
                lambda: self._commit(files, message),
            ),
            Step(
                "tag",
                f"git -C {self.root} tag -a {tag} -m 'Release {pkg.name} {version}'",
                lambda: git.tag_exists(tag) and git.run("rev-list", "-n", "1", tag) == git.head(),
                self._tag,
            ),
            Step(
                "push",
                f"git -C {self.root} push --atomic origin {branch} {tag}",
                lambda: self.remote(refresh=True)[1].get(tag) == git.head() and self.remote()[0] == git.head(),
                self._push,
            ),
        ]
        if self.opts.mode == "github":
            steps += self._github_steps()
        else:
            steps += self._twine_steps()
        steps.append(Step("re-check", "git ls-remote origin; index look-ups", lambda: False, self._recheck))
        return steps

    def _tag(self) -> str:
        self.git.tag_annotated(self.tag, f"Release {self.pkg.name} {self.version}")
        return f"tagged {self.git.head()[:8]}"

    def _commit(self, files: Sequence[str], message: str) -> str:
        self.git.run("commit", "-m", message, "--", *files)
        return f"committed {self.git.head()[:8]}"

    def _push(self) -> str:
        self.git.run(
            "push",
            "--atomic",
            "origin",
            self.registry.branch,
            self.tag,
            fix="origin rejected the push (nothing was pushed, --atomic): fix the cause (hook, permissions, "
            "protected branch), then re-run to resume",
        )
        head, tags = self.remote(refresh=True)
        if tags.get(self.tag) != self.git.head() or head != self.git.head():
            raise JuniperError(
                f"{self.pkg.name}: after the push origin does not have {self.tag} at HEAD", "check origin, then re-run"
            )
        return f"pushed {self.registry.branch} and {self.tag}"

    def _github_steps(self) -> list[Step]:
        reg, pkg = self.registry, self.pkg
        repo, workflow = pkg.repo, reg.publish_workflow
        base = self.forge.base_url

        def create() -> str:
            notes = release_notes(self.root, self.version)
            rel = self.forge.create_release(
                repo,
                self.tag,
                sha=self.git.head(),
                title=self.tag,
                body=notes,
                prerelease=self.version.is_prerelease,
            )
            return f"created {rel.get('html_url', self.tag)}" + (" (prerelease)" if self.version.is_prerelease else "")

        def watch() -> str:
            run = self.forge.watch(
                repo, workflow, tag=self.tag, sha=self.git.head(), timeout=self.opts.timeout, on_change=self._note
            )
            return f"run {run.id} succeeded"

        return [
            Step(
                "GitHub Release",
                f"POST {base}/repos/{repo}/releases tag_name={self.tag} prerelease={str(self.version.is_prerelease).lower()}",
                lambda: self.forge.release_by_tag(repo, self.tag) is not None,
                create,
            ),
            Step(
                "watch publish run",
                f"GET {base}/repos/{repo}/actions/workflows/{workflow.rsplit('/', 1)[-1]}/runs"
                f"?event=release&head_sha=<HEAD>&branch={self.tag}",
                lambda: self.journal.done(self.key, "watch publish run") or self.on_index(self.target.name),
                watch,
            ),
            *self._verify_step(self.target),
        ]

    def _twine_steps(self) -> list[Step]:
        reg = self.registry
        steps = [
            Step(
                "build",
                f"copy the verified wheelhouse artifacts to {self.dist_dir} (if none match this content: "
                f"uv build --sdist --wheel --out-dir {self.dist_dir} <git archive {self.tag}>)",
                lambda: len(self._dists()) >= 2,
                self._build,
            ),
        ]
        chain = ["testpypi"] if self.version.is_prerelease else ["testpypi", "pypi"]
        for name in chain:
            index = reg.index(name)
            steps.append(
                Step(
                    f"upload {name}",
                    display(publish.upload_command(index, [self.dist_dir / "*"])) + "  (credentials from env/.pypirc)",
                    lambda name=name: self.on_index(name),  # type: ignore[misc]
                    lambda index=index: self._upload(index),  # type: ignore[misc]
                )
            )
            steps += self._verify_step(index)
        return steps

    def _verify_step(self, index: Index) -> list[Step]:
        def verify() -> str:
            waited = publish.wait_installable(index, self.pkg.name, self.version, self.opts.timeout)
            if not self.opts.verify_installs:
                return f"listed on {index.name} after {waited:.1f}s"
            summary = publish.verify_install(
                self.registry, self.pkg, self.version, index, self.root, self.work_dir, log=self._note
            )
            return f"{summary} (listed after {waited:.1f}s)"

        name = f"verify {index.name}"
        return [
            Step(
                name,
                f"poll {index.simple_url}{self.pkg.name}/ ; fresh env: deps from {publish.THIRD_PARTY_INDEX}, then "
                f"pip install --no-deps --index-url {index.simple_url} {self.pkg.name}=={self.version}",
                lambda: self.journal.done(self.key, name),
                verify,
            )
        ]

    def _build(self) -> str:
        verified = _verified_artifacts(self.registry, self.pkg, self.workspace)
        if verified is not None:
            if self.dist_dir.exists():
                shutil.rmtree(self.dist_dir)
            self.dist_dir.mkdir(parents=True)
            for artifact in verified.artifacts:
                shutil.copy2(artifact, self.dist_dir / artifact.name)
            names = ", ".join(a.name for a in verified.artifacts)
            return f"reusing the verified artifacts (the files verify installed): {names}"
        src = self.work_dir / f"src-{self.pkg.name}-{self.version}"
        if src.exists():
            shutil.rmtree(src)
        src.mkdir(parents=True)
        archive = self.work_dir / f"{self.pkg.name}-{self.version}.tar"
        self.git.run("archive", "--format=tar", f"--output={archive}", self.tag)
        with tarfile.open(archive) as tar:
            tar.extractall(src, filter="data")
        archive.unlink()
        files = publish.build_dists(src, self.dist_dir)
        return "built " + ", ".join(f.name for f in files)

    def _upload(self, index: Index) -> str:
        if index.name == "pypi" and self.opts.is_tty and not self.opts.yes:
            confirm(self.opts, f"Upload {self.pkg.name} {self.version} to PyPI? This cannot be undone")
        return publish.upload(index, self.pkg.name, self._dists())

    def _recheck(self) -> str:
        _head, tags = self.remote(refresh=True)
        problems = []
        if tags.get(self.tag) != self.git.head():
            problems.append(f"{self.tag} is not on origin at HEAD")
        chain = ["testpypi"] if self.version.is_prerelease else ["testpypi", "pypi"]
        if self.opts.mode == "github":
            chain = [self.target.name]
        for name in chain:
            if not indexes.has_version(self.registry.index(name), self.pkg.name, self.version):
                problems.append(f"{self.version} is not on {name}")
        if problems:
            raise JuniperError(f"{self.pkg.name}: after the release {'; '.join(problems)}", "investigate, then re-run")
        return f"{self.tag} on origin; {self.version} on {', '.join(chain)}"

    def _note(self, text: str) -> None:
        self.opts.out(redact(f"          {text}"))

    # ---- driving

    def run(self) -> list[dict[str, str]]:
        """Preflight, then walk the steps: print them (dry run) or run the ones not done yet."""
        out = self.opts.out
        mode = "EXECUTE" if self.opts.execute else "dry run"
        out(f"{self.pkg.name} {self.version} ({self.opts.mode} mode, {mode}) -> {self.target.name}")
        self.check()
        rows: list[dict[str, str]] = []
        for step in self.steps():
            try:
                done = step.name != "re-check" and step.done()
            except JuniperError as exc:
                raise type(exc)(
                    f"{self.pkg.name}: step '{step.name}' could not be checked: {exc.what}",
                    f"{exc.fix or 'fix the cause'}; then re-run to resume",
                ) from None
            if done:
                if self.opts.execute and not self.journal.done(self.key, step.name):
                    self.journal.record(self.key, step.name, "found done")
                out(report.step(step.name, "done", redact(step.command)))
                rows.append({"step": step.name, "outcome": "done"})
                continue
            if not self.opts.execute:
                out(report.step(step.name, "would", redact(step.command)))
                rows.append({"step": step.name, "outcome": "would run"})
                continue
            out(report.step(step.name, "run", redact(step.command)))
            try:
                detail = step.action()
            except KeyboardInterrupt:
                raise JuniperError(
                    f"{self.pkg.name}: interrupted during step '{step.name}'; completed steps are in {self.journal.path}",
                    "re-run the same command to resume",
                ) from None
            except JuniperError as exc:
                raise type(exc)(f"{self.pkg.name}: step '{step.name}' failed: {exc.what}", exc.fix) from None
            self.journal.record(self.key, step.name, redact(detail))
            out(report.step(step.name, "ok", redact(detail)))
            rows.append({"step": step.name, "outcome": "ok"})
        return rows


def release(
    registry: Registry,
    workspace: Path,
    package: str,
    opts: Options,
    *,
    forge: GitHub | None = None,
) -> list[dict[str, str]]:
    """``invoke release``: one package, dry run unless ``opts.execute``."""
    if opts.execute and not opts.yes and not opts.is_tty:
        raise JuniperError("--execute needs a confirmation but stdin is not a terminal", "pass --yes (CI)")
    rel = PackageRelease(registry, workspace, package, opts, Journal(workspace), forge=forge)
    if opts.execute and not opts.yes:
        rel.check()
        confirm(opts, f"Release {rel.pkg.name} {rel.version} ({opts.mode} mode)?")
    return rel.run()


# --------------------------------------------------------------------------------------------------- the train


@dataclass
class TrainRow:
    package: str
    layer: int
    version: str
    state: str
    action: str  # release | done | needs bump | follow | up to date | anomaly
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "layer": self.layer,
            "version": self.version,
            "state": self.state,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass
class TrainPlan:
    rows: list[TrainRow] = field(default_factory=list)
    finished_before: bool = False
    outcome: str | None = None  # after --execute: finished | already finished | nothing to do | failed
    error: str | None = None

    @property
    def releases(self) -> list[TrainRow]:
        return [r for r in self.rows if r.action == "release"]

    @property
    def blockers(self) -> list[TrainRow]:
        return [r for r in self.rows if r.action in {"needs bump", "follow", "anomaly"}]

    def render(self, fmt: str = "table") -> str:
        data = [r.as_dict() for r in self.rows]
        if fmt == "json":
            doc: dict[str, Any] = {"plan": data, "finished_before": self.finished_before}
            if self.outcome is not None:
                doc.update(outcome=self.outcome, error=self.error)
            return report.to_json(doc)
        return report.table(data, ["layer", "package", "version", "state", "action", "reason"])


def _collect_states(registry: Registry, workspace: Path) -> dict[str, tuple[str, str, int]]:
    """package -> (state, pyproject version, layer) from the status matrix."""
    from juniper_release.ecosystem import status

    return {
        row.package: (str(row.state), row.pyproject_version, row.layer)
        for row in status.collect(registry, workspace, warn=lambda m: print(m, file=sys.stderr))
    }


def _released_in_reality(registry: Registry, workspace: Path, name: str, version: str) -> bool:
    pkg = registry.get(name)
    git = Git(pkg.checkout(workspace))
    try:
        v = Version(version)
        _, tags = _remote_refs(git, registry.branch)
        return registry.tag_for(v) in tags and indexes.has_version(target_index(registry, v), name, v)
    except (JuniperError, InvalidVersion):
        return False


def plan_train(registry: Registry, workspace: Path, packages: str | None = None) -> TrainPlan:
    """The packages that need a release, plus dependents whose specifiers must follow, ordered by layer."""
    chosen = {p.name for p in registry.select(packages)}
    states = _collect_states(registry, workspace)
    graph = build_graph(registry, workspace)
    journal = Journal(workspace)
    train = journal.train
    pending_from_journal: set[str] = set()
    if train and not train.get("finished"):
        pending_from_journal = {
            n for n, v in train["packages"].items() if not _released_in_reality(registry, workspace, n, v)
        }
    plan = TrainPlan()
    new_versions: dict[str, Version] = {}
    for pkg in graph.release_order():
        state, version, layer = states[pkg.name]
        row = TrainRow(pkg.name, layer, version, state, "up to date")
        if pkg.name in pending_from_journal or (state in TRAIN_STATES and pkg.name in chosen):
            row.action = "release"
            if pkg.name in pending_from_journal and state not in TRAIN_STATES:
                row.reason = "resuming the unfinished train"
            new_versions[pkg.name] = Version(version)
        elif state == "UNRELEASED_CHANGES" and pkg.name in chosen:
            row.action = "needs bump"
            row.reason = f"commits since the last release: run `invoke bump --package {pkg.name} --part patch` first"
        elif state == "ANOMALY" and pkg.name in chosen:
            row.action = "anomaly"
            row.reason = "run `invoke status` to see why"
        elif state in TRAIN_STATES:
            row.reason = "not selected (--packages)"
        plan.rows.append(row)
    # Dependents whose specifiers no longer admit a version being released must follow.
    canon = {canonicalize_name(p.name): p.name for p in registry.packages}
    for row in plan.rows:
        if row.action not in {"up to date", "needs bump"} and row.package not in new_versions:
            continue
        stale = []
        deps = []
        for extra, req in sibling_requirements(graph.projects[row.package], set(canon)):
            dep = canon[canonicalize_name(req.name)]
            if dep in new_versions and not req.specifier.contains(new_versions[dep], prereleases=True):
                stale.append(f"{'[' + extra + '] ' if extra else ''}{req} excludes {dep} {new_versions[dep]}")
                deps.append(dep)
        if stale:
            row.action = "follow"
            row.reason = (
                f"{'; '.join(stale)}: rewrite it (`invoke bump --package {deps[0]} --to {new_versions[deps[0]]} "
                f"--update-dependents --force` or by hand), commit, then `invoke bump --package {row.package}`"
            )
    if not plan.releases and train and train.get("finished"):
        plan.finished_before = True
    return plan


def release_train(
    registry: Registry,
    workspace: Path,
    opts: Options,
    packages: str | None = None,
    *,
    forge: GitHub | None = None,
    fmt: str = "table",
    emit: Out | None = None,
) -> TrainPlan:
    """``invoke release-train``: plan, preflight every package, then release layer by layer.

    With ``fmt="json"`` exactly one JSON document goes to ``emit`` (default ``opts.out``): the plan for a dry run;
    with ``execute``, the plan plus ``outcome`` and ``error``, after the train has finished or failed. Progress
    lines go to ``opts.out`` (the task sends them to stderr, so stdout stays valid JSON for CI).
    """
    emit = emit or opts.out
    plan = plan_train(registry, workspace, packages)
    if fmt == "json" and not opts.execute:
        emit(plan.render("json"))
        return plan
    if fmt != "json":
        opts.out(plan.render(fmt))
    try:
        try:
            _release_train(registry, workspace, opts, plan, forge=forge)
        except KeyboardInterrupt:
            raise JuniperError(
                f"the release train was interrupted; completed steps are in {workspace / STATE_DIR / JOURNAL}",
                "re-run the same command to resume",
            ) from None
    except JuniperError as exc:
        plan.outcome, plan.error = "failed", redact(str(exc))
        raise
    finally:
        if fmt == "json":
            emit(plan.render("json"))
    return plan


def _release_train(
    registry: Registry,
    workspace: Path,
    opts: Options,
    plan: TrainPlan,
    *,
    forge: GitHub | None,
) -> None:
    out = opts.out
    if not plan.releases:
        plan.outcome = "already finished" if plan.finished_before else "nothing to do"
        out(
            "the release train already finished: nothing to do"
            if plan.finished_before
            else "nothing to release: every selected package is up to date"
        )
        return
    if plan.blockers:
        b = plan.blockers[0]
        raise JuniperError(f"{b.package} blocks the train ({b.action}): {b.reason}", "do that first, then re-run")
    if opts.execute and not opts.yes and not opts.is_tty:
        raise JuniperError("--execute needs a confirmation but stdin is not a terminal", "pass --yes (CI)")
    journal = Journal(workspace)
    forge = forge or GitHub()
    planned = {r.package: Version(r.version) for r in plan.releases}
    releases = [
        PackageRelease(registry, workspace, r.package, opts, journal, planned=planned, forge=forge)
        for r in plan.releases
    ]
    out("preflight (all packages, before any change):")
    failures: list[PreflightError] = []
    for rel in releases:
        try:
            rel.check()
        except PreflightError as exc:
            failures.append(exc)
    if failures:
        raise failures[0]
    if opts.execute:
        confirm(opts, f"Release {len(releases)} packages ({opts.mode} mode)?") if not opts.yes else None
        journal.start_train({r.package: r.version for r in plan.releases})
    layers: dict[int, list[PackageRelease]] = {}
    for r, rel in zip(plan.releases, releases, strict=True):
        layers.setdefault(r.layer, []).append(rel)
    previous: list[PackageRelease] = []
    for layer in sorted(layers):
        if previous and opts.execute:
            below = ", ".join(f"{rel.pkg.name} {rel.version}" for rel in previous)
            out(f"layer {layer}: waiting until the layer below is installable from its index ({below})")
            for rel in previous:
                try:
                    publish.wait_installable(rel.target, rel.pkg.name, rel.version, opts.timeout)
                except JuniperError as exc:
                    raise JuniperError(f"layer {layer} was not started: {exc.what}", exc.fix) from None
        out(f"---- layer {layer}")
        for rel in layers[layer]:
            fresh = PackageRelease(registry, workspace, rel.pkg.name, opts, journal, planned=planned, forge=forge)
            fresh.run()
        previous = layers[layer]
    if opts.execute:
        journal.finish_train()
        plan.outcome = "finished"
        out(f"release train finished: {', '.join(f'{r.pkg.name} {r.version}' for r in releases)}")
