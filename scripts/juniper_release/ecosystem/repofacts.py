"""What ``invoke init`` learns from a repository itself: its GitHub owner/name, its branch, its tags and the
workflows that publish to an index.

- **owner/name** comes from the ``origin`` URL (``https://github.com/o/n.git``, ``git@github.com:o/n.git``, an SSH
  host alias ``git@github-work:o/n.git``, ``ssh://git@github.com/o/n``). An origin that is a path on this machine
  (a bare mirror) gives its last two path parts, and a GitHub URL in ``[project.urls]`` is the fallback: both are
  guesses.
- **branch**: the branch ``origin/HEAD`` points at, else the checked-out branch.
- **tag format**: of :data:`TAG_FORMATS`, the one most existing tags follow.
- **publish workflows**: the workflows under ``.github/workflows`` that upload to an index
  (``pypa/gh-action-pypi-publish``, ``twine upload``, ``uv publish``, ``flit``/``hatch``/``poetry``/``pdm
  publish``), each with the releases it handles: a workflow triggered by ``on: release`` whose ``if:`` conditions
  test ``github.event.release.prerelease`` handles pre-releases only (``== true``) or finals only (``== false``,
  ``!...prerelease``); any other handles both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from juniper_release.ecosystem import tags, triggers
from juniper_release.gitops import Git

TAG_FORMATS = ("v{version}", "{version}", "{name}-v{version}", "{name}-{version}")
"""The tag formats init recognises, in order of preference on a tie."""

_GITHUB_PATH = re.compile(
    r"^/?(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)/(?P<name>[A-Za-z0-9_.-]+?)(?:\.git)?/?$"
)
_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")
_UPLOAD = re.compile(
    r"pypa/gh-action-pypi-publish|\btwine\s+upload\b|\buv\s+publish\b|\b(?:flit|hatch|poetry|pdm)\s+publish\b"
)
Role = triggers.Role


@dataclass(frozen=True)
class Workflow:
    """A workflow of the repository that uploads to an index."""

    path: str
    """Relative to the repository root (``.github/workflows/publish.yml``)."""
    on_release: bool
    role: Role
    text: str


@dataclass(frozen=True)
class RepoFacts:
    repo: str | None
    """``owner/name``, or None when nothing names it."""
    repo_guess: str | None
    """Why ``repo`` is a guess (None: the origin is a GitHub URL)."""
    branch: str
    branch_guess: str | None
    tags: tuple[str, ...]
    workflows: tuple[Workflow, ...]


def github_repo(url: str) -> str | None:
    """``owner/name`` of a GitHub remote URL (SSH host aliases included), or None."""
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        if not parts.hostname or "github" not in parts.hostname:
            return None
        path = parts.path
    else:
        scp = _SCP.match(url)
        if not scp or "github" not in scp.group("host"):
            return None
        path = scp.group("path")
    found = _GITHUB_PATH.match(path)
    return f"{found.group('owner')}/{found.group('name')}" if found else None


def path_repo(url: str) -> str | None:
    """``owner/name`` from the last two parts of a remote that is a path (``.../owner/name.git``), or None."""
    if "://" in url and not url.startswith("file://"):
        return None
    parts = Path(url.removeprefix("file://").rstrip("/")).parts
    if len(parts) < 2:
        return None
    found = _GITHUB_PATH.match(f"{parts[-2]}/{parts[-1]}")
    return f"{found.group('owner')}/{found.group('name')}" if found else None


def _from_urls(urls: Iterable[str]) -> str | None:
    for url in urls:
        found = github_repo(url)
        if found:
            return found
    return None


def repo_facts(root: Path, project_urls: Sequence[str] = ()) -> RepoFacts:
    """The facts of the checkout at ``root`` (``project_urls``: its packages' ``[project.urls]`` values)."""
    git = Git(root)
    origin = git.remote_url("origin")
    repo = github_repo(origin) if origin else None
    why: str | None = None
    if repo is None and origin and (repo := path_repo(origin)):
        why = "origin is a path on this machine, not a GitHub URL: owner/name from its last two parts"
    remote = "origin is not a GitHub URL" if origin else "no origin remote"
    if repo is None and (repo := _from_urls(project_urls)):
        why = f"{remote}: owner/name taken from [project.urls]"
    if repo is None:
        why = f"{remote} and [project.urls] names no GitHub repository"
    branch, branch_why = _branch(git)
    return RepoFacts(repo, why, branch, branch_why, tuple(git.tags()), tuple(publish_workflows(root)))


def _branch(git: Git) -> tuple[str, str | None]:
    if git.ok("symbolic-ref", "-q", "refs/remotes/origin/HEAD"):
        return git.run("symbolic-ref", "--short", "refs/remotes/origin/HEAD").removeprefix("origin/"), None
    current = git.run("rev-parse", "--abbrev-ref", "HEAD")
    if current == "HEAD":
        return "main", "detached HEAD and no origin/HEAD"
    return current, None


# ------------------------------------------------------------------------------------------------------- tags


def learn_tag_format(name: str, repo_tags: Iterable[str]) -> tuple[str | None, int]:
    """The format of :data:`TAG_FORMATS` most tags follow for package ``name`` (``{name}`` filled in), and how many
    follow it; (None, 0) when none does. Tags that name the package win over name-free ones (which the repository's
    root package, or a lockstep group, may own)."""
    listed = list(repo_tags)
    best: tuple[str | None, int] = (None, 0)
    named = [f for f in TAG_FORMATS if "{name}" in f]
    for fmt in (*named, *(f for f in TAG_FORMATS if f not in named)):
        if best[0] is not None and "{name}" in best[0] and "{name}" not in fmt:
            break
        filled = fmt.replace("{name}", name)
        count = sum(1 for t in listed if tags.tag_version(filled, t) is not None)
        if count > best[1]:
            best = (fmt, count)
    return best


# -------------------------------------------------------------------------------------------------- workflows


def publish_workflows(root: Path) -> list[Workflow]:
    """The workflows of the repository at ``root`` that upload to an index, by path."""
    import yaml  # type: ignore[import-untyped,unused-ignore]

    folder = root / ".github" / "workflows"
    out: list[Workflow] = []
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        live = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        if not _UPLOAD.search(live):
            continue
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            doc = None
        on_release = "release" in triggers.workflow_triggers(doc)
        role = (triggers.role_of(doc) or "both") if on_release else "both"  # the one rule of check and the release
        out.append(Workflow(path.relative_to(root).as_posix(), on_release, role, live))
    return out


def mentions(text: str, word: str) -> int:
    """How often ``word`` occurs in ``text`` as a whole name (``juniper-recurrence`` is not counted inside
    ``juniper-recurrence-model``)."""
    return len(re.findall(rf"(?<![\w.-]){re.escape(word)}(?![\w-])", text))
