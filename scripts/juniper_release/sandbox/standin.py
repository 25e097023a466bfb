"""A stand-in Juniper ecosystem, generated from code for tests, the demo and release rehearsals.

Six small packages with the real names, import names, layers, Juniper dependency edges, version locations,
README, LICENSE, CHANGELOG and publish workflow. Third-party dependencies are real (numpy, requests, urllib3,
websockets, pydantic, torch). Each package is a git repository with a real bare ``origin``, a few commits and a
release tag. Switchable defects reproduce every problem the checks and the verification pipeline must catch.

This module makes the repositories (:mod:`~juniper_release.sandbox.layouts` caches the sandbox of each layout);
what the packages hold is in :mod:`~juniper_release.sandbox.specs`, :mod:`~juniper_release.sandbox.defects` and
:mod:`~juniper_release.sandbox.writers` (their public names are importable from here too).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from juniper_release.ecosystem.registry import Package, Registry
from juniper_release.errors import ConfigError
from juniper_release.github.pins import PINS, Pin, repo_workflows
from juniper_release.gitops import Git
from juniper_release.sandbox.defects import DEFECTS, FAKE_PYPI_TOKEN, PRESETS, SOPS_ENV, apply_defects, parse_defects
from juniper_release.sandbox.specs import VERSIONS, PackageSpec, six_specs
from juniper_release.sandbox.writers import upstream_publish_workflow, write_package

__all__ = [
    "DEFECTS",
    "FAKE_PYPI_TOKEN",
    "GENERATOR_VERSION",
    "GIT_ENV",
    "PRESETS",
    "SOPS_ENV",
    "VERSIONS",
    "Ecosystem",
    "PackageSpec",
    "create_ecosystem",
    "new_repository",
    "parse_defects",
    "standin_git",
    "upstream_publish_workflow",
]

GENERATOR_VERSION = "3"
"""Bump when the generated content changes, so cached sandboxes are regenerated."""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Juniper Stand-in",
    "GIT_AUTHOR_EMAIL": "standin@juniper.invalid",
    "GIT_COMMITTER_NAME": "Juniper Stand-in",
    "GIT_COMMITTER_EMAIL": "standin@juniper.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-01T12:00:00+00:00",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

# --------------------------------------------------------------------------------------------------- git


def standin_git(root: Path) -> Git:
    """The stand-in's git in ``root``: a fixed identity and date, no global or system config."""
    return Git(root, env=GIT_ENV)


def new_repository(root: Path, bare: Path, branch: str) -> Git:
    """``git init`` in ``root`` (on ``branch``) with ``origin`` a fresh bare repository at ``bare``."""
    if bare.exists():
        shutil.rmtree(bare)
    bare.parent.mkdir(parents=True, exist_ok=True)
    standin_git(bare.parent).run("init", "-q", "--bare", "-b", branch, str(bare))
    git = standin_git(root)
    git.run("init", "-q", "-b", branch)
    git.run("remote", "add", "origin", str(bare))
    return git


def _older_history(git: Git, root: Path, flags: set[str]) -> None:
    """Commits before the release commit, tagged as the real repositories' older histories are: a pre-reset
    ``v0.25.0-alpha`` (stale-tag) and a ``v0.3.0`` on a commit declaring 0.2.9 (mismatched-tag). The release
    commit's files are written already; they are set aside while the older commit is made."""
    older = [f for f in ("stale-tag", "mismatched-tag") if f in flags]
    if not older:
        return
    pyproject = root / "pyproject.toml"
    current = pyproject.read_text(encoding="utf-8")
    for flag in older:
        version, tag = ("0.2.1", "v0.25.0-alpha") if flag == "stale-tag" else ("0.2.9", "v0.3.0")
        pyproject.write_text(f'[project]\nname = "{root.name}"\nversion = "{version}"\n', encoding="utf-8")
        git.run("add", "pyproject.toml")
        git.run("commit", "-q", "-m", f"chore: history before the release ({version})")
        git.run("tag", tag)
    pyproject.write_text(current, encoding="utf-8")


@dataclass(frozen=True)
class Ecosystem:
    """A generated workspace: checkouts under ``workspace``, bare remotes under ``remotes``."""

    workspace: Path
    remotes: Path
    defects: frozenset[str]

    def checkout(self, name: str) -> Path:
        return self.workspace / name

    def remote(self, repo: str) -> Path:
        return self.remotes / f"{repo}.git"


WORKFLOW_DEFECTS = frozenset({"no-workflow", "double-trigger", "unpinned-actions"})
"""The defects that leave a package with its own (upstream-style, or no) workflows instead of the tool's."""


