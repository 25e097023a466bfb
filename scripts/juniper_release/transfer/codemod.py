"""The organization transfer (moving the six repos from the personal account to the organization) as a dry-run-first
codemod.

``plan_transfer`` computes, per repository in release order, every rewrite of the old owner (pyproject URLs and
authors through tomlkit, README, Markdown docs and notes, AGENTS/CLAUDE files, workflows, any other tracked text
file) and the new ``origin`` URL, plus the repos.toml update. ``run_transfer`` prints it as unified diffs and,
only with ``execute``, applies it and commits per repository. The live checklist built from the same plan is in
:mod:`juniper_release.transfer.checklist`.

Only repository references are rewritten (``<owner>/<known repo>`` and ``github.com/<owner>`` profile links), only
in tracked or untracked-but-not-ignored text files; binary files are never touched.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from shlex import quote
from typing import Any, TextIO

import tomlkit
from tomlkit.items import AoT, Array, InlineTable, String, Table

from juniper_release.ecosystem.graph import build_graph
from juniper_release.ecosystem.registry import Package, Registry, require_checkout
from juniper_release.errors import ConfigError, GitError, JuniperError, suggest
from juniper_release.files import unified_diff
from juniper_release.gitops import Git
from juniper_release.secrets import redact

COMMIT_MESSAGE = "Transfer to {org}"
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$")

# ----------------------------------------------------------------------------------------------- text rewriting


@dataclass(frozen=True)
class Rewriter:
    """Rewrites references to ``old``'s repositories (``repos``) and its GitHub profile link to ``new``."""

    old: str
    new: str
    repos: tuple[str, ...]

    def _patterns(self) -> list[re.Pattern[str]]:
        owner = re.escape(self.old)
        patterns = []
        if self.repos:
            names = "|".join(re.escape(r) for r in sorted(self.repos, key=len, reverse=True))
            # owner/repo anywhere: https URLs, ssh (git@host:owner/repo), badges, `uses:`, `repository:` values.
            patterns.append(re.compile(rf"(?<![A-Za-z0-9_.-])(?P<owner>{owner})/(?:{names})(?![A-Za-z0-9_-])", re.I))
        # The profile link github.com/owner, not followed by another path segment.
        patterns.append(re.compile(rf"(?<=github\.com/)(?P<owner>{owner})(?![A-Za-z0-9_-])(?!/[A-Za-z0-9_.-])", re.I))
        return patterns

    def sub(self, text: str) -> str:
        # Every match starts with the owner (the lookbehinds are not part of it).
        for pattern in self._patterns():
            text = pattern.sub(lambda m: self.new + m.group(0)[len(m["owner"]) :], text)
        return text

    def stale(self, text: str) -> list[str]:
        """The references ``sub`` would rewrite."""
        return [m.group(0) for p in self._patterns() for m in p.finditer(text)]


# ----------------------------------------------------------------------------------------------- remote URLs

_HTTPS_REMOTE = re.compile(
    r"^https?://(?:[^@/\s]+@)?(?:www\.)?(?P<host>github\.com)/(?P<owner>[^/\s]+)/(?P<repo>[^/\s]+?)(?:\.git)?/?$", re.I
)
_SCP_REMOTE = re.compile(
    r"^(?:[A-Za-z0-9_.-]+@)?(?P<host>[A-Za-z0-9_.-]+):(?P<owner>[^/:\s]+)/(?P<repo>[^/\s]+?)(?:\.git)?$"
)
_SSH_REMOTE = re.compile(
    r"^ssh://(?:[A-Za-z0-9_.-]+@)?(?P<host>[A-Za-z0-9_.-]+)(?::\d+)?/(?P<owner>[^/\s]+)/(?P<repo>[^/\s]+?)(?:\.git)?/?$"
)


@dataclass(frozen=True)
class Remote:
    """A parsed ``origin`` URL. ``form`` is https, ssh, ssh-alias (a per-repo SSH host entry) or other."""

    url: str
    form: str
    host: str | None = None
    owner: str | None = None
    repo: str | None = None
    _span: tuple[int, int] = (0, 0)

    def with_owner(self, owner: str) -> str:
        start, end = self._span
        return self.url[:start] + owner + self.url[end:]


def parse_remote(url: str) -> Remote:
    """Classify a remote URL: GitHub https, ssh to github.com, ssh through a host alias, or anything else."""
    m = _HTTPS_REMOTE.match(url)
    if m:
        return Remote(url, "https", m["host"], m["owner"], m["repo"], m.span("owner"))
    m = _SSH_REMOTE.match(url) or _SCP_REMOTE.match(url)
    if m and not url.startswith(("/", ".", "file:")):
        form = "ssh" if m["host"].lower() == "github.com" else "ssh-alias"
        return Remote(url, form, m["host"], m["owner"], m["repo"], m.span("owner"))
    return Remote(url, "other")


