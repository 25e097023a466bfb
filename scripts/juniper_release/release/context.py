"""One package's release as read from reality: its checkout, version, tag and target index, and what origin holds.

The gates and the steps both take a :class:`ReleaseContext`; it is read-only apart from caching origin's refs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from packaging.version import Version

from juniper_release.ecosystem import indexes
from juniper_release.ecosystem.project import Project, find_module_version, read_project
from juniper_release.ecosystem.registry import Index, Package, Registry, require_checkout
from juniper_release.ecosystem.tags import version_at
from juniper_release.errors import JuniperError
from juniper_release.github.forge import GitHub
from juniper_release.gitops import Git
from juniper_release.release import publish
from juniper_release.release.journal import STATE_DIR, Journal
from juniper_release.release.options import Options
from juniper_release.release.versioning import CHANGELOG
from juniper_release.secrets import redact

RemoteRefs = tuple[str | None, dict[str, str]]


def target_index(registry: Registry, version: Version) -> Index:
    """Pre-releases go to TestPyPI only; final versions end on PyPI."""
    return registry.index("testpypi" if version.is_prerelease else "pypi")


def index_chain(version: Version) -> list[str]:
    """The indexes a twine release uploads to, in order: TestPyPI first, then PyPI for a final version."""
    return ["testpypi"] if version.is_prerelease else ["testpypi", "pypi"]


def remote_refs(git: Git, branch: str) -> RemoteRefs:
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


class ReleaseContext:
    """What one package's release is about (package, version, tag, target index) and questions put to reality."""

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
        self.branch = opts.branch or registry.branch
        """The branch released from: the registry's, or a maintenance branch (``--branch``)."""
        self.maintenance = self.branch != registry.branch
        self.journal = journal
        self.planned = dict(planned or {})
        self.forge = forge or GitHub(allowed_repos=frozenset(p.repo for p in registry.packages), budget=opts.timeout)
        self.git = Git(self.root)
        self.project = read_project(self.pkg, self.root)
        self.version = self.project.version
        self.tag = self.pkg.tag_for(self.version)  # the package's own tag format (shared repositories)
        self.key = f"{self.pkg.name}=={self.version}"
        self.target = target_index(registry, self.version)
        self.dist_dir = workspace / STATE_DIR / "dist" / f"{self.pkg.name}-{self.version}"
        self.work_dir = workspace / STATE_DIR / "work"
        self.module_version = find_module_version(self.root, self.pkg.imports[0] if self.pkg.imports else None)
        self.group = registry.group_of(self.pkg)
        """The package's lockstep group: one bump commit, one tag and one GitHub Release for all of its members."""
        self.bump_files = _bump_files(self.pkg, self.root, self.project)
        self.bump_paths = _from_top(self.pkg, self.bump_files)
        if self.group is not None:  # the group's bump is one commit of every member's files
            top = self.pkg.top_of(self.root)
            for member in registry.group_members(self.pkg):
                if member != self.pkg:
                    root = member.checkout(workspace)
                    self.bump_paths |= _from_top(member, _bump_files(member, root, read_project(member, root)))
            self.bump_paths.add("uv.lock")  # a uv workspace's lock moves with the members' versions
            self.bump_paths = {path for path in self.bump_paths if (top / path).exists()}
            self.bump_files = {f":(top){path}" for path in self.bump_paths}
        self._sibling_bump_paths: set[str] | None = None
        self._remote: RemoteRefs | None = None

    def sibling_bump_paths(self) -> set[str]:
        """The files a version bump of another package of this repository writes, from the repository root: its
        pending bump (made with ``invoke bump --force`` beside this one) is its own release's to commit."""
        if self._sibling_bump_paths is None:
            self._sibling_bump_paths = set()
            for sibling in self.registry.siblings(self.pkg):
                root = sibling.checkout(self.workspace)
                try:
                    files = _bump_files(sibling, root, read_project(sibling, root))
                except JuniperError:  # not in this (older) checkout, or unreadable: nothing of it is pending
                    continue
                self._sibling_bump_paths |= _from_top(sibling, files)
        return self._sibling_bump_paths

    def remote(self, refresh: bool = False) -> RemoteRefs:
        """origin's branch commit and tags, asked once unless ``refresh``."""
        if self._remote is None or refresh:
            self._remote = remote_refs(self.git, self.branch)
        return self._remote

    @property
    def workflow(self) -> str:
        """The publish workflow this release's GitHub Release runs: the pre-release workflow for a pre-release where
        the registry names one, else the publish workflow."""
        return self.registry.workflow_for(self.pkg, prerelease=self.version.is_prerelease)

    def dirty(self) -> list[str]:
        return self.git.changed_paths()

    def needs_commit(self) -> bool:
        """The only changes are an uncommitted version bump (which the release commits), beside at most the pending
        bumps of other packages of a shared repository (their releases commit them)."""
        dirty = set(self.dirty())
        own = dirty & self.bump_paths
        return (
            bool(own)
            and dirty - own <= self.sibling_bump_paths()
            and version_at(self.pkg, self.git, "HEAD") != self.version
        )

    def only_sibling_bumps_pending(self) -> bool:
        """Every uncommitted change is a pending bump of another package of this repository."""
        dirty = set(self.dirty())
        return bool(dirty) and not dirty & self.bump_paths and dirty <= self.sibling_bump_paths()

    def release_commit(self) -> str:
        """The commit this release tags and pushes: the newest commit touching the package's own paths (HEAD for a
        package alone in its repository, or with its bump still to commit). In a shared repository a later commit of
        a sibling package (its own bump, released after this one) is not part of this release."""
        head = self.git.head()
        pathspec = self.registry.pathspec(self.pkg)
        if self.group is not None:  # the group's commit: the newest touching any member
            pathspec = tuple(spec for m in self.registry.group_members(self.pkg) for spec in self.registry.pathspec(m))
        if not pathspec or self.needs_commit():
            return head
        return self.git.run("rev-list", "-n", "1", "HEAD", "--", *pathspec) or head

    def tag_on_origin_at_head(self) -> bool:
        """The tag is on origin at the release commit, with nothing left to commit."""
        return self.remote()[1].get(self.tag) == self.release_commit() and not self.needs_commit()

    def on_index(self, name: str) -> bool:
        """This version is on the index: every built file when there are any, else the version's listing."""
        index = self.registry.index(name)
        files = self.dists()
        if files:
            return publish.uploaded(index, self.pkg.name, files)
        return indexes.has_version(index, self.pkg.name, self.version)

    def dists(self) -> list[Path]:
        """The sdist and wheel this release uploads."""
        if not self.dist_dir.is_dir():
            return []
        return sorted(p for p in self.dist_dir.iterdir() if p.name.endswith((".whl", ".tar.gz")))

    def note(self, text: str) -> None:
        """A progress line under the running step."""
        self.opts.out(redact(f"          {text}"))


def _bump_files(pkg: Package, root: Path, project: Project) -> set[str]:
    """The files a version bump of ``pkg`` writes, relative to its directory ``root``."""
    module = find_module_version(root, pkg.imports[0] if pkg.imports else None)
    files = {"pyproject.toml", CHANGELOG}
    for file in (module.file, project.version_file):
        if file is not None:
            files.add(str(file.relative_to(root)))
    return files


def _from_top(pkg: Package, files: set[str]) -> set[str]:
    """``files`` (relative to the package's directory) from the repository root, as git status names them."""
    prefix = f"{pkg.subdir}/" if pkg.subdir else ""
    return {prefix + file for file in files}
