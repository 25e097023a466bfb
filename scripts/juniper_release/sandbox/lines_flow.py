"""The rehearsal of a package released from GitHub Releases (``rehearse --flow lines``, the single stand-in).

Three releases, for real, on the throwaway remotes, the local indexes and the local GitHub:

1. a release candidate from ``main`` (``0.2.0rc1``): a *pre-release* GitHub Release, which runs the pre-release
   workflow (``publish-testpypi.yml``: TestPyPI); the final workflow's run is skipped;
2. the final (``0.2.0``): a final Release, which runs ``publish-pypi.yml`` (PyPI);
3. a maintenance patch from the first maintenance branch of origin (``release/0.1`` -> ``0.1.1``): the tag on the
   branch's head, the Release not marked latest, a forward-port reminder issue.

Each stage is judged from reality (its tag on origin): a resumed rehearsal skips what is released. The outcome is
one table: each release, the branch, the workflow that published it, the skipped one, and where it landed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packaging.version import Version

from juniper_release.ecosystem import indexes, lines
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import Package, Registry
from juniper_release.errors import JuniperError
from juniper_release.github.forge import GitHub
from juniper_release.gitops import Git
from juniper_release.release.context import target_index
from juniper_release.release.options import Options
from juniper_release.release.train import release_train
from juniper_release.release.versioning import apply_edits, commit_and_tag, plan_bump
from juniper_release.sandbox.fakeforge import FakeGitHub

Verify = Callable[[], None]


@dataclass(frozen=True)
class Stage:
    """One release of the flow: its name, the branch (None: the registry's), and the bump."""

    name: str
    branch: str | None
    part: str
    pre: str | None = None


STAGES = (
    Stage("release candidate", None, "minor", "rc"),
    Stage("final", None, "release"),
    Stage("maintenance patch", "", "patch"),  # "": the first maintenance branch of origin
)


def _bump(registry: Registry, workspace: Path, pkg: Package, stage: Stage, branch: str | None) -> Version:
    """The stage's version: bumped and committed now, or found bumped already (no tag yet)."""
    root = pkg.checkout(workspace)
    git = Git(root)
    current = read_project(pkg, root).version
    if not git.tag_exists(pkg.tag_for(current)):
        return current  # bumped by an interrupted run, not released yet
    plan = plan_bump(registry, workspace, pkg.name, stage.part, pre=stage.pre, branch=branch)
    apply_edits(plan.edits)
    commit_and_tag(plan, registry, workspace, tag=False)
    return plan.new


def _switch(git: Git, branch: str) -> None:
    if git.branch() != branch:
        git.run("switch", "-q", branch)  # a maintenance branch: created from origin's on first use


def run_stage(
    registry: Registry,
    workspace: Path,
    forge: GitHub,
    opts: Options,
    stage: Stage,
    verify: Verify,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Bump, verify and release one stage; its row of the outcome table."""
    pkg = registry.packages[0]
    git = Git(pkg.repo_dir(workspace))
    branch = stage.branch
    if branch == "":
        found = lines.maintenance_branches(git)
        if not found:
            raise JuniperError(f"{pkg.name}: origin has no release/X.Y branch", "the single stand-in makes release/0.1")
        branch = found[0]
    _switch(git, branch or registry.branch)
    version = _bump(registry, workspace, pkg, stage, branch)
    say(f"==== {stage.name}: {pkg.name} {version} from {branch or registry.branch}")
    if pkg.tag_for(version) not in git.remote_tags():
        verify()
        release_train(registry, workspace, replace(opts, branch=branch), pkg.name, forge=forge, emit=say)
    _switch(git, registry.branch)
    return {"stage": stage.name, "package": pkg.name, "version": str(version), "branch": branch or registry.branch}


def outcome_rows(registry: Registry, fake: FakeGitHub, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each stage with what the local GitHub and the indexes say: the workflow whose run published it, the one
    skipped, the Release's flags, and the index it is on."""
    out = []
    for row in rows:
        pkg = registry.get(row["package"])
        version = Version(row["version"])
        tag = pkg.tag_for(version)
        runs = [r for r in fake.state.runs.get(pkg.repo, []) if r.get("head_branch") == tag]
        release = next((r for r in fake.state.releases.get(pkg.repo, []) if r["tag_name"] == tag), {})
        index = target_index(registry, version)
        out.append(
            {
                **row,
                "published by": ", ".join(Path(r["path"]).name for r in runs if r.get("conclusion") == "success"),
                "skipped": ", ".join(Path(r["path"]).name for r in runs if r.get("conclusion") == "skipped"),
                "prerelease": bool(release.get("prerelease")),
                "latest": release.get("make_latest", "-"),
                "on": index.name if indexes.has_version(index, pkg.name, version) else "-",
            }
        )
    return out


def check_outcome(registry: Registry, rows: list[dict[str, Any]], fake: FakeGitHub) -> None:
    """The proof: each release went through the workflow of its kind, the patch is not latest, the reminder is
    filed. Anything else is an error naming the stage."""
    pkg = registry.packages[0]
    problems = []
    for row in rows:
        version = Version(row["version"])
        want = Path(registry.workflow_for(pkg, prerelease=version.is_prerelease)).name
        if row["published by"] != want:
            problems.append(f"{row['stage']} {version} was published by {row['published by'] or 'no run'}, not {want}")
        if row["on"] == "-":
            problems.append(f"{row['stage']} {version} is not on {target_index(registry, version).name}")
        if row["branch"] != registry.branch and row["latest"] != "false":
            problems.append(f"{row['stage']} {version} was marked latest")
    if not any(i["title"].startswith("Forward-port") for i in fake.state.issues.get(pkg.repo, [])):
        problems.append("no forward-port reminder was filed after the maintenance patch")
    if problems:
        raise JuniperError(f"rehearsal (lines): {'; '.join(problems)}", "report this as a bug")


def rehearse_lines(
    registry: Registry,
    workspace: Path,
    forge: GitHub,
    fake: FakeGitHub,
    opts: Options,
    verify: Verify,
    say: Callable[[str], None],
    done: dict[str, dict[str, Any]] | None = None,
    record: Callable[[str, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """The three stages, then their outcome table (checked). ``done``: the rows of the stages a resumed rehearsal
    finished already (not run again); ``record`` is told of each finished stage."""
    if len(registry.packages) != 1 or not registry.has_prerelease_workflow(registry.packages[0]):
        raise JuniperError(
            "rehearse --flow lines releases one package with a pre-release workflow",
            "use it with --sandbox --layout single (or a registry of that shape)",
        )
    rows = []
    for stage in STAGES:
        row = (done or {}).get(stage.name) or run_stage(registry, workspace, forge, opts, stage, verify, say)
        if record is not None:
            record(stage.name, row)
        rows.append(row)
    found = outcome_rows(registry, fake, rows)
    check_outcome(registry, found, fake)
    return found