def rewrite_remote(url: str, old: str, new: str, repo_name: str) -> str | None:
    """The URL with ``old``'s owner replaced by ``new`` for this repo, or None when there is nothing to change."""
    remote = parse_remote(url)
    if remote.form == "other" or remote.owner is None or remote.repo is None:
        return None
    if remote.owner.lower() != old.lower() or remote.repo.lower() != repo_name.lower():
        return None
    return remote.with_owner(new)


# ----------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class FileChange:
    """One file's text before and after (``path`` relative to the repository, POSIX style)."""

    path: str
    before: str
    after: str

    def diff(self) -> str:
        return unified_diff(self.before, self.after, self.path)


@dataclass(frozen=True)
class RepoPlan:
    """Everything the transfer changes in one checkout."""

    package: Package
    root: Path
    changes: tuple[FileChange, ...]
    remote_before: str | None
    remote_after: str | None
    skipped_binary: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.changes and self.remote_after is None

    def render(self) -> str:
        lines = [f"== {self.package.name} ({self.root})"]
        if self.empty:
            lines.append("   nothing to do")
        for change in self.changes:
            lines.append(change.diff().rstrip("\n"))
        if self.remote_after is not None and self.remote_before is not None:
            lines.append(f"origin: {redact(self.remote_before)} -> {redact(self.remote_after)}")
        return redact("\n".join(lines))


@dataclass(frozen=True)
class TransferPlan:
    """The whole transfer: repos in release order and the registry update."""

    old: str
    new: str
    repos: tuple[RepoPlan, ...]
    registry_change: FileChange | None
    registry_path: Path

    @property
    def empty(self) -> bool:
        return self.registry_change is None and all(r.empty for r in self.repos)

    def render(self) -> str:
        parts = [r.render() for r in self.repos]
        if self.registry_change is not None:
            parts.append(f"== registry ({self.registry_path})\n{self.registry_change.diff().rstrip()}")
        return "\n".join(parts)


def _read_text(path: Path) -> str | None:
    """The file's text, or None for binary (NUL bytes or not UTF-8), symlinks and non-files."""
    if path.is_symlink() or not path.is_file():
        return None
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _replace_string(table: Any, key: str, value: str) -> None:
    """Set a string keeping its quote style and trailing comment."""
    old = table[key]
    table[key] = String.from_raw(value, old.type) if isinstance(old, String) else value


def rewrite_pyproject(text: str, rewriter: Rewriter) -> str:
    """[project.urls] and ``authors`` via tomlkit; any other reference by the same rewriter (rest byte-identical)."""
    doc = tomlkit.parse(text)
    project = doc.get("project")
    if isinstance(project, Table):
        urls = project.get("urls")
        if isinstance(urls, Table | InlineTable):
            for key in list(urls.keys()):
                value = urls[key]
                if isinstance(value, str) and rewriter.sub(value) != value:
                    _replace_string(urls, key, rewriter.sub(value))
        # The organization is appended after the existing author(s), which stay first.
        authors = project.get("authors")
        if isinstance(authors, Array):
            names = {a.get("name") for a in authors if isinstance(a, Mapping)}
            if rewriter.new not in names:
                entry = tomlkit.inline_table()
                entry["name"] = rewriter.new
                authors.append(entry)
        elif authors is None and "authors" not in project.get("dynamic", []):
            array = tomlkit.array()
            entry = tomlkit.inline_table()
            entry["name"] = rewriter.new
            array.append(entry)
            project["authors"] = array
    return rewriter.sub(tomlkit.dumps(doc))


def _rewriter_for(registry: Registry, old: str, new: str, selected: Iterable[Package]) -> Rewriter:
    """References move for the repos being transferred now and those already under the new owner."""
    moving = {p.repo_name for p in selected}
    moving |= {p.repo_name for p in registry.packages if p.owner.lower() == new.lower()}
    return Rewriter(old, new, tuple(sorted(moving)))


def plan_repo(pkg: Package, root: Path, rewriter: Rewriter) -> RepoPlan:
    """Every change the transfer makes in one checkout (reads only)."""
    git = Git(root)
    changes: list[FileChange] = []
    binary: list[str] = []
    for rel in git.files():
        text = _read_text(root / rel)
        if text is None:
            if (root / rel).is_file() and not (root / rel).is_symlink():
                binary.append(rel)
            continue
        after = rewrite_pyproject(text, rewriter) if rel == "pyproject.toml" else rewriter.sub(text)
        if after != text:
            changes.append(FileChange(rel, text, after))
    before = git.remote_url("origin")
    after_url = rewrite_remote(before, rewriter.old, rewriter.new, pkg.repo_name) if before else None
    return RepoPlan(pkg, root, tuple(changes), before, after_url, tuple(binary))