def template_workflows(registry: Registry, pkg: Package, root: Path, spec: PackageSpec) -> None:
    """A package without a workflow defect carries the workflows ``invoke workflows --write`` renders, so the clean
    stand-in passes ``invoke workflows --check`` as it passes ``invoke check``."""
    from packaging.specifiers import SpecifierSet

    from juniper_release.github.workflows import render_dependabot, render_package

    stale = root / ".github" / "workflows" / "publish.yml"
    stale.unlink(missing_ok=True)
    for rendered in (*render_package(registry, pkg, SpecifierSet(spec.requires_python)), render_dependabot(pkg)):
        target = root / rendered.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rendered.text, encoding="utf-8")


NEWER_ACTIONS = ("actions/checkout", "pypa/gh-action-pypi-publish")
"""The actions the ``newer-actions`` defect pins at a release newer than the table's."""


def newer_pin(pin: Pin) -> Pin:
    """A made-up release of ``pin``'s action one major version ahead, with a SHA derived from it (stand-in only)."""
    from packaging.version import Version

    tag = f"v{Version(pin.tag).major + 1}.0.0"
    return Pin(pin.action, tag, hashlib.sha1(f"{pin.action}@{tag}".encode(), usedforsecurity=False).hexdigest())


def _pin_newer_actions(root: Path) -> None:
    """Move the :data:`NEWER_ACTIONS` of every workflow in ``root`` to :func:`newer_pin` (as Dependabot would)."""
    for path in repo_workflows(root):
        text = path.read_text(encoding="utf-8")
        for action in NEWER_ACTIONS:
            text = text.replace(PINS[action].ref, newer_pin(PINS[action]).ref)
        path.write_text(text, encoding="utf-8")


UNRELEASED_MODULE = "_datasets.py"
"""The module an ``unreleased`` package gains after its release tag (a code change that ships)."""


def unreleased_change(root: Path, spec: PackageSpec) -> str:
    """Write the change an ``unreleased`` package gets after its tag and return its path (relative to ``root``): a
    new module in its import package, which ships (a meta-package ships no module, so it gets a post-release note,
    which does not)."""
    if not spec.import_name:
        (root / "NOTES.md").write_text("Post-release notes.\n", encoding="utf-8")
        return "NOTES.md"
    rel = f"{spec.module_root}/{UNRELEASED_MODULE}"
    body = '"""Datasets."""\n\n\ndef handle_empty(rows: list[object]) -> list[object]:\n    return rows or []\n'
    (root / rel).write_text(body, encoding="utf-8")
    return rel


def create_ecosystem(
    workspace: Path,
    registry: Registry,
    defects: str | Iterable[str] | None = None,
    *,
    remotes: Path | None = None,
    unreleased: Iterable[str] = (),
    extra_files: Mapping[str, Mapping[str, str]] | None = None,
) -> Ecosystem:
    """Write the six packages into ``workspace``, each a git repo pushed to a bare ``origin``.

    Every package gets an initial commit tagged with its version (annotated, ``tag_format``). Packages named in
    ``unreleased`` get one more ``fix:`` commit after the tag. ``extra_files`` adds files per package.
    """
    chosen = parse_defects(defects)
    workspace.mkdir(parents=True, exist_ok=True)
    remotes = remotes or workspace / ".remotes"
    specs = six_specs(registry.owner)
    flags = apply_defects(specs, chosen)
    pending = set(unreleased)
    for pkg in registry.packages:
        spec = specs.get(pkg.name)
        if spec is None:
            raise ConfigError(f"stand-in ecosystem has no package {pkg.name!r}", "use the Juniper repos.toml")
        root = pkg.checkout(workspace)
        if root.exists():
            shutil.rmtree(root)
        write_package(root, spec, pkg.repo, pkg.torch, flags[pkg.name])
        if not flags[pkg.name] & WORKFLOW_DEFECTS:
            template_workflows(registry, pkg, root, spec)
        if "newer-actions" in flags[pkg.name]:
            _pin_newer_actions(root)
        for rel, text in (extra_files or {}).get(pkg.name, {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        git = new_repository(root, remotes / f"{pkg.repo}.git", registry.branch)
        _older_history(git, root, flags[pkg.name])
        git.run("add", "-A")
        git.run("commit", "-q", "-m", f"feat: initial import of {pkg.name}")
        git.tag_annotated(registry.tag_for(spec.version), f"Release {spec.version}")
        if "foreign-tag" in flags[pkg.name]:
            git.run("tag", f"{pkg.name.removeprefix('juniper-')}-pre-migration-{registry.tag_for(spec.version)}")
        if pkg.name in pending:
            git.run("add", unreleased_change(root, spec))
            git.run("commit", "-q", "-m", "fix: handle empty datasets")
        git.run("push", "-q", "--follow-tags", "origin", registry.branch)
    return Ecosystem(workspace=workspace, remotes=remotes, defects=chosen)