def plan_registry(registry: Registry, old: str, new: str, selected: Sequence[Package]) -> FileChange | None:
    """repos.toml with the selected packages' ``repo`` moved; ``owner`` moves once every package has."""
    text = registry.path.read_text(encoding="utf-8")
    doc = tomlkit.parse(text)
    chosen = {p.name for p in selected}
    packages = doc.get("package")
    all_moved = True
    if isinstance(packages, AoT):
        for entry in packages:
            repo = str(entry.get("repo", ""))
            owner, _, name = repo.partition("/")
            if entry.get("name") in chosen and owner.lower() == old.lower():
                _replace_string(entry, "repo", f"{new}/{name}")
                owner = new
            all_moved = all_moved and owner.lower() == new.lower()
    settings = doc.get("settings")
    if all_moved and isinstance(settings, Table) and str(settings.get("owner", "")).lower() != new.lower():
        _replace_string(settings, "owner", new)
        if "previous_owner" in settings:
            _replace_string(settings, "previous_owner", old)
        else:
            settings.add("previous_owner", old)
            settings["previous_owner"].comment("account the repos were transferred from")
            settings["previous_owner"].trivia.comment_ws = "  "
    after = tomlkit.dumps(doc)
    return None if after == text else FileChange(registry.path.name, text, after)


def resolve_owners(registry: Registry, to: str | None, from_owner: str | None = None) -> tuple[str, str]:
    """(old owner, new owner): ``--from-owner``, else settings.owner, else settings.previous_owner."""
    new = to or registry.organization
    if not _GITHUB_NAME.match(new):
        raise ConfigError(f"--to {new!r} is not a valid GitHub account name", "use letters, digits and '-' only")
    if from_owner:
        old: str | None = from_owner
    elif registry.owner.lower() != new.lower():
        old = registry.owner
    else:
        old = registry.previous_owner
    if old is None or old.lower() == new.lower():
        raise ConfigError(
            f"{registry.path.name}: the old and new owner are both {new!r} (no settings.previous_owner)",
            "pass --to with the organization, or --from-owner with the account the repos come from",
        )
    return old, new


def plan_transfer(
    registry: Registry,
    workspace: Path,
    *,
    to: str | None = None,
    packages: str | None = None,
    from_owner: str | None = None,
    update_registry: bool = True,
) -> TransferPlan:
    """The whole transfer, in release order (leaf repos, then services, then the meta repo). Changes nothing."""
    old, new = resolve_owners(registry, to, from_owner)
    # A repository moves as a whole: selecting one of its packages selects every package it holds.
    paths = {p.path for p in registry.select(packages)}
    selected = [p for p in registry.packages if p.path in paths]
    order = build_graph(registry, workspace).release_order(p.name for p in selected)
    rewriter = _rewriter_for(registry, old, new, order)
    per_repo: dict[str, Package] = {}
    for pkg in order:  # once per repository, at its first package in release order
        per_repo.setdefault(pkg.path, pkg)
    repos = tuple(plan_repo(p, p.top_of(require_checkout(p, workspace)), rewriter) for p in per_repo.values())
    reg = plan_registry(registry, old, new, order) if update_registry else None
    return TransferPlan(old, new, repos, reg, registry.path)


# ----------------------------------------------------------------------------------------------- apply


def _check_clean(plans: Sequence[RepoPlan]) -> None:
    """Refuse dirty trees and detached HEADs before anything changes."""
    for plan in plans:
        git = Git(plan.root)
        dirty = git.status_porcelain()
        if dirty:
            raise GitError(
                f"{plan.package.name}: the working tree at {plan.root} is not clean ({len(dirty)} changes, "
                f"first: {dirty[0].strip()!r}); nothing was changed",
                f"commit or stash them first (`git -C {quote(str(plan.root))} status`), then re-run",
            )
        if git.branch() == "HEAD":
            raise GitError(
                f"{plan.package.name}: {plan.root} is on a detached HEAD; nothing was changed",
                "check out the branch to commit on (such as `git switch main`), then re-run",
            )


def _default_confirm(question: str) -> bool:
    return input(f"{question} [y/N] ").strip().lower() in {"y", "yes"}


def apply_plan(plan: TransferPlan) -> list[str]:
    """Write, commit and set the remote per repo, then update the registry. Returns one line per action."""
    done: list[str] = []
    message = COMMIT_MESSAGE.format(org=plan.new)
    for repo in plan.repos:
        git = Git(repo.root)
        if repo.changes:
            paths = [c.path for c in repo.changes]
            try:
                for change in repo.changes:
                    (repo.root / change.path).write_bytes(change.after.encode("utf-8"))
                git.add(paths)
                sha = git.commit(message)
            except (OSError, JuniperError):
                # No half-edited repository: put every file back as it was, then report the failure.
                git.run("reset", "--quiet", "--", *paths)
                for change in repo.changes:
                    (repo.root / change.path).write_bytes(change.before.encode("utf-8"))
                raise
            done.append(f"{repo.package.name}: committed {sha[:10]} {message!r} ({len(repo.changes)} files)")
        if repo.remote_after is not None:
            git.run("remote", "set-url", "origin", repo.remote_after)
            done.append(f"{repo.package.name}: origin set to {redact(repo.remote_after)}")
    if plan.registry_change is not None:
        plan.registry_path.write_bytes(plan.registry_change.after.encode("utf-8"))
        done.append(f"registry: updated {plan.registry_path}")
    return done


def check_flags(*, sandbox: bool, execute: bool) -> None:
    """``--execute`` never rewrites the shared stand-in sandbox (other commands reuse it)."""
    if sandbox and execute:
        raise JuniperError(
            "--execute would rewrite the shared stand-in sandbox that other commands reuse",
            "drop --execute to see the diff, or copy the sandbox and pass --workspace COPY --registry COPY.toml",
        )


def updates_registry(*, sandbox: bool, registry_given: bool) -> bool:
    """Whether the transfer rewrites repos.toml: always for real checkouts; in the sandbox only a ``--registry`` copy
    (never this repository's own repos.toml)."""
    return not sandbox or registry_given


def run_transfer(
    registry: Registry,
    workspace: Path,
    *,
    to: str | None = None,
    packages: str | None = None,
    execute: bool = False,
    yes: bool = False,
    from_owner: str | None = None,
    update_registry: bool = True,
    out: TextIO | None = None,
    confirm: Callable[[str], bool] | None = None,
    interactive: bool | None = None,
) -> TransferPlan:
    """Print the plan; with ``execute`` check, confirm (on a terminal, unless ``yes``), apply and re-check."""
    stream = out or sys.stdout
    plan = plan_transfer(
        registry, workspace, to=to, packages=packages, from_owner=from_owner, update_registry=update_registry
    )

    def say(text: str) -> None:
        print(text, file=stream, flush=True)

    say(f"transfer {plan.old} -> {plan.new}, in release order: {', '.join(r.package.name for r in plan.repos)}")
    say(plan.render())
    if plan.empty:
        say(f"nothing to do: every selected repository already references {plan.new}")
        return plan
    message = COMMIT_MESSAGE.format(org=plan.new)
    todo = [r for r in plan.repos if not r.empty]
    for repo in todo:
        if repo.changes:
            say(f"{'will' if execute else 'would'} run in {repo.root}: git commit -m {message!r}")
        if repo.remote_after is not None:
            say(
                f"{'will' if execute else 'would'} run in {repo.root}: git remote set-url origin {redact(repo.remote_after)}"
            )
    if not execute:
        say("dry run: nothing was changed. Re-run with --execute to apply and commit.")
        return plan
    _check_clean(todo)
    interactive = sys.stdin.isatty() if interactive is None else interactive
    if interactive and not yes:
        ask = confirm or _default_confirm
        if not ask(f"Apply the transfer to {plan.new} in {len(todo)} repositories and commit?"):
            raise JuniperError("transfer cancelled; nothing was changed", "re-run and answer y, or pass --yes")
    for line in apply_plan(plan):
        say(line)
    after = plan_transfer(
        _reload(registry, plan),
        workspace,
        to=plan.new,
        packages=packages,
        from_owner=plan.old,
        update_registry=update_registry,
    )
    left = [r.package.name for r in after.repos if not r.empty]
    if left:
        raise JuniperError(
            f"after the transfer, {', '.join(left)} still reference {plan.old}",
            f"inspect them with `{suggest('invoke transfer')}` (dry run) and fix the remaining references by hand",
        )
    say(f"done: push each repository when ready, then run `{suggest(f'invoke transfer-status --to {plan.new}')}`")
    return plan


def _reload(registry: Registry, plan: TransferPlan) -> Registry:
    if plan.registry_change is None:
        return registry
    from juniper_release.ecosystem.registry import load_registry

    return load_registry(registry.path, dict(registry.overrides))
